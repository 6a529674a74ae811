/**
 * One release history for a team: two copies of a project (two operators' machines) deploy the
 * same service in turn. Each deploy appends its records to ~/.stagecraft/releases/<service>.jsonl
 * on the primary and merges the host's records before deciding anything, so each copy sees the
 * other's releases, `rollback --to previous` picks the same release from either, and a lost local
 * file is rebuilt from the host.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Release } from '../../src/releases/record.js';
import { TestProject, onHostChecked, servedVersions, uniqueService } from './helpers/project.js';
import type { ProjectSpec } from './helpers/project.js';
import { readTestbedState, type TestbedState } from './helpers/testbed-state.js';

const HOST = '10.201.0.13';
const PORT = 8180;

describe('shared release history on the primary host', () => {
  let state: TestbedState;
  let alice: TestProject;
  let bob: TestProject;
  const service = uniqueService('e2eh');

  const list = async (project: TestProject): Promise<Release[]> => {
    const result = await project.run(['releases', 'list', '--env', 'prod', '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as Release[];
  };
  const previousTarget = async (project: TestProject): Promise<string | undefined> => {
    const result = await project.run(['rollback', '--env', 'prod', '--to', 'previous', '--dry-run', '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    return (JSON.parse(result.stdout) as { rollback_of?: string }).rollback_of;
  };

  beforeAll(async () => {
    state = readTestbedState();
    const spec: ProjectSpec = { service, proxyPort: PORT, environments: { prod: [HOST] } };
    alice = await TestProject.create(spec, state);
    bob = await TestProject.create(spec, state);
  });

  afterAll(async () => {
    await alice?.cleanup();
    await bob?.cleanup();
  });

  it('two operators deploying in turn each see the other\'s releases', async () => {
    const first = await alice.run(['deploy', '--env', 'prod', '--version', 'v1']);
    expect(first.exitCode, first.stdout + first.stderr).toBe(0);
    const second = await bob.run(['deploy', '--env', 'prod', '--version', 'v2']);
    expect(second.exitCode, second.stdout + second.stderr).toBe(0);
    expect(second.stdout + second.stderr).toContain('merged 1 release(s)');

    // Bob's deploy knew Alice's release: it is the previous one of his.
    const v1 = (await alice.releases()).find((r) => r.version === 'v1')!;
    const v2 = (await bob.releases()).find((r) => r.version === 'v2')!;
    expect(v2.previous_id).toBe(v1.id);

    expect((await list(alice)).map((r) => [r.version, r.status])).toEqual([['v2', 'completed'], ['v1', 'completed']]);
    expect((await list(bob)).map((r) => [r.version, r.status])).toEqual([['v2', 'completed'], ['v1', 'completed']]);
    // The host file holds a line per write (running, then finished) of each release.
    const lines = (await onHostChecked(state, HOST, ['cat', `.stagecraft/releases/${service}.jsonl`])).trim().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as Release).status)).toEqual(['running', 'completed', 'running', 'completed']);
  });

  it('rollback --to previous picks the same release from either machine', async () => {
    const v1 = (await alice.releases()).find((r) => r.version === 'v1')!;
    expect(await previousTarget(alice)).toBe(v1.id);
    expect(await previousTarget(bob)).toBe(v1.id);

    const rollback = await alice.run(['rollback', '--env', 'prod', '--to', 'previous']);
    expect(rollback.exitCode, rollback.stdout + rollback.stderr).toBe(0);
    expect(await servedVersions([HOST], PORT)).toEqual({ [HOST]: 'v1' });
    // Bob sees Alice's rollback as the current release.
    const [current] = await list(bob);
    expect(current).toMatchObject({ kind: 'rollback', version: 'v1', rollback_of: v1.id, status: 'completed' });
  });

  it('a lost local file is rebuilt from the host', async () => {
    const before = await list(bob);
    await rm(alice.releasesFile);
    const rebuilt = await list(alice);
    expect(rebuilt).toEqual(before);
    expect((await alice.releases()).map((r) => r.id).sort()).toEqual(before.map((r) => r.id).sort());
  });
});
