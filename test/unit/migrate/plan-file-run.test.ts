import { describe, expect, it } from 'vitest';
import { ExitCode, StagecraftError } from '../../../src/errors.js';
import { assembleMigrationPlan, planDatabaseRun } from '../../../src/migrate/orchestrate/migration-plan.js';
import type { MigrationPlan } from '../../../src/migrate/orchestrate/migration-plan.js';
import { parsePlanFile } from '../../../src/migrate/orchestrate/plan-file.js';
import { knownDatabase, orderByPlanFile, planFileEntryStates, planFileFailure, resumeIndex } from '../../../src/migrate/orchestrate/plan-file-run.js';
import type { LoadedPlanFile } from '../../../src/migrate/orchestrate/plan-file-run.js';
import type { DatabaseState, MigrationEntry } from '../../../src/migrate/types.js';
import { readableState, unreadable } from '../../../src/migrate/types.js';

const FILE = 'migrations/orchestration.plan';
const TEXT = ['# publisher first', 'main:0001_publisher', 'replica:0001_base', 'replica:0002_subscriber', 'main:0003_some_table', ''].join('\n');

function planFile(text = TEXT): LoadedPlanFile {
  return { file: FILE, ...parsePlanFile(text) };
}

const m = (id: string, state: MigrationEntry['state'], more: Partial<MigrationEntry> = {}): MigrationEntry => ({ id, file: `${id}.sql`, state, ...more });

function setup(main: MigrationEntry[], replica: MigrationEntry[], engines: { main?: string; replica?: string } = {}) {
  const states = new Map<string, DatabaseState>([
    ['main', readableState(main)],
    ['replica', readableState(replica)],
  ]);
  const plan: MigrationPlan = assembleMigrationPlan(
    { kind: 'run', service: 'web', environment: 'prod', image: null },
    [...states].map(([database, state]) => planDatabaseRun({ database, engine: engines[database as 'main' | 'replica'] ?? 'raw', strategy: 'manual', state }, 'prod')),
  );
  const known = new Map([...states].map(([database, state]) => [database, knownDatabase([], state.migrations)]));
  return { plan, known, migrationsOf: (database: string) => states.get(database)?.migrations };
}

/** What an ordered run applies: `line target:step(s)`. */
function runs(ordered: ReturnType<typeof orderByPlanFile>): string[] {
  return ordered.plan.databases.map((database, index) => `${ordered.entries[index]?.line ?? '-'} ${database.database}:${(database.steps ?? []).map((s) => s.id).join(',')}${database.to ? ` to ${database.to}` : ''}`);
}

