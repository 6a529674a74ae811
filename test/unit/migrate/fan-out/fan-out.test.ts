import { describe, expect, it } from 'vitest';
import { anyFailed, byPriority, canaryCount, fanOut, rollBackCompleted } from '../../../../src/migrate/fan-out/fan-out.js';
import type { FanOutOptions, TargetOutcome, TargetResult } from '../../../../src/migrate/fan-out/fan-out.js';

const TENANTS = ['main/a', 'main/b', 'main/c', 'main/d'];

/** A stand-in for applying migrations to a target: `main/c` fails (unless `fail` says otherwise). */
function tenants(options: { fail?: string[]; skip?: string[] } = {}) {
  const started: string[] = [];
  const run = async (target: string): Promise<TargetOutcome> => {
    started.push(target);
    await new Promise((resolve) => setImmediate(resolve));
    if ((options.fail ?? ['main/c']).includes(target)) return { status: 'failed', applied: [], error: `${target}: relation "x" does not exist` };
    if (options.skip?.includes(target)) return { status: 'skipped', applied: [] };
    return { status: 'completed', applied: ['0001_tenants'] };
  };
  return { run, started };
}

const statuses = (results: readonly TargetResult[]) => results.map((r) => r.status);

describe('fan-out strategies, four tenants, the third failing', () => {
  it.each<[string, FanOutOptions, string[]]>([
    ['sequential', { strategy: 'sequential' }, ['completed', 'completed', 'failed', 'not_started']],
    ['canary 25 % (one canary, then the rest at once)', { strategy: 'canary', canaryPercent: 25 }, ['completed', 'completed', 'failed', 'completed']],
    ['canary 25 %, the rest one at a time', { strategy: 'canary', canaryPercent: 25, maxConcurrent: 1 }, ['completed', 'completed', 'failed', 'not_started']],
    ['rolling batch 2 (the failing batch finishes, nothing after it)', { strategy: 'rolling', batchSize: 2 }, ['completed', 'completed', 'failed', 'completed']],
    ['rolling batch 1', { strategy: 'rolling', batchSize: 1 }, ['completed', 'completed', 'failed', 'not_started']],
  ])('%s', async (_, options, expected) => {
    const { run } = tenants();
    expect(statuses(await fanOut(TENANTS, options, run))).toEqual(expected);
  });

  /** Targets that finish when the test says so: completion order without timers. */
  function gated() {
    const started: string[] = [];
    const finish = new Map<string, (outcome: TargetOutcome) => void>();
    const run = (target: string) =>
      new Promise<TargetOutcome>((resolve) => {
        started.push(target);
        finish.set(target, resolve);
      });
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    const done = async (target: string, status: TargetOutcome['status'] = 'completed') => {
      finish.get(target)!({ status, applied: status === 'completed' ? ['0001_tenants'] : [], ...(status === 'failed' ? { error: 'boom' } : {}) });
      await settle();
    };
    return { run, started, done, settle };
  }

  it('parallel max 2: at most two at once; after the failure nothing new starts, running ones finish', async () => {
    const { run, started, done, settle } = gated();
    const results = fanOut(TENANTS, { strategy: 'parallel', maxConcurrent: 2 }, run);
    await settle();
    expect(started).toEqual(['main/a', 'main/b']);
    await done('main/a');
    expect(started).toEqual(['main/a', 'main/b', 'main/c']);
    await done('main/c', 'failed');
    await done('main/b');
    expect(statuses(await results)).toEqual(['completed', 'completed', 'failed', 'not_started']);
    expect(started).toEqual(['main/a', 'main/b', 'main/c']);
  });

  it('parallel max 2 where the failure comes after the last start: every target ran', async () => {
    const { run, started, done, settle } = gated();
    const results = fanOut(TENANTS, { strategy: 'parallel', maxConcurrent: 2 }, run);
    await settle();
    await done('main/a');
    await done('main/b');
    expect(started).toEqual(TENANTS);
    await done('main/d');
    await done('main/c', 'failed');
    expect(statuses(await results)).toEqual(['completed', 'completed', 'failed', 'completed']);
  });

  it('a failing canary stops everything after it', async () => {
    const { run, started } = tenants({ fail: ['main/a'] });
    expect(statuses(await fanOut(TENANTS, { strategy: 'canary', canaryPercent: 50 }, run))).toEqual(['failed', 'not_started', 'not_started', 'not_started']);
    expect(started).toEqual(['main/a']);
  });

  it('skipped (nothing pending) counts as success for the next batch and the canary', async () => {
    const { run } = tenants({ fail: [], skip: ['main/a', 'main/b'] });
    expect(statuses(await fanOut(TENANTS, { strategy: 'rolling', batchSize: 2 }, run))).toEqual(['skipped', 'skipped', 'completed', 'completed']);
    expect(statuses(await fanOut(TENANTS, { strategy: 'canary', canaryPercent: 25 }, run))).toEqual(['skipped', 'skipped', 'completed', 'completed']);
  });

  it('a target whose run throws has failed, with the error', async () => {
    const results = await fanOut(['main/a', 'main/b'], { strategy: 'sequential' }, async (target) => {
      if (target === 'main/a') throw new Error('cannot connect to 10.201.0.1:1');
      return { status: 'completed', applied: [] };
    });
    expect(results).toEqual([
      { target: 'main/a', status: 'failed', applied: [], error: 'cannot connect to 10.201.0.1:1', duration_ms: expect.any(Number) },
      { target: 'main/b', status: 'not_started', applied: [], duration_ms: 0 },
    ]);
    expect(anyFailed(results)).toBe(true);
  });

  it('an abort starts nothing new; what runs sees the signal', async () => {
    const controller = new AbortController();
    const seen: (AbortSignal | undefined)[] = [];
    const results = await fanOut(TENANTS, { strategy: 'sequential', signal: controller.signal }, async (target, signal) => {
      seen.push(signal);
      if (target === 'main/b') controller.abort();
      return { status: 'completed', applied: ['0001'] };
    });
    expect(statuses(results)).toEqual(['completed', 'completed', 'not_started', 'not_started']);
    expect(seen.every((signal) => signal === controller.signal)).toBe(true);
  });
});

