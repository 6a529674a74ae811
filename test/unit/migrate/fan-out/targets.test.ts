import { describe, expect, it } from 'vitest';
import { HEAD, PROD, load, yaml } from '../../config/helpers.js';
import { engineTargets, targetKey } from '../../../../src/migrate/target.js';
import type { TargetOptions } from '../../../../src/migrate/target.js';
import { fanOutJson, fanOutSummary, formatFanOutTable } from '../../../../src/migrate/fan-out/format-results.js';
import { fanOutOptionsOf, fanOutRequested, rollbackRefusals } from '../../../../src/migrate/fan-out/run-targets.js';
import { pickTargets, splitTargetName } from '../../../../src/migrate/fan-out/select-target.js';
import type { TargetResult } from '../../../../src/migrate/fan-out/fan-out.js';
import { readableState } from '../../../../src/migrate/types.js';
import type { DatabaseRunPlan } from '../../../../src/migrate/orchestrate/migration-plan.js';

const CONFIG = yaml(
  ...HEAD,
  'databases:',
  '  main:',
  '    migrations: { engine: raw, path: db }',
  '    targets:',
  '      tenant_b: postgres://u:pw-b@db/b',
  '      tenant_a: postgres://u:pw-a@db/a',
  '  audit:',
  '    url: postgres://u:pw-audit@db/audit',
  '    migrations: { engine: raw, path: audit }',
  ...PROD,
);

async function targetsOf(databases: string[]) {
  const loaded = await load(CONFIG);
  const logged: [string, string][] = [];
  const options: TargetOptions = {
    loaded,
    actor: 'me',
    host: () => Promise.reject(new Error('no host in unit tests')),
    image: { missing: 'not needed' },
    containerName: (name) => `web-migrate-${name}`,
    log: (key, line) => logged.push([key, line]),
    scrub: (text) => text,
  };
  return { targets: engineTargets(options, databases), logged };
}

describe('engineTargets with databases.X.targets', () => {
  it('yields one target per entry in config order, keyed main/NAME; a database without targets stays one target', async () => {
    const { targets, logged } = await targetsOf(['main', 'audit']);
    expect(targets.map((t) => ({ database: t.database, target: t.target, key: t.key, url: t.url, containerName: t.containerName }))).toEqual([
      { database: 'main', target: 'tenant_b', key: 'main/tenant_b', url: 'postgres://u:pw-b@db/b', containerName: 'web-migrate-main-tenant_b' },
      { database: 'main', target: 'tenant_a', key: 'main/tenant_a', url: 'postgres://u:pw-a@db/a', containerName: 'web-migrate-main-tenant_a' },
      { database: 'audit', target: undefined, key: 'audit', url: 'postgres://u:pw-audit@db/audit', containerName: 'web-migrate-audit' },
    ]);
    targets[1]!.log('applied 0001');
    targets[2]!.log('applied 0002');
    expect(logged).toEqual([['main/tenant_a', 'applied 0001'], ['audit', 'applied 0002']]);
  });

  it('targetKey falls back to the database for targets built by hand', () => {
    expect(targetKey({ database: 'main' })).toBe('main');
    expect(targetKey({ database: 'main', target: 'a' })).toBe('main/a');
    expect(targetKey({ database: 'main', target: 'a', key: 'main/a' })).toBe('main/a');
  });
});

const RESULTS: TargetResult[] = [
  { target: 'main/a', status: 'completed', applied: ['0001_users', '0002_orders'], duration_ms: 1234 },
  { target: 'main/b', status: 'failed', applied: [], error: '0002_orders: relation "orders" already exists', duration_ms: 56 },
  { target: 'main/c', status: 'not_started', applied: [], duration_ms: 0 },
  { target: 'audit', status: 'skipped', applied: [], duration_ms: 3 },
];