describe('orchestration.plan runs', () => {
  it('each entry has the state of its migration; a run resumes at the first entry not applied', () => {
    const { migrationsOf } = setup(
      [m('0001_publisher', 'applied'), m('0003_some_table', 'pending')],
      [m('0001_base', 'drifted'), m('0002_subscriber', 'failed', { error: 'boom' })],
    );
    const states = planFileEntryStates(planFile().entries, migrationsOf);
    expect(states).toEqual([
      { line: 2, target: 'main', migration: '0001_publisher', state: 'applied' },
      { line: 3, target: 'replica', migration: '0001_base', state: 'drifted' },
      { line: 4, target: 'replica', migration: '0002_subscriber', state: 'failed' },
      { line: 5, target: 'main', migration: '0003_some_table', state: 'pending' },
    ]);
    expect(resumeIndex(states)).toBe(2);
    expect(resumeIndex(states.map((s) => ({ ...s, state: 'applied' as const })))).toBe(-1);
  });

  it('dirty, running and an unreadable database are states of their own, and none counts as applied', () => {
    const states = planFileEntryStates(planFile('main:0001\nmain:0002\nreplica:0001\n').entries, (database) =>
      database === 'main' ? [m('0001', 'failed', { dirty: true }), m('0002', 'pending', { running: true })] : undefined,
    );
    expect(states.map((s) => s.state)).toEqual(['dirty', 'running', 'unknown']);
    expect(resumeIndex(states)).toBe(0);
  });

  it('a fresh run applies one migration per entry in the file order, across databases', () => {
    const { plan, known, migrationsOf } = setup([m('0001_publisher', 'pending'), m('0003_some_table', 'pending')], [m('0001_base', 'pending'), m('0002_subscriber', 'pending')]);
    const ordered = orderByPlanFile(planFile(), plan, known, migrationsOf);
    expect(runs(ordered)).toEqual(['2 main:0001_publisher', '3 replica:0001_base', '4 replica:0002_subscriber', '5 main:0003_some_table']);
    expect(ordered.resume).toEqual({ line: 2, target: 'main', migration: '0001_publisher', state: 'pending' });
    expect(ordered.plan.databases[0]!.notes).toEqual([`${FILE}:2`]);
  });

  it('a rerun skips the applied entries and resumes at the failed one', () => {
    const { plan, known, migrationsOf } = setup([m('0001_publisher', 'applied'), m('0003_some_table', 'pending')], [m('0001_base', 'applied'), m('0002_subscriber', 'failed')]);
    const ordered = orderByPlanFile(planFile(), plan, known, migrationsOf);
    expect(runs(ordered)).toEqual(['4 replica:0002_subscriber', '5 main:0003_some_table']);
    expect(ordered.resume?.line).toBe(4);
  });

  it('everything applied: nothing to run; a database the file does not list runs after the entries', () => {
    const { plan, known, migrationsOf } = setup([m('0001_publisher', 'applied'), m('0003_some_table', 'applied')], [m('0001_base', 'pending'), m('0002_subscriber', 'pending')]);
    const ordered = orderByPlanFile(planFile('main:0001_publisher\nmain:0003_some_table\n'), plan, known, migrationsOf);
    expect(runs(ordered)).toEqual(['- replica:0001_base,0002_subscriber']);
    expect(ordered.resume).toBeNull();
  });

  it('tool engines get `to` the entry; an engine without --to is refused with file:line', () => {
    const tool = setup([m('0001_publisher', 'pending'), m('0003_some_table', 'pending')], [m('0001_base', 'pending'), m('0002_subscriber', 'pending')], { replica: 'sqitch' });
    expect(runs(orderByPlanFile(planFile(), tool.plan, tool.known, tool.migrationsOf))).toEqual([
      '2 main:0001_publisher',
      '3 replica:0001_base to 0001_base',
      '4 replica:0002_subscriber to 0002_subscriber',
      '5 main:0003_some_table',
    ]);
    const knex = setup([m('0001_publisher', 'pending'), m('0003_some_table', 'pending')], [m('0001_base', 'pending'), m('0002_subscriber', 'pending')], { replica: 'knex' });
    expect(() => orderByPlanFile(planFile(), knex.plan, knex.known, knex.migrationsOf)).toThrow(
      `${FILE} has 1 problem(s); nothing was run:\n  ${FILE}:3: replica: engine knex cannot apply one chosen migration (no --to), so a plan file cannot order it (engines that can: raw, sqitch, golang-migrate, node-pg-migrate)`,
    );
  });

  it('a plan file with problems runs nothing: every problem with file:line', () => {
    const { plan, known, migrationsOf } = setup([m('0001_publisher', 'pending'), m('0003_some_table', 'pending')], [m('0001_base', 'pending'), m('0002_subscriber', 'pending')]);
    const text = 'main:0001_publisher\nreplica:0001_base\nreplica:0009_nope\nmain:0001_publisher\nmain:0003_some_table\n';
    let error: unknown;
    try {
      orderByPlanFile(planFile(text), plan, known, migrationsOf);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(StagecraftError);
    expect((error as StagecraftError).exitCode).toBe(ExitCode.user);
    expect((error as StagecraftError).message.split('\n')).toEqual([
      `${FILE} has 3 problem(s); nothing was run:`,
      `  ${FILE}:2: replica: the plan leaves out 0002_subscriber (every migration of a listed database must be in the plan)`,
      `  ${FILE}:3: unknown migration "0009_nope" in replica`,
      `  ${FILE}:4: main:0001_publisher is listed twice (first on line 1)`,
    ]);
  });

  it('an unreadable database is left to the unreadable refusal, not reported as unknown', () => {
    const { known, migrationsOf } = setup([m('0001_publisher', 'pending'), m('0003_some_table', 'pending')], []);
    const plan = assembleMigrationPlan({ kind: 'run', service: 'web', environment: 'prod', image: null }, [
      planDatabaseRun({ database: 'main', engine: 'raw', strategy: 'manual', state: readableState([m('0001_publisher', 'pending'), m('0003_some_table', 'pending')]) }, 'prod'),
      planDatabaseRun({ database: 'replica', engine: 'raw', strategy: 'manual', state: unreadable('connection refused') }, 'prod'),
    ]);
    known.delete('replica');
    const ordered = orderByPlanFile(planFile(), plan, known, migrationsOf);
    expect(ordered.plan.databases.map((d) => [d.database, d.unreadable ?? null])).toEqual([
      ['main', null],
      ['replica', 'connection refused'],
      ['replica', 'connection refused'],
      ['main', null],
    ]);
  });

  it('a database with targets is refused for now', () => {
    const { plan, known, migrationsOf } = setup([m('0001_publisher', 'pending'), m('0003_some_table', 'pending')], [m('0001_base', 'pending'), m('0002_subscriber', 'pending')]);
    known.set('main', { ...known.get('main')!, targets: ['tenant_a'] });
    expect(() => orderByPlanFile(planFile(), plan, known, migrationsOf)).toThrow(`${FILE}:2: main: a plan file over a database with targets cannot be run yet (only databases without targets)`);
  });

  it('the failure names the plan file line and target (exit 4); a refusal keeps its own exit code', () => {
    const entry = parsePlanFile('main:0001\nmain:0002\nreplica:0002_subscriber\n').entries[2]!;
    const failed = planFileFailure(
      FILE,
      entry,
      { outcome: { status: 'failed', migrations: [{ id: '0002_subscriber', outcome: 'failed', error: '0002_subscriber.sql: relation "nope" does not exist' }], error: 'x', notes: [] } },
      'replica',
    );
    expect(failed.message).toBe(`${FILE}:3: replica: 0002_subscriber failed: 0002_subscriber.sql: relation "nope" does not exist`);
    expect(failed.exitCode).toBe(ExitCode.migration);
    const lock = planFileFailure(
      FILE,
      entry,
      { outcome: { status: 'failed', migrations: [], error: 'replica: lock timeout', notes: [] }, failure: new StagecraftError('replica: lock timeout', ExitCode.refused) },
      'replica',
    );
    expect([lock.message, lock.exitCode]).toEqual([`${FILE}:3: replica: 0002_subscriber failed: lock timeout`, ExitCode.refused]);
  });

  it("a deploy phase orders only its databases' entries, and leaves the other phase's share of a split database", () => {
    const { known, migrationsOf } = setup([m('0001_publisher', 'pending'), m('0003_some_table', 'pending', { post_deploy: true })], [m('0001_base', 'pending'), m('0002_subscriber', 'pending')]);
    const pre = assembleMigrationPlan({ kind: 'run', service: 'web', environment: 'prod', image: null }, [
      planDatabaseRun({ database: 'main', engine: 'raw', strategy: 'pre_deploy', state: readableState(migrationsOf('main')!) }, 'prod', { only: 'pre' }),
    ]);
    const ordered = orderByPlanFile(planFile(), pre, known, migrationsOf, new Set(['main']));
    expect(runs(ordered)).toEqual(['2 main:0001_publisher']);
  });
});
