import { describe, expect, it } from 'vitest';
import { ExitCode, StagecraftError } from '../../../src/errors.js';
import { formatMigrationPlan } from '../../../src/migrate/orchestrate/format-migration-plan.js';
import { assembleMigrationPlan, planDatabaseRollback, planDatabaseRun } from '../../../src/migrate/orchestrate/migration-plan.js';
import type { DatabaseInput } from '../../../src/migrate/orchestrate/migration-plan.js';
import type { DatabaseRun } from '../../../src/migrate/orchestrate/execute.js';
import { releaseMigrationRecord, toolHistoryEvents } from '../../../src/migrate/orchestrate/record.js';
import type { DatabaseState, MigrationEntry } from '../../../src/migrate/types.js';
import { readableState } from '../../../src/migrate/types.js';

/** The plan as data: what `migrate run`, `migrate rollback` and deploy's migrate phases would apply. */

function state(migrations: MigrationEntry[], extra: Partial<DatabaseState> = {}): DatabaseState {
  return { ...readableState(migrations), ...extra };
}

const applied = (id: string, more: Partial<MigrationEntry> = {}): MigrationEntry => ({ id, file: `${id}.sql`, state: 'applied', checksum: `sum-${id}`, down_file: `${id}.down.sql`, ...more });
const pending = (id: string, more: Partial<MigrationEntry> = {}): MigrationEntry => ({ id, file: `${id}.sql`, state: 'pending', checksum: `sum-${id}`, ...more });

function input(migrations: MigrationEntry[], more: Partial<DatabaseInput> = {}): DatabaseInput {
  return { database: 'main', engine: 'raw', strategy: 'pre_deploy', state: state(migrations), ...more };
}

function thrown(work: () => unknown): StagecraftError {
  try {
    work();
  } catch (error) {
    if (error instanceof StagecraftError) return error;
    throw error;
  }
  throw new Error('expected a StagecraftError, nothing was thrown');
}

