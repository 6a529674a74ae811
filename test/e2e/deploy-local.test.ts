/**
 * `address: local`: the embedded default `stagecraft init` writes, for trying stagecraft on one
 * machine. The same pipeline runs against this machine's own Docker engine, without SSH.
 */
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestProject, fetchText, uniqueService } from './helpers/project.js';
import { readTestbedState, type TestbedState } from './helpers/testbed-state.js';

const PROXY_PORT = 8150;
const service = uniqueService('e2el');

let state: TestbedState;
let project: TestProject;

async function localDocker(args: string[]): Promise<string> {
  const result = await execa('docker', args, { reject: false, env: { DOCKER_HOST: state.operator_docker_host } });
  return String(result.stdout).trim();
}

async function served(): Promise<string | undefined> {
  const answer = await fetchText('127.0.0.1', PROXY_PORT).catch(() => undefined);
  return answer?.body.match(/version (\S+)/)?.[1];
}

beforeAll(async () => {
  state = readTestbedState();
  project = await TestProject.create({ service, proxyPort: PROXY_PORT, environments: { dev: ['local'] } }, state);
});

afterAll(async () => {
  const ids = (await localDocker(['ps', '-aq', '--filter', `label=stagecraft.service=${service}`])).split('\n').filter(Boolean);
  if (ids.length) await localDocker(['rm', '-f', ...ids]);
  await localDocker(['network', 'rm', `${service}-net`]);
});

describe('deploy to address: local', () => {
  it('deploys, replaces and rolls back on the local engine through its own proxy', async () => {
    const first = await project.run(['deploy', '--env', 'dev', '--version', 'l1']);
    expect(first.exitCode, first.stdout + first.stderr).toBe(0);
    expect(await served()).toBe('l1');

    // --json: stdout is the release record and nothing else; progress goes to stderr.
    const second = await project.run(['deploy', '--env', 'dev', '--version', 'l2', '--json']);
    expect(second.exitCode, second.stdout + second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ version: 'l2', status: 'completed', kind: 'deploy' });
    expect(second.stderr).toContain('rollout');
    expect(await served()).toBe('l2');
    expect(await localDocker(['inspect', '--format', '{{.State.Running}}', `${service}-web-l1`])).toBe('false');

    const releases = await project.releases();
    const l1 = releases.find((release) => release.version === 'l1')!;
    expect(l1).toMatchObject({ status: 'completed', hosts: [{ address: 'local', status: 'completed', container: `${service}-web-l1` }] });

    const back = await project.run(['rollback', '--env', 'dev', '--to', l1.id]);
    expect(back.exitCode, back.stdout + back.stderr).toBe(0);
    expect(await served()).toBe('l1');
    expect((await project.lastRelease()).rollback_of).toBe(l1.id);

    const lock = await project.run(['lock', 'status', '--env', 'dev', '--json']);
    expect(JSON.parse(lock.stdout)).toEqual({ locked: false, holder: null });
  });
});
