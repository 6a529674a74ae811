/**
 * How `stagecraft deploy` fails on the real testbed: a failing migration, a new version that
 * never gets healthy on one host, a held deploy lock, and SIGINT in the middle of the rollout.
 * In every case the hosts keep serving the previous version and the lock ends up free.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Release } from '../../src/releases/record.js';
import { TestProject, deployLockFile, inspectOnHost, onHostChecked, servedVersions, serviceContainers, uniqueService, waitFor, watchServedVersions } from './helpers/project.js';
import { readTestbedState, type TestbedState } from './helpers/testbed-state.js';

const PROXY_PORT = 8120;
const UNHEALTHY_HOST = '10.201.0.12';
const service = uniqueService('e2ef');

let state: TestbedState;
let hosts: string[];
let project: TestProject;

function everyHost<T>(value: T): Record<string, T> {
  return Object.fromEntries(hosts.map((address) => [address, value]));
}

/** The lock as the CLI reports it, checked against the lock file on the primary host itself. */
async function lockStatus(): Promise<{ locked: boolean; holder: { actor: string; message?: string; acquired_at: string } | null }> {
  const result = await project.run(['lock', 'status', '--env', 'e2e', '--json']);
  expect(result.exitCode, result.stderr).toBe(0);
  const status = JSON.parse(result.stdout) as { locked: boolean; holder: { actor: string; message?: string; acquired_at: string } | null };
  const file = await deployLockFile(state, hosts[0]!, service, 'e2e');
  if (status.locked) expect(JSON.parse(file ?? 'null')).toMatchObject(status.holder!);
  else expect(file, 'lock file on the primary host').toBeUndefined();
  return status;
}

/** Where the container of `version` exists (running or not), per host. */
async function containerOf(version: string): Promise<Record<string, boolean>> {
  const entries = await Promise.all(
    hosts.map(async (address) => [address, (await serviceContainers(state, address, service)).includes(`${service}-web-${version}`)] as const),
  );
  return Object.fromEntries(entries);
}

async function releaseOf(version: string): Promise<Release | undefined> {
  return (await project.releases()).find((release) => release.version === version);
}

beforeAll(async () => {
  state = readTestbedState();
  hosts = state.hosts.slice(0, 3).map((host) => host.address);
  expect(hosts).toContain(UNHEALTHY_HOST);
  project = await TestProject.create({ service, proxyPort: PROXY_PORT, environments: { e2e: hosts } }, state);
  const baseline = await project.run(['deploy', '--env', 'e2e', '--version', 'v1']);
  expect(baseline.exitCode, baseline.stdout + baseline.stderr).toBe(0);
  expect(await servedVersions(hosts, PROXY_PORT)).toEqual(everyHost('v1'));
});

afterAll(async () => {
  await project?.cleanup();
});