describe('fan-out results', () => {
  it('--json: exactly environment, database, target, status, applied, duration_ms, error per target', () => {
    const names = [
      { key: 'main/a', database: 'main', target: 'a' },
      { key: 'main/b', database: 'main', target: 'b' },
      { key: 'main/c', database: 'main', target: 'c' },
      { key: 'audit', database: 'audit' },
    ];
    expect(fanOutJson('prod', names, RESULTS)).toEqual({
      targets: [
        { environment: 'prod', database: 'main', target: 'a', status: 'completed', applied: ['0001_users', '0002_orders'], duration_ms: 1234, error: null },
        { environment: 'prod', database: 'main', target: 'b', status: 'failed', applied: [], duration_ms: 56, error: '0002_orders: relation "orders" already exists' },
        { environment: 'prod', database: 'main', target: 'c', status: 'not_started', applied: [], duration_ms: 0, error: null },
        { environment: 'prod', database: 'audit', target: null, status: 'skipped', applied: [], duration_ms: 3, error: null },
      ],
    });
  });

  it('the table: target, status, applied, duration, error', () => {
    expect(formatFanOutTable(RESULTS).split('\n')).toEqual([
      'TARGET  STATUS       APPLIED                  DURATION  ERROR',
      'main/a  completed    0001_users, 0002_orders  1.2s      -',
      'main/b  failed       -                        56ms      0002_orders: relation "orders" already exists',
      'main/c  not_started  -                        -         -',
      'audit   skipped      -                        3ms       -',
    ]);
    expect(fanOutSummary(RESULTS)).toBe('4 target(s): 1 completed, 1 failed, 1 not_started, 1 skipped');
  });
});

describe('fan-out flags', () => {
  it('default sequential; numbers checked', () => {
    expect(fanOutRequested({})).toBe(false);
    expect(fanOutRequested({ rollbackOnFailure: true })).toBe(true);
    expect(fanOutOptionsOf({})).toEqual({ strategy: 'sequential' });
    expect(fanOutOptionsOf({ fanOut: 'canary', canaryPercent: '25', maxConcurrent: '2' })).toEqual({ strategy: 'canary', canaryPercent: 25, maxConcurrent: 2 });
    expect(() => fanOutOptionsOf({ fanOut: 'blue' })).toThrow('--fan-out blue: expected one of sequential, parallel, rolling, canary');
    expect(() => fanOutOptionsOf({ fanOut: 'rolling', batchSize: '0' })).toThrow('--batch-size 0: expected a whole number of at least 1');
    expect(() => fanOutOptionsOf({ fanOut: 'canary', canaryPercent: '101' })).toThrow('--canary-percent 101: expected a whole number from 1 to 100');
  });

  it('--rollback-on-failure refuses a raw step without a down file and an engine without rollback', () => {
    const plan = (engine: string, ids: string[]): DatabaseRunPlan =>
      ({ database: 'main', engine, strategy: 'pre_deploy', phase: 'migrate_pre', direction: 'up', notes: [], steps: ids.map((id) => ({ id, direction: 'up', phase: 'migrate_pre', depends_on: [], checksum: null, risk_level: null })) }) as DatabaseRunPlan;
    const state = readableState([
      { id: '0001', state: 'pending', down_file: '0001.down.sql' },
      { id: '0002', state: 'pending' },
    ]);
    expect(rollbackRefusals([{ key: 'main/a', plan: plan('raw', ['0001']), state }])).toEqual([]);
    expect(rollbackRefusals([{ key: 'main/a', plan: plan('raw', ['0001', '0002']), state }])).toEqual(['main/a: 0002.down.sql missing']);
    expect(rollbackRefusals([{ key: 'main/b', plan: plan('knex', ['x']), state }])).toEqual(['main/b: engine knex has no rollback']);
  });
});

describe('--database main/NAME', () => {
  it('keeps the one target, names unknown ones, and refuses several where a command acts on one', async () => {
    const { targets } = await targetsOf(['main', 'audit']);
    expect(splitTargetName('main/tenant_a')).toEqual({ database: 'main', target: 'tenant_a' });
    expect(splitTargetName('main')).toEqual({ database: 'main', target: undefined });
    expect(pickTargets(targets, 'main/tenant_a').map(targetKey)).toEqual(['main/tenant_a']);
    expect(pickTargets(targets, 'main').map(targetKey)).toEqual(['main/tenant_b', 'main/tenant_a', 'audit']);
    expect(() => pickTargets(targets, 'main/tenant_c')).toThrow('unknown target "main/tenant_c" — targets: main/tenant_b, main/tenant_a');
    expect(() => pickTargets(targets, 'audit/x')).toThrow('database audit has no targets: pass --database audit');
    const mainOnly = targets.filter((t) => t.database === 'main');
    expect(() => pickTargets(mainOnly, 'main', { command: 'migrate rollback' })).toThrow(
      'migrate rollback acts on one target and main has 2: pass --database main/tenant_b or --database main/tenant_a',
    );
    expect(pickTargets(mainOnly, 'main/tenant_b', { command: 'migrate rollback' }).map(targetKey)).toEqual(['main/tenant_b']);
  });
});
