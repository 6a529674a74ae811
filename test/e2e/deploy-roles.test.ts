/**
 * Roles on the real testbed: web behind the proxy, a worker role running the same image with its
 * own command and no proxy, over 3 hosts (.11 web, .12 web + worker, .13 worker only). Deploy,
 * redeploy, rollback: the worker always runs the serving version's command; a worker that dies at
 * start fails the deploy and leaves every host on what it ran.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestProject, onHost, onHostChecked, servedVersions, uniqueService } from './helpers/project.js';
import { readTestbedState, type TestbedState } from './helpers/testbed-state.js';

const [WEB, BOTH, WORKER] = ['10.201.0.11', '10.201.0.12', '10.201.0.13'];
const PORT = 8182;
const WORKER_CMD = ['node', '-e', 'console.log("worker " + process.env.STAGECRAFT_VERSION + " on queue " + process.env.QUEUE); setInterval(() => {}, 1000)'];

describe('web and worker roles', () => {
  let state: TestbedState;
  let project: TestProject;
  const service = uniqueService('e2er');

  /** name → "running|exited cmd-json" of this service's containers on a host. */
  const containers = async (address: string): Promise<Record<string, string>> => {
    const ids = (await onHostChecked(state, address, ['docker', 'ps', '-aq', '--filter', `label=stagecraft.service=${service}`])).split('\n').filter(Boolean);
    if (ids.length === 0) return {};
    // Quoted for the remote shell, which joins and re-splits the words.
    const lines = await onHostChecked(state, address, ['docker', 'inspect', '-f', "'{{.Name}}|{{.State.Status}}|{{json .Config.Cmd}}'", ...ids]);
    return Object.fromEntries(
      lines
        .trim()
        .split('\n')
        .map((line) => {
          const [name, status, cmd] = line.split('|');
          return [name!.replace(/^\//, ''), `${status} ${cmd}`];
        }),
    );
  };
  const status = (all: Record<string, string>, name: string) => all[name]?.split(' ')[0];

  beforeAll(async () => {
    state = readTestbedState();
    project = await TestProject.create(
      {
        service,
        proxyPort: PORT,
        environments: { prod: [WEB, BOTH, WORKER] },
        hostRoles: { [WEB]: ['primary', 'web'], [BOTH]: ['web', 'worker'], [WORKER]: ['worker'] },
        roles: { worker: { cmd: WORKER_CMD, env: { QUEUE: 'jobs' }, min_running: '1s' } },
      },
      state,
    );
  });

  afterAll(async () => {
    await project?.cleanup();
  });

  it('deploy: web hosts serve v1 behind the proxy; the worker runs its command on its hosts and gets no proxy', async () => {
    const dryRun = await project.run(['deploy', '--env', 'prod', '--version', 'v1', '--dry-run']);
    expect(dryRun.stdout).toContain(`${WORKER} → ${service}-worker-v1 (node -e`);
    const deploy = await project.run(['deploy', '--env', 'prod', '--version', 'v1']);
    expect(deploy.exitCode, deploy.stdout + deploy.stderr).toBe(0);
    expect(await servedVersions([WEB, BOTH], PORT)).toEqual({ [WEB]: 'v1', [BOTH]: 'v1' });

    const onWorker = await containers(WORKER);
    expect(Object.keys(onWorker)).toEqual([`${service}-worker-v1`]);
    expect(onWorker[`${service}-worker-v1`]).toBe(`running ${JSON.stringify(WORKER_CMD)}`);
    const onBoth = await containers(BOTH);
    expect(Object.keys(onBoth).sort()).toEqual([`${service}-proxy`, `${service}-web-v1`, `${service}-worker-v1`].sort());
    expect(Object.keys(await containers(WEB)).sort()).toEqual([`${service}-proxy`, `${service}-web-v1`].sort());
    const logs = await onHost(state, WORKER, ['docker', 'logs', `${service}-worker-v1`]);
    expect(logs.stdout).toContain('worker v1 on queue jobs');
    expect((await project.lastRelease()).hosts.map((h) => [h.address, h.status, h.container])).toEqual([
      [WEB, 'completed', `${service}-web-v1`],
      [BOTH, 'completed', `${service}-web-v1`],
      [WORKER, 'completed', `${service}-worker-v1`],
    ]);
  });

  it('redeploy: the worker runs the new version, the old one is stopped and kept for rollback', async () => {
    const deploy = await project.run(['deploy', '--env', 'prod', '--version', 'v2']);
    expect(deploy.exitCode, deploy.stdout + deploy.stderr).toBe(0);
    expect(await servedVersions([WEB, BOTH], PORT)).toEqual({ [WEB]: 'v2', [BOTH]: 'v2' });
    for (const host of [BOTH, WORKER]) {
      const all = await containers(host);
      expect(status(all, `${service}-worker-v2`), host).toBe('running');
      expect(status(all, `${service}-worker-v1`), host).toBe('exited');
    }
    expect((await onHost(state, WORKER, ['docker', 'logs', `${service}-worker-v2`])).stdout).toContain('worker v2 on queue jobs');
  });

  it('rollback: the worker runs v1 again', async () => {
    const v1 = (await project.releases()).find((r) => r.version === 'v1')!;
    const rollback = await project.run(['rollback', '--env', 'prod', '--to', v1.id]);
    expect(rollback.exitCode, rollback.stdout + rollback.stderr).toBe(0);
    expect(await servedVersions([WEB, BOTH], PORT)).toEqual({ [WEB]: 'v1', [BOTH]: 'v1' });
    for (const host of [BOTH, WORKER]) {
      const all = await containers(host);
      expect(status(all, `${service}-worker-v1`), host).toBe('running');
      expect(status(all, `${service}-worker-v2`), host).toBe('exited');
    }
  });

  it('a worker that dies at start fails the deploy (exit 5); every host keeps what it ran', async () => {
    await project.configure({ roles: { worker: { cmd: ['sh', '-c', 'echo "cannot reach the queue"; exit 3'], min_running: '1s' } } });
    const deploy = await project.run(['deploy', '--env', 'prod', '--version', 'v3']);
    expect(deploy.exitCode, deploy.stdout + deploy.stderr).toBe(5);
    expect(deploy.stdout + deploy.stderr).toContain('cannot reach the queue');
    expect(await servedVersions([WEB, BOTH], PORT)).toEqual({ [WEB]: 'v1', [BOTH]: 'v1' });
    for (const host of [BOTH, WORKER]) {
      const all = await containers(host);
      expect(status(all, `${service}-worker-v1`), host).toBe('running');
      expect(all[`${service}-worker-v3`], host).toBeUndefined();
    }
  });
});
