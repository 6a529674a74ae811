/**
 * Rollout strategies on 3 real hosts. Rolling goes batch by batch, and a failure in a later batch
 * puts the hosts of earlier, already switched batches back on the previous version. Canary
 * deploys to its share of hosts first: when the canary fails, the other hosts are never touched.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestProject, deployLockFile, servedVersions, serviceContainers, uniqueService } from './helpers/project.js';
import { readTestbedState, type TestbedState } from './helpers/testbed-state.js';

const PROXY_PORT = 8170;
const service = uniqueService('e2es');

let state: TestbedState;
let hosts: string[];
let project: TestProject;

function everyHost<T>(value: T): Record<string, T> {
  return Object.fromEntries(hosts.map((address) => [address, value]));
}

async function hostsWithContainer(version: string): Promise<string[]> {
  const found = await Promise.all(hosts.map(async (address) => ((await serviceContainers(state, address, service)).includes(`${service}-web-${version}`) ? address : undefined)));
  return found.filter((address): address is string => address !== undefined);
}

beforeAll(async () => {
  state = readTestbedState();
  hosts = state.hosts.slice(0, 3).map((host) => host.address);
  project = await TestProject.create({ service, proxyPort: PROXY_PORT, environments: { e2e: hosts }, healthcheck: { timeout: '4s' } }, state);
  const baseline = await project.run(['deploy', '--env', 'e2e', '--version', 's1']);
  expect(baseline.exitCode, baseline.stdout + baseline.stderr).toBe(0);
  expect(await servedVersions(hosts, PROXY_PORT)).toEqual(everyHost('s1'));
});

afterAll(async () => {
  await project?.cleanup();
});

describe('rollout strategies', () => {
  it('rolling: a failure in the last batch switches the earlier batches back (exit 5)', async () => {
    await project.configure({ rollout: { strategy: 'rolling', batch_size: 1 }, envClear: { UNHEALTHY_ON_HOSTS: hosts[2]! } });
    const result = await project.run(['deploy', '--env', 'e2e', '--version', 's2']);
    expect(result.exitCode, result.stdout + result.stderr).toBe(5);
    // Batches 1 and 2 had switched to s2 before batch 3 failed.
    expect(result.stdout).toContain(`[${hosts[0]}] traffic switched to ${service}-web-s2`);
    expect(result.stdout).toContain(`[${hosts[1]}] traffic switched to ${service}-web-s2`);
    expect(result.stdout).toContain(`[${hosts[0]}] reverted: traffic back on ${service}-web-s1`);
    expect(await servedVersions(hosts, PROXY_PORT)).toEqual(everyHost('s1'));
    expect(await hostsWithContainer('s2')).toEqual([]);
    const release = await project.lastRelease();
    expect(release).toMatchObject({ version: 's2', status: 'failed' });
    expect(release.phases.rollout.status).toBe('failed');
    expect(release.hosts.map((h) => [h.address, h.status])).toEqual([
      [hosts[0], 'skipped'],
      [hosts[1], 'skipped'],
      [hosts[2], 'failed'],
    ]);
  });

  it('canary: a failing canary leaves every other host untouched (exit 5)', async () => {
    await project.configure({ rollout: { strategy: 'canary', canary_percent: 34 }, envClear: { UNHEALTHY_ON_HOSTS: hosts[0]! } });
    const dry = await project.run(['deploy', '--env', 'e2e', '--version', 's3', '--dry-run']);
    expect(dry.stdout).toContain(`batch 1: ${hosts[0]} → ${service}-web-s3`);
    expect(dry.stdout).toContain(`batch 2: ${hosts[1]} → ${service}-web-s3, ${hosts[2]} → ${service}-web-s3`);

    const result = await project.run(['deploy', '--env', 'e2e', '--version', 's3']);
    expect(result.exitCode, result.stdout + result.stderr).toBe(5);
    expect(result.stdout).not.toContain(`[${hosts[1]}] pulling`);
    expect(result.stdout).not.toContain(`[${hosts[2]}] pulling`);
    expect(await servedVersions(hosts, PROXY_PORT)).toEqual(everyHost('s1'));
    expect(await hostsWithContainer('s3')).toEqual([]);
  });

  it('canary: a healthy canary goes first, then the rest', async () => {
    await project.configure({ rollout: { strategy: 'canary', canary_percent: 34 }, envClear: {} });
    const result = await project.run(['deploy', '--env', 'e2e', '--version', 's4']);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    const canarySwitched = result.stdout.indexOf(`[${hosts[0]}] traffic switched to ${service}-web-s4`);
    const restStarted = result.stdout.indexOf(`[${hosts[1]}] pulling`);
    expect(canarySwitched).toBeGreaterThan(-1);
    expect(restStarted).toBeGreaterThan(canarySwitched);
    expect(await servedVersions(hosts, PROXY_PORT)).toEqual(everyHost('s4'));
  });

  it('a host that cannot be reached fails the rollout naming it; the others keep the old version, the lock is free', async () => {
    const cable = `scv-${state.hosts[2]!.name}`; // the host side of the testbed's veth for the third host
    execFileSync('ip', ['link', 'set', 'dev', cable, 'down']);
    try {
      await project.configure({ rollout: { strategy: 'all' }, envClear: {} });
      // s2 was pushed by the first test (its rollout failed later), so --skip-build can use it.
      const result = await project.run(['deploy', '--env', 'e2e', '--version', 's2', '--skip-build']);
      expect(result.exitCode, result.stdout + result.stderr).toBe(5);
      expect(result.stderr).toMatch(new RegExp(`${hosts[2]!.replaceAll('.', '\\.')}: connection timed out after \\d+s`));
    } finally {
      execFileSync('ip', ['link', 'set', 'dev', cable, 'up']);
    }
    expect(await servedVersions(hosts, PROXY_PORT)).toEqual(everyHost('s4'));
    expect(await hostsWithContainer('s2')).toEqual([]);
    const lock = JSON.parse((await project.run(['lock', 'status', '--env', 'e2e', '--json'])).stdout) as { locked: boolean };
    expect(lock.locked).toBe(false);
    expect(await deployLockFile(state, hosts[0]!, service, 'e2e'), 'lock file on the primary host').toBeUndefined();
  });
});