describe('stagecraft deploy failures', () => {
  it('a failing migration exits 4, stops before the rollout and leaves v1 serving', async () => {
    // The failing command also prints the database URL: the failure path must redact it too.
    await project.configure({ database: { url: state.postgres.url, command: ['sh', '-c', 'echo boom; echo "connecting to $DATABASE_URL" >&2; exit 3'] } });
    const deploy = project.run(['deploy', '--env', 'e2e', '--version', 'vmig']);
    const [result, served] = await Promise.all([deploy, watchServedVersions(hosts, PROXY_PORT, deploy)]);
    await project.configure({ database: undefined });
    expect(served, 'versions served while the deploy ran').toEqual(Object.fromEntries(hosts.map((address) => [address, ['v1']])));

    expect(result.exitCode).toBe(4);
    expect(result.stderr).toMatch(/migrate_pre: main: .*exited with code 3/);
    expect(result.stdout).toContain('boom');
    const release = (await releaseOf('vmig'))!;
    expect(release.status).toBe('failed');
    expect(release.phases.build.status).toBe('completed');
    expect(release.phases.push.status).toBe('completed');
    expect(release.phases.migrate_pre.status).toBe('failed');
    for (const phase of ['rollout', 'migrate_post', 'finalize'] as const) expect(release.phases[phase].status, phase).toBe('skipped');
    expect(release.migrations).toHaveLength(1);
    expect(release.migrations[0]).toMatchObject({ database: 'main', status: 'failed' });
    expect(release.migrations[0]!.log_tail).toContain('boom');
    expect(result.stdout + result.stderr).toContain('connecting to ');
    for (const text of [result.stdout, result.stderr, await project.releasesText()]) {
      expect(text).not.toContain(state.postgres.url);
      expect(text).not.toContain(state.postgres.password);
    }

    expect(await servedVersions(hosts, PROXY_PORT)).toEqual(everyHost('v1'));
    expect(await containerOf('vmig')).toEqual(everyHost(false));
    expect(await lockStatus()).toEqual({ locked: false, holder: null });
    // The failed deploy left its audit line on the primary (time, actor, service, env, version, kind, release, outcome).
    const audit = await onHostChecked(state, hosts[0]!, ['cat', '.stagecraft/audit.log']);
    const line = audit.split('\n').find((entry) => entry.includes(`\t${release.id}\t`));
    expect(line?.split('\t').slice(2, 7)).toEqual([service, 'e2e', 'vmig', 'deploy', release.id]);
    expect(line?.split('\t')[7]).toMatch(/^failed: migrate_pre: main: .*exited with code 3/);
    expect(line).not.toContain(state.postgres.password);
  });

  it('a version that never gets healthy on one host exits 5 and every host keeps serving v1', async () => {
    await project.configure({ envClear: { UNHEALTHY_ON_HOSTS: UNHEALTHY_HOST }, healthcheck: { timeout: '5s' } });
    const deploy = project.run(['deploy', '--env', 'e2e', '--version', 'vsick']);
    const [result, served] = await Promise.all([deploy, watchServedVersions(hosts, PROXY_PORT, deploy)]);
    await project.configure({ envClear: {}, healthcheck: {} });
    // Healthy hosts wait for the whole batch before switching: none ever served vsick.
    expect(served, 'versions served while the deploy ran').toEqual(Object.fromEntries(hosts.map((address) => [address, ['v1']])));

    expect(result.exitCode).toBe(5);
    expect(result.stderr).toContain(`${UNHEALTHY_HOST}: ${service}-web-vsick not healthy after 5s: GET /up answered 503`);
    const release = (await releaseOf('vsick'))!;
    expect(release.status).toBe('failed');
    expect(release.phases.rollout.status).toBe('failed');
    expect(release.phases.migrate_post.status).toBe('skipped');
    expect(release.phases.finalize.status).toBe('skipped');
    expect(release.hosts.find((h) => h.address === UNHEALTHY_HOST)).toMatchObject({ status: 'failed' });

    // The hosts where vsick became healthy were put back too: v1 everywhere, vsick nowhere.
    expect(await servedVersions(hosts, PROXY_PORT)).toEqual(everyHost('v1'));
    expect(await containerOf('vsick')).toEqual(everyHost(false));
    for (const address of hosts) {
      expect((await inspectOnHost(state, address, `${service}-web-v1`))?.State.Running, `v1 on ${address}`).toBe(true);
    }
    expect(await lockStatus()).toEqual({ locked: false, holder: null });
  });

  it('refuses to deploy while the lock is held (exit 2, naming holder, age and message), also after --lock-wait', async () => {
    const acquired = await project.run(['lock', 'acquire', '--env', 'e2e', '-m', 'maintenance']);
    expect(acquired.exitCode, acquired.stderr).toBe(0);
    const status = await lockStatus();
    expect(status.locked).toBe(true);
    expect(status.holder).toMatchObject({ message: 'maintenance' });

    const refused = await project.run(['deploy', '--env', 'e2e', '--version', 'vlock']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(`deploy lock for ${service}/e2e is held by ${status.holder!.actor} for `);
    expect(refused.stderr).toMatch(/ for \d+s \(since /);
    expect(refused.stderr).toContain('message: "maintenance"');

    const startedWaiting = Date.now();
    const waited = await project.run(['deploy', '--env', 'e2e', '--version', 'vlock', '--lock-wait', '3s']);
    const waitedMs = Date.now() - startedWaiting;
    expect(waited.exitCode).toBe(2);
    expect(waited.stderr).toContain('message: "maintenance"');
    expect(waited.stderr).toContain('still held after waiting');
    expect(waitedMs).toBeGreaterThanOrEqual(3_000);

    // Refused deploys record nothing and touch no host.
    expect(await releaseOf('vlock')).toBeUndefined();
    expect(await containerOf('vlock')).toEqual(everyHost(false));
    expect((await lockStatus()).holder).toMatchObject({ message: 'maintenance' });

    const released = await project.run(['lock', 'release', '--env', 'e2e']);
    expect(released.exitCode, released.stderr).toBe(0);
    expect(await lockStatus()).toEqual({ locked: false, holder: null });
    // Taking and releasing the lock by hand left their audit lines on the primary.
    const audit = (await onHostChecked(state, hosts[0]!, ['cat', '.stagecraft/audit.log'])).split('\n').map((line) => line.split('\t').slice(2));
    expect(audit).toContainEqual([service, 'e2e', '-', 'lock acquire', 'maintenance']);
    // Other suites' services share the host's audit log: this service's lines only.
    const releases = audit.filter((fields) => fields[0] === service && fields[3] === 'lock release');
    expect(releases.at(-1)?.[4]).toMatch(/^was held by .*maintenance/);
    const deployed = await project.run(['deploy', '--env', 'e2e', '--version', 'vlock']);
    expect(deployed.exitCode, deployed.stdout + deployed.stderr).toBe(0);
    expect(await servedVersions(hosts, PROXY_PORT)).toEqual(everyHost('vlock'));
  });

  it('SIGINT during the rollout exits 130, reverts every host, records "interrupted" and frees the lock', async () => {
    // A health timeout far beyond the test's own: only an interrupt that ends the wait at once can pass.
    await project.configure({ envClear: { UNHEALTHY_ON_HOSTS: UNHEALTHY_HOST }, healthcheck: { timeout: '10m' } });
    const before = await servedVersions(hosts, PROXY_PORT);
    expect(Object.values(before).every((version) => version === before[hosts[0]!])).toBe(true);
    const child = project.start(['deploy', '--env', 'e2e', '--version', 'vint']);
    try {
      // Interrupt once the unhealthy host's new container runs and its health check is being waited on.
      let exited = false;
      void child.finally(() => (exited = true));
      await waitFor('the rollout to wait for the unhealthy host', async () => {
        if (exited) throw new Error(`deploy ended before it could be interrupted:\n${String((await child).stdout)}\n${String((await child).stderr)}`);
        const release = await releaseOf('vint');
        if (release?.phases.rollout.status !== 'running') return undefined;
        return (await inspectOnHost(state, UNHEALTHY_HOST, `${service}-web-vint`))?.State.Running ? true : undefined;
      }, { timeoutMs: 120_000, intervalMs: 250 });
      child.kill('SIGINT');
      const finished = await child;
      expect(finished.exitCode, String(finished.stdout) + String(finished.stderr)).toBe(130);
      expect(String(finished.stderr)).toContain('interrupted by SIGINT');
      expect(String(finished.stdout)).toContain(`[${UNHEALTHY_HOST}] failed: interrupted by SIGINT`);
      expect(String(finished.stdout)).not.toContain('not healthy after');
    } finally {
      child.kill('SIGKILL');
      await project.configure({ envClear: {}, healthcheck: {} });
    }

    const release = (await releaseOf('vint'))!;
    expect(release.status).toBe('interrupted');
    expect(release.phases.rollout.status).toBe('interrupted');
    expect(release.phases.migrate_post.status).toBe('skipped');
    expect(release.phases.finalize.status).toBe('skipped');
    expect(release.finished_at).toBeDefined();

    expect(await lockStatus()).toEqual({ locked: false, holder: null });
    expect(await servedVersions(hosts, PROXY_PORT)).toEqual(before);
    expect(await containerOf('vint')).toEqual(everyHost(false));
  });
});
