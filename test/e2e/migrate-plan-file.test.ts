/**
 * `orchestration.plan` through the real built CLI on the testbed's PostgreSQL, two raw databases
 * (no image): a plan file interleaving their migrations applies in its order (finished_at across
 * both tracking tables); a failure on its third line stops there (exit 4 naming the line, nothing
 * after it applied) and a rerun after the fix resumes at that line; `migrate plan` lists the
 * entries with their state; `migrate validate` reports the plan file's problems with file:line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTestbedState } from './helpers/testbed-state.js';
import type { TestbedState } from './helpers/testbed-state.js';
import { MigrateProject, scratchDatabase, uniqueService } from './helpers/migrate-project.js';
import type { ScratchDatabase } from './helpers/migrate-project.js';

const PRIMARY = '10.201.0.11';
const PLAN = 'db/orchestration.plan';

const FILES: Record<string, string> = {
  'db/main/0001_pf_publisher.sql': 'CREATE TABLE pf_publisher (id int PRIMARY KEY);\n',
  'db/main/0003_pf_orders.sql': 'CREATE TABLE pf_orders (id int PRIMARY KEY, publisher int);\n',
  'db/replica/0001_pf_base.sql': 'CREATE TABLE pf_base (id int PRIMARY KEY);\n',
  'db/replica/0002_pf_subscriber.sql': 'CREATE TABLE pf_subscriber (id int PRIMARY KEY);\n',
};

/** The interleaved order, as `<target>:<migration>` lines. */
const ORDER = ['main:0001_pf_publisher', 'replica:0001_pf_base', 'replica:0002_pf_subscriber', 'main:0003_pf_orders'];

interface Row {
  id: string;
  status: string;
  finished_at: Date | null;
}

async function tracking(db: ScratchDatabase, target: string): Promise<(Row & { target: string })[]> {
  const rows = await db.query<Row>('SELECT id, status, finished_at FROM stagecraft_migrations ORDER BY id');
  return rows.map((row) => ({ ...row, target }));
}

/** Every completed migration of both databases, in the order they finished. */
async function finishedOrder(main: ScratchDatabase, replica: ScratchDatabase): Promise<string[]> {
  const rows = [...(await tracking(main, 'main')), ...(await tracking(replica, 'replica'))].filter((row) => row.status === 'completed');
  return rows.sort((a, b) => a.finished_at!.getTime() - b.finished_at!.getTime()).map((row) => `${row.target}:${row.id}`);
}

async function project(state: TestbedState, main: ScratchDatabase, replica: ScratchDatabase, strategy: 'manual' | 'pre_deploy' = 'manual'): Promise<MigrateProject> {
  const created = await MigrateProject.create(
    {
      service: uniqueService('pf'),
      proxyPort: 8402,
      app: 'raw-sql',
      hosts: [PRIMARY],
      databases: {
        main: { url: main.url, engine: 'raw', path: 'db/main', strategy },
        replica: { url: replica.url, engine: 'raw', path: 'db/replica', strategy },
      },
      orchestration: { plan: PLAN },
    },
    state,
  );
  for (const [file, sql] of Object.entries(FILES)) await created.writeFile(file, sql);
  return created;
}

