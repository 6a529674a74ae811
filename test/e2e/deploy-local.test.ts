/**
 * `address: local`: the embedded default `stagecraft init` writes, for trying stagecraft on one
 * machine. The same pipeline runs against this machine's own Docker engine, without SSH.
 */
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestProject, fetchText, registryTags, uniqueService } from './helpers/project.js';
import { readTestbedState, type TestbedState } from './helpers/testbed-state.js';

const PROXY_PORT = 8150;
const LOCAL_ONLY_PORT = 8151;
const service = uniqueService('e2el');
const localOnlyService = uniqueService('e2ell');

let state: TestbedState;
let project: TestProject;

async function localDocker(args: string[]): Promise<string> {
  const result = await execa('docker', args, { reject: false, env: { DOCKER_HOST: state.operator_docker_host } });
  return String(result.stdout).trim();
}

async function served(port = PROXY_PORT): Promise<string | undefined> {
  const answer = await fetchText('127.0.0.1', port).catch(() => undefined);
  return answer?.body.match(/version (\S+)/)?.[1];
}

beforeAll(async () => {
  state = readTestbedState();
  project = await TestProject.create({ service, proxyPort: PROXY_PORT, environments: { dev: ['local'] } }, state);
});

afterAll(async () => {
  for (const name of [service, localOnlyService]) {
    const ids = (await localDocker(['ps', '-aq', '--filter', `label=stagecraft.service=${name}`])).split('\n').filter(Boolean);
    if (ids.length) await localDocker(['rm', '-f', ...ids]);
    await localDocker(['network', 'rm', `${name}-net`]);
  }
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

  it('with no registry and only local hosts, runs the image built here: nothing pushed or pulled', async () => {
    const local = await TestProject.create({ service: localOnlyService, proxyPort: LOCAL_ONLY_PORT, environments: { dev: ['local'] }, noRegistry: true }, state);
    const result = await local.run(['deploy', '--env', 'dev', '--version', 'solo1']);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).not.toMatch(/pulling .*e2ell/);
    expect(await served(LOCAL_ONLY_PORT)).toBe('solo1');
    const release = await local.lastRelease();
    expect(release.phases.push).toMatchObject({ status: 'skipped' });
    expect(release.image.digest).toBeUndefined();
    expect(await registryTags(state, `e2e/${localOnlyService}`)).toEqual([]);
  });

  it('lock: a second acquire is refused naming the holder; release is idempotent; acquire needs a reason', async () => {
    const first = await project.run(['lock', 'acquire', '--env', 'dev', '-m', 'db maintenance']);
    expect(first.exitCode, first.stderr).toBe(0);
    const second = await project.run(['lock', 'acquire', '--env', 'dev', '-m', 'me too']);
    expect(second.exitCode).toBe(2);
    expect(second.stderr).toMatch(/deploy lock for e2el-\w+\/dev is held by \S+ for \d+s .*message: "db maintenance"/);
    const status = JSON.parse((await project.run(['lock', 'status', '--env', 'dev', '--json'])).stdout) as { locked: boolean; holder: { message: string } };
    expect(status).toMatchObject({ locked: true, holder: { message: 'db maintenance' } });

    const released = await project.run(['lock', 'release', '--env', 'dev']);
    expect(released.stdout).toMatch(/released \(was held by .*"db maintenance"\)/);
    const again = await project.run(['lock', 'release', '--env', 'dev']);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain('was not locked');

    const noReason = await project.run(['lock', 'acquire', '--env', 'dev', '-m', '']);
    expect(noReason.exitCode).toBe(1);
    expect(noReason.stderr).toContain('lock acquire needs a message');
  });
});