describe('ordering and sizes', () => {
  it('canary takes ⌊n·P/100⌋ targets, at least one, at most all', () => {
    expect([canaryCount(4, 25), canaryCount(4, 10), canaryCount(10, 35), canaryCount(3, 100), canaryCount(0, 50)]).toEqual([1, 1, 3, 3, 0]);
  });

  it('orders by priority (lower first), then as configured', () => {
    const targets = [
      { name: 'prod/main', priority: 100 },
      { name: 'dev/main', priority: 10 },
      { name: 'prod/replica', priority: 100 },
      { name: 'staging/main', priority: 50 },
    ];
    expect(byPriority(targets).map((t) => t.name)).toEqual(['dev/main', 'staging/main', 'prod/main', 'prod/replica']);
  });
});

describe('--rollback-on-failure', () => {
  it('reverts the targets completed in this run, newest first; nothing when nothing failed', async () => {
    const { run } = tenants();
    const results = await fanOut(TENANTS, { strategy: 'rolling', batchSize: 2 }, run);
    const reverted: string[] = [];
    const after = await rollBackCompleted(results, async (result) => {
      reverted.push(result.target);
    });
    expect(reverted).toEqual(['main/d', 'main/b', 'main/a']);
    expect(statuses(after)).toEqual(['rolled_back', 'rolled_back', 'failed', 'rolled_back']);

    const clean = await fanOut(['main/a'], { strategy: 'sequential' }, tenants({ fail: [] }).run);
    expect(await rollBackCompleted(clean, () => Promise.reject(new Error('must not run')))).toEqual(clean);
  });

  it('a revert that fails leaves the target completed, saying why', async () => {
    const results = await fanOut(['main/a', 'main/c'], { strategy: 'sequential' }, tenants().run);
    const after = await rollBackCompleted(results, () => Promise.reject(new Error('no down file for 0001_tenants')));
    expect(after[0]).toMatchObject({ status: 'completed', error: 'rollback failed: no down file for 0001_tenants' });
  });
});