describe('run plan', () => {
  it('pending and failed migrations in the order they apply, with id, direction, phase, dependencies, risk and checksum', () => {
    const plan = planDatabaseRun(
      input([
        applied('0001_a'),
        pending('0003_c', { depends_on: ['0001_a'], metadata: { description: 'Adds plans', affects_tables: ['plans'], risk_level: 'high', estimated_duration: '45s' } }),
        { ...pending('0002_b'), state: 'failed', error: 'boom' },
      ]),
      'prod',
    );
    expect(plan).toMatchObject({ database: 'main', engine: 'raw', strategy: 'pre_deploy', phase: 'migrate_pre', direction: 'up' });
    expect(plan.steps).toEqual([
      {
        id: '0003_c',
        direction: 'up',
        phase: 'migrate_pre',
        file: '0003_c.sql',
        depends_on: ['0001_a'],
        checksum: 'sum-0003_c',
        risk_level: 'high',
        description: 'Adds plans',
        affects_tables: ['plans'],
        estimated_duration: '45s',
      },
      { id: '0002_b', direction: 'up', phase: 'migrate_pre', file: '0002_b.sql', depends_on: [], checksum: 'sum-0002_b', risk_level: null, retry: true },
    ]);
  });

  it('the phase follows the strategy (post_deploy → migrate_post, manual → manual), or the deploy phase that runs it', () => {
    expect(planDatabaseRun(input([pending('0001_a')], { strategy: 'post_deploy' }), 'prod').phase).toBe('migrate_post');
    expect(planDatabaseRun(input([pending('0001_a')], { strategy: 'manual' }), 'prod').phase).toBe('manual');
    expect(planDatabaseRun(input([pending('0001_a')], { strategy: 'manual' }), 'prod', { phase: 'migrate_pre' }).steps![0]!.phase).toBe('migrate_pre');
  });

  it('--to stops at that migration (by id or file name); an unknown one is a user error naming the migrations', () => {
    const migrations = [applied('0001_a'), pending('0002_b'), pending('0003_c')];
    expect(planDatabaseRun(input(migrations), 'prod', { to: '0002_b' }).steps!.map((s) => s.id)).toEqual(['0002_b']);
    expect(planDatabaseRun(input(migrations), 'prod', { to: '0003_c.sql' }).steps!.map((s) => s.id)).toEqual(['0002_b', '0003_c']);
    const error = thrown(() => planDatabaseRun(input(migrations), 'prod', { to: '0009_z' }));
    expect(error.exitCode).toBe(ExitCode.user);
    expect(error.message).toBe('--to 0009_z: no such migration in main (migrations: 0001_a, 0002_b, 0003_c)');
  });

  it('drift and dirty block the run: no steps, and the reason names the files and the resolve command', () => {
    const drifted = planDatabaseRun(input([applied('0001_a', { state: 'drifted' }), pending('0002_b')]), 'prod');
    expect(drifted.steps).toEqual([]);
    expect(drifted.blocked).toBe('drift: 0001_a.sql changed after being applied; a run refuses');
    const dirty = planDatabaseRun(input([{ ...pending('0001_a'), state: 'failed', dirty: true }, pending('0002_b')]), 'staging');
    expect(dirty.steps).toEqual([]);
    expect(dirty.blocked).toContain('dirty: 0001_a left running by a process that died');
    expect(dirty.blocked).toContain('stagecraft migrate resolve --env staging --database main ID --applied|--rolled-back');
  });

  it('an unreadable state, or a tool that cannot list pending migrations, leaves the steps unknown (null), never empty', () => {
    const unreadable = planDatabaseRun(input([], { state: { ...state([]), readable: false, reason: 'connection refused' } }), 'prod');
    expect(unreadable).toMatchObject({ steps: null, unreadable: 'connection refused' });
    const golang = planDatabaseRun(input([], { engine: 'golang-migrate', state: { ...state([]), pending_known: false } }), 'prod');
    expect(golang.steps).toBeNull();
    expect(golang.notes).toEqual(['golang-migrate cannot list pending migrations: the tool applies whatever it finds']);
  });
});

describe('rollback plan', () => {
  const graph = [applied('0001_a'), applied('0002_b', { depends_on: ['0001_a'] }), applied('0003_c')];

  it('newest first, in reverse dependency order, as down steps', () => {
    const plan = planDatabaseRollback(input(graph), 'prod', { steps: 2 }, false);
    expect(plan.direction).toBe('down');
    expect(plan.steps!.map((s) => [s.id, s.direction])).toEqual([
      ['0003_c', 'down'],
      ['0002_b', 'down'],
    ]);
    expect(plan.blocked).toBeUndefined();
  });

  it('refuses (exit 2) when an applied migration outside the set depends on one inside it, naming the dependent', () => {
    const error = thrown(() => planDatabaseRollback(input(graph), 'prod', { ids: ['0001_a'] }, false));
    expect(error.exitCode).toBe(ExitCode.refused);
    expect(error.message).toBe('main: cannot roll back: 0002_b (applied) depends on 0001_a; nothing was rolled back');
  });

  it('--cascade adds the dependents and says so', () => {
    const plan = planDatabaseRollback(input(graph), 'prod', { ids: ['0001_a'] }, true);
    expect(plan.steps!.map((s) => s.id)).toEqual(['0002_b', '0001_a']);
    expect(plan.notes).toEqual(['--cascade added 0002_b']);
  });

  it('an id that is not applied is a user error listing what is', () => {
    const error = thrown(() => planDatabaseRollback(input(graph), 'prod', { ids: ['0009_z'] }, false));
    expect(error.exitCode).toBe(ExitCode.user);
    expect(error.message).toBe('main: 0009_z is not applied; applied: 0001_a, 0002_b, 0003_c');
  });

  it('a missing down file or a drifted migration blocks the rollback, before any lock', () => {
    const plan = planDatabaseRollback(input([applied('0001_a'), applied('0002_b', { down_file: undefined, state: 'drifted' })]), 'prod', { steps: 1 }, false);
    expect(plan.blocked).toBe('0002_b.down.sql missing; a rollback refuses; drift: 0002_b.sql changed after being applied; a rollback refuses');
  });
});

