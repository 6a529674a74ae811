/**
 * `migrate run --fan-out` (issue 11) against the testbed's real PostgreSQL, through the real built
 * CLI: one raw database with four targets main/a..main/d (four scratch databases), the second
 * migration failing on main/c (its table already exists there). Each strategy ends with exactly the
 * statuses its rules give; --rollback-on-failure reverts the completed targets (tables gone).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readTestbedState } from './helpers/testbed-state.js';
import type { TestbedState } from './helpers/testbed-state.js';
import { MigrateProject, scratchDatabase, uniqueService } from './helpers/migrate-project.js';
import type { ScratchDatabase } from './helpers/migrate-project.js';

const PRIMARY = '10.201.0.12';
const DIR = 'db/fan';
const NAMES = ['a', 'b', 'c', 'd'] as const;
const FILES: Record<string, string> = {
  '0001_fan_accounts.sql': 'CREATE TABLE fan_accounts (id bigserial PRIMARY KEY, name text NOT NULL);\n',
  '0001_fan_accounts.down.sql': 'DROP TABLE fan_accounts;\n',
  '0002_fan_orders.sql': 'CREATE TABLE fan_orders (id bigserial PRIMARY KEY, total integer NOT NULL);\n',
  '0002_fan_orders.down.sql': 'DROP TABLE fan_orders;\n',
};
const BOTH = ['0001_fan_accounts', '0002_fan_orders'];

interface FanOutJson {
  targets: { environment: string; database: string; target: string | null; status: string; applied: string[]; duration_ms: number; error: string | null }[];
}

describe('migrate run --fan-out over four targets', () => {
  let state: TestbedState;
  let project: MigrateProject;
  let databases: ScratchDatabase[] = [];

  /** Four fresh databases as main/a..main/d; main/c already has fan_orders, so 0002 fails there. */
  const freshTargets = async (): Promise<void> => {
    databases = await Promise.all(NAMES.map(() => scratchDatabase(state, 'e2em_fan')));
    await databases[2]!.query('CREATE TABLE fan_orders (id integer)');
    const targets = Object.fromEntries(NAMES.map((name, index) => [name, databases[index]!.url]));
    await project.configure({ databases: { main: { url: databases[0]!.url, engine: 'raw', path: DIR, strategy: 'manual', targets } } });
  };
  const tableIn = async (database: ScratchDatabase, table: string): Promise<boolean> =>
    (await database.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [table]))[0]!.t !== null;
  const runJson = async (...args: string[]): Promise<{ exitCode: number; json: FanOutJson; stderr: string }> => {
    const result = await project.run('migrate', 'run', '--json', ...args);
    let json: FanOutJson;
    try {
      json = JSON.parse(result.stdout) as FanOutJson;
    } catch {
      throw new Error(`not JSON (exit ${result.exitCode}): ${result.stdout}\n${result.stderr}`);
    }
    return { exitCode: result.exitCode, json, stderr: result.stderr };
  };
  const statuses = (json: FanOutJson) => json.targets.map((t) => `${t.database}/${t.target}: ${t.status}`);

  beforeAll(async () => {
    state = readTestbedState();
    const placeholder = await scratchDatabase(state, 'e2em_fan');
    databases = [placeholder];
    project = await MigrateProject.create(
      {
        service: uniqueService('fan'),
        proxyPort: 8400,
        app: 'raw-sql',
        hosts: [PRIMARY],
        databases: { main: { url: placeholder.url, engine: 'raw', path: DIR, strategy: 'manual' } },
      },
      state,
    );
    for (const [name, sql] of Object.entries(FILES)) await project.writeFile(`${DIR}/${name}`, sql);
  });

  afterEach(async () => {
    await Promise.all(databases.splice(0).map((database) => database.drop()));
  });

  afterAll(async () => {
    await project?.cleanup();
  });

  it('sequential: a and b complete, c fails naming its error, d never starts; exit 4; the table and the JSON agree', async () => {
    await freshTargets();
    const { exitCode, json, stderr } = await runJson('--fan-out', 'sequential');
    expect(exitCode, stderr).toBe(4);
    expect(statuses(json)).toEqual(['main/a: completed', 'main/b: completed', 'main/c: failed', 'main/d: not_started']);
    expect(json.targets.map((t) => t.applied)).toEqual([BOTH, BOTH, ['0001_fan_accounts'], []]);
    expect(json.targets.every((t) => t.environment === 'e2e' && t.duration_ms >= 0)).toBe(true);
    expect(json.targets[2]!.error).toMatch(/fan_orders.*already exists/);
    expect(json.targets.filter((t) => t.error !== null)).toHaveLength(1);
    expect(stderr).toContain('1 of 4 target(s) failed: main/c:');
    expect(await tableIn(databases[1]!, 'fan_orders')).toBe(true);
    expect(await tableIn(databases[3]!, 'fan_accounts')).toBe(false);

    // A rerun: a and b have nothing pending (skipped), c fails again, d applies.
    const table = await project.run('migrate', 'run', '--fan-out', 'sequential');
    expect(table.exitCode).toBe(4);
    expect(table.stdout).toMatch(/^TARGET\s+STATUS\s+APPLIED\s+DURATION\s+ERROR$/m);
    expect(table.stdout).toMatch(/^main\/a\s+skipped\s+-/m);
    expect(table.stdout).toMatch(/^main\/c\s+failed\s+-\s+\S+\s+.*already exists/m);
    expect(table.stdout).toMatch(/^main\/d\s+not_started/m);
  });

  it('canary 25 %: a alone first, then b, c and d; c fails, the others complete', async () => {
    await freshTargets();
    const { exitCode, json, stderr } = await runJson('--fan-out', 'canary', '--canary-percent', '25');
    expect(exitCode, stderr).toBe(4);
    expect(statuses(json)).toEqual(['main/a: completed', 'main/b: completed', 'main/c: failed', 'main/d: completed']);
    expect(json.targets.map((t) => t.applied)).toEqual([BOTH, BOTH, ['0001_fan_accounts'], BOTH]);
  });

  it('canary where the canary itself fails: nothing else starts', async () => {
    await freshTargets();
    // main/a fails this time.
    await databases[0]!.query('CREATE TABLE fan_orders (id integer)');
    const { exitCode, json } = await runJson('--fan-out', 'canary', '--canary-percent', '25');
    expect(exitCode).toBe(4);
    expect(statuses(json)).toEqual(['main/a: failed', 'main/b: not_started', 'main/c: not_started', 'main/d: not_started']);
  });

  it('rolling batch 2: a and b complete; the batch c, d runs whole: c fails, d completes', async () => {
    await freshTargets();
    const { exitCode, json, stderr } = await runJson('--fan-out', 'rolling', '--batch-size', '2');
    expect(exitCode, stderr).toBe(4);
    expect(statuses(json)).toEqual(['main/a: completed', 'main/b: completed', 'main/c: failed', 'main/d: completed']);
  });

  it('--rollback-on-failure: the completed targets are rolled back, their tables gone', async () => {
    await freshTargets();
    const { exitCode, json, stderr } = await runJson('--fan-out', 'sequential', '--rollback-on-failure');
    expect(exitCode, stderr).toBe(4);
    expect(statuses(json)).toEqual(['main/a: rolled_back', 'main/b: rolled_back', 'main/c: failed', 'main/d: not_started']);
    for (const database of databases.slice(0, 2)) {
      expect(await tableIn(database, 'fan_accounts')).toBe(false);
      expect(await tableIn(database, 'fan_orders')).toBe(false);
    }
    // The failed target keeps what it applied before the failure; only completed targets are reverted.
    expect(await tableIn(databases[2]!, 'fan_accounts')).toBe(true);
  });

  it('--rollback-on-failure refuses before starting when a pending migration has no down file', async () => {
    await freshTargets();
    await project.removeFile(`${DIR}/0002_fan_orders.down.sql`);
    try {
      const result = await project.run('migrate', 'run', '--rollback-on-failure');
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain('--rollback-on-failure cannot revert every target: main/a: 0002_fan_orders.down.sql missing');
      for (const database of databases) expect(await tableIn(database, 'fan_accounts')).toBe(false);
    } finally {
      await project.writeFile(`${DIR}/0002_fan_orders.down.sql`, FILES['0002_fan_orders.down.sql']!);
    }
  });

  it('migrate plan and migrate status show the targets as main/a..main/d rows', async () => {
    await freshTargets();
    const plan = await project.run('migrate', 'plan', '--json');
    expect(plan.exitCode, plan.stderr).toBe(0);
    expect((JSON.parse(plan.stdout) as { databases: { database: string }[] }).databases.map((d) => d.database)).toEqual(['main/a', 'main/b', 'main/c', 'main/d']);
    const status = await project.run('migrate', 'status', '--json');
    expect(status.exitCode, status.stderr).toBe(0);
    expect((JSON.parse(status.stdout) as { databases: { database: string }[] }).databases.map((d) => d.database)).toEqual(['main/a', 'main/b', 'main/c', 'main/d']);
  });
});