describe('orchestration.plan across two raw databases', () => {
  let state: TestbedState;
  let databases: ScratchDatabase[] = [];
  const projects: MigrateProject[] = [];

  beforeAll(async () => {
    state = readTestbedState();
    databases = await Promise.all(['e2em_pf_main', 'e2em_pf_replica', 'e2em_pf_fmain', 'e2em_pf_freplica', 'e2em_pf_dmain', 'e2em_pf_dreplica'].map((prefix) => scratchDatabase(state, prefix)));
  });

  afterAll(async () => {
    for (const created of projects) await created.cleanup();
    for (const db of databases) await db.drop();
  });

  it('migrate validate reports an unknown migration, an entry listed twice and a left-out migration with file:line (exit 1)', async () => {
    const [main, replica] = databases;
    const created = await project(state, main!, replica!);
    projects.push(created);
    await created.writeFile(PLAN, ['# interleaved', 'main:0001_pf_publisher', 'replica:0001_pf_base', 'replica:0009_pf_nope', 'main:0001_pf_publisher', ''].join('\n'));
    const result = await created.run('migrate', 'validate');
    expect(result.exitCode).toBe(1);
    const lines = result.stdout.split('\n').filter((line) => line.startsWith(`${PLAN}:`));
    expect(lines).toEqual([
      `${PLAN}:2: main: the plan leaves out 0003_pf_orders (every migration of a listed database must be in the plan)`,
      `${PLAN}:3: replica: the plan leaves out 0002_pf_subscriber (every migration of a listed database must be in the plan)`,
      `${PLAN}:4: unknown migration "0009_pf_nope" in replica`,
      `${PLAN}:5: main:0001_pf_publisher is listed twice (first on line 2)`,
    ]);
    // A run refuses the same file before touching anything.
    const run = await created.run('migrate', 'run', '--yes');
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(`${PLAN}:4: unknown migration "0009_pf_nope" in replica`);
    expect(await main!.query("SELECT to_regclass('stagecraft_migrations') AS t")).toEqual([{ t: null }]);
  });

  it('applies the interleaved plan in its order across both databases; a rerun applies nothing', async () => {
    const [main, replica] = databases;
    const created = projects[0]!;
    await created.writeFile(PLAN, ['# interleaved: comments and blank lines are fine', ...ORDER.slice(0, 2), '', ...ORDER.slice(2), ''].join('\n'));
    const validate = await created.run('migrate', 'validate');
    expect(validate.stdout).toContain(`${PLAN}: 4 entries, no problem`);
    expect(validate.exitCode).toBe(0);

    const run = await created.run('migrate', 'run', '--yes');
    expect(run.exitCode, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toContain(`${PLAN}: starts at line 2 (main:0001_pf_publisher)`);
    expect(await finishedOrder(main!, replica!)).toEqual(ORDER);

    const plan = JSON.parse((await created.run('migrate', 'plan', '--json')).stdout) as { databases: unknown[]; orchestration: { file: string; entries: unknown[]; resume_line: number | null } };
    expect(plan.databases).toHaveLength(2);
    expect(plan.orchestration).toMatchObject({
      file: PLAN,
      resume_line: null,
      entries: [
        { line: 2, target: 'main', migration: '0001_pf_publisher', state: 'applied' },
        { line: 3, target: 'replica', migration: '0001_pf_base', state: 'applied' },
        { line: 5, target: 'replica', migration: '0002_pf_subscriber', state: 'applied' },
        { line: 6, target: 'main', migration: '0003_pf_orders', state: 'applied' },
      ],
    });

    const before = [...(await tracking(main!, 'main')), ...(await tracking(replica!, 'replica'))];
    const again = await created.run('migrate', 'run', '--yes');
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain(`${PLAN}: every entry is applied`);
    expect([...(await tracking(main!, 'main')), ...(await tracking(replica!, 'replica'))]).toEqual(before);
  });

  it('a failure on the third line stops there (exit 4 naming line and target); after the fix a rerun resumes at that line', async () => {
    const [, , main, replica] = databases;
    const created = await project(state, main!, replica!);
    projects.push(created);
    await created.writeFile(PLAN, `${ORDER.join('\n')}\n`);
    await created.writeFile('db/replica/0002_pf_subscriber.sql', 'CREATE TABLE pf_subscriber (id int PRIMARY KEY REFERENCES pf_missing (id));\n');

    const run = await created.run('migrate', 'run', '--yes');
    expect(run.exitCode).toBe(4);
    expect(run.stderr).toMatch(new RegExp(`${PLAN}:3: replica: 0002_pf_subscriber failed: .*pf_missing`));
    expect(await finishedOrder(main!, replica!)).toEqual(ORDER.slice(0, 2));
    expect((await tracking(replica!, 'replica')).map((row) => [row.id, row.status])).toEqual([
      ['0001_pf_base', 'completed'],
      ['0002_pf_subscriber', 'failed'],
    ]);
    expect((await tracking(main!, 'main')).map((row) => row.id)).toEqual(['0001_pf_publisher']);

    const listed = await created.run('migrate', 'plan');
    expect(listed.exitCode).toBe(0);
    expect(listed.stdout).toMatch(/ {3}3 {2}replica:0002_pf_subscriber +failed {2}<- a run starts here/);
    expect(listed.stdout).toMatch(/ {3}4 {2}main:0003_pf_orders +pending/);

    const applied = [...(await tracking(main!, 'main')), ...(await tracking(replica!, 'replica'))].filter((row) => row.status === 'completed');
    await created.writeFile('db/replica/0002_pf_subscriber.sql', FILES['db/replica/0002_pf_subscriber.sql']!);
    const rerun = await created.run('migrate', 'run', '--yes');
    expect(rerun.exitCode, rerun.stderr + rerun.stdout).toBe(0);
    expect(rerun.stdout).toContain(`${PLAN}: starts at line 3 (replica:0002_pf_subscriber)`);
    expect(await finishedOrder(main!, replica!)).toEqual(ORDER);
    // The entries before line 3 did not run again.
    const after = [...(await tracking(main!, 'main')), ...(await tracking(replica!, 'replica'))];
    for (const row of applied) expect(after.find((other) => other.target === row.target && other.id === row.id)).toEqual(row);
  });

  it("deploy's migrate_pre applies the plan file's order: a failure on line 3 fails the deploy (exit 4 naming it), the next deploy resumes there", async () => {
    const [, , , , main, replica] = databases;
    const created = await project(state, main!, replica!, 'pre_deploy');
    projects.push(created);
    await created.writeFile(PLAN, `${ORDER.join('\n')}\n`);
    await created.writeFile('db/replica/0002_pf_subscriber.sql', 'CREATE TABLE pf_subscriber (id int PRIMARY KEY REFERENCES pf_missing (id));\n');

    const first = await created.run('deploy', '--version', 'v1');
    expect(first.exitCode, first.stderr + first.stdout).toBe(4);
    expect(first.stderr + first.stdout).toMatch(new RegExp(`migrate_pre: ${PLAN}:3: replica: 0002_pf_subscriber failed: .*pf_missing`));
    expect(await finishedOrder(main!, replica!)).toEqual(ORDER.slice(0, 2));

    await created.writeFile('db/replica/0002_pf_subscriber.sql', FILES['db/replica/0002_pf_subscriber.sql']!);
    const second = await created.run('deploy', '--version', 'v2');
    expect(second.exitCode, second.stderr + second.stdout).toBe(0);
    expect(second.stdout + second.stderr).toContain(`${PLAN}: starts at line 3`);
    expect(await finishedOrder(main!, replica!)).toEqual(ORDER);
    const release = await created.lastRelease();
    // One record per entry run, in the file's order.
    expect(release.migrations.map((record) => `${record.database}:${record.applied.join(',')}`)).toEqual(ORDER.slice(2));
  });
});