describe('the plan of an environment', () => {
  const databases = [
    planDatabaseRun(input([pending('0001_a', { metadata: { risk_level: 'high', description: 'Drops legacy' } }), pending('0002_b', { metadata: { risk_level: 'low' } })]), 'prod'),
    planDatabaseRun(input([applied('0001_x')], { database: 'events', strategy: 'post_deploy' }), 'prod'),
  ];
  const plan = assembleMigrationPlan({ kind: 'run', service: 'shop', environment: 'prod', image: 'reg/shop:v2' }, databases);

  it('flags every high-risk step it would apply', () => {
    expect(plan.high_risk).toEqual([{ database: 'main', id: '0001_a', description: 'Drops legacy' }]);
  });

  it('prints each database, each step with what is known of it, and the high-risk warning', () => {
    expect(formatMigrationPlan(plan).split('\n')).toEqual([
      'migrate run: shop on prod, image reg/shop:v2',
      'main [raw, pre_deploy → migrate_pre]: would apply 2',
      '  ⚠ apply  0001_a  risk high · "Drops legacy"',
      '    apply  0002_b  risk low',
      'events [raw, post_deploy → migrate_post]: nothing to apply',
      '⚠ high risk (risk_level: high in dependencies.json): main: 0001_a (Drops legacy)',
    ]);
  });
});

describe('recorder', () => {
  const run = (outcome: DatabaseRun['outcome'], engine = 'raw'): DatabaseRun => ({
    plan: planDatabaseRun(input([pending('0001_a', { metadata: { description: 'Adds users', risk_level: 'medium' } }), pending('0002_b')], { engine }), 'prod'),
    outcome,
    started_at: '2026-12-02T10:00:00.000Z',
    duration_ms: 1234,
    log_tail: ['applying 0001_a.sql'],
  });

  it('a release entry per database: applied ids, and per step its outcome and what dependencies.json says', () => {
    const record = releaseMigrationRecord(
      run({ status: 'failed', error: 'syntax error near password=hunter2', migrations: [{ id: '0001_a', outcome: 'applied', duration_ms: 40.6 }, { id: '0002_b', outcome: 'failed' }], notes: [] }),
      (text) => text.replace('hunter2', '[redacted]'),
    );
    expect(record).toEqual({
      database: 'main',
      engine: 'raw',
      strategy: 'pre_deploy',
      status: 'failed',
      applied: ['0001_a'],
      steps: [
        { id: '0001_a', outcome: 'applied', duration_ms: 41, description: 'Adds users', risk_level: 'medium' },
        { id: '0002_b', outcome: 'failed' },
      ],
      duration_ms: 1234,
      log_tail: ['applying 0001_a.sql'],
      error: 'syntax error near password=[redacted]',
    });
  });

  it("container engines' runs become history events: the ids the tool applied, or one failed run when it named none", () => {
    expect(toolHistoryEvents(run({ status: 'completed', migrations: [{ id: '0001_a', outcome: 'applied' }, { id: '0002_b', outcome: 'skipped' }], notes: [] }, 'knex'))).toEqual([
      { migration_id: '0001_a', event: 'completed', duration_ms: 1234, error: null },
    ]);
    expect(toolHistoryEvents(run({ status: 'failed', error: 'knex exited with code 1', migrations: [], notes: [] }, 'knex'))).toEqual([
      { migration_id: '(knex run)', event: 'failed', duration_ms: 1234, error: 'knex exited with code 1' },
    ]);
    expect(toolHistoryEvents(run({ status: 'completed', migrations: [], notes: [] }, 'knex'))).toEqual([]);
  });
});
