/**
 * Raw engine execution tracking through the real built CLI on the testbed's PostgreSQL:
 * a tracking table of the previous stagecraft upgraded in place (nothing lost, nothing drifted),
 * the history table, and the dirty state a `migrate run` killed with SIGKILL leaves behind while
 * it applies a no-transaction file (plan shows it, run refuses with exit 4, resolve clears it),
 * whereas a transactional file killed the same way leaves nothing.
 *
 * The killed migration waits on an advisory lock the test holds (the "gate"), found in pg_locks.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { LOCK_CLASS_ID } from '../../src/migrate/raw/advisory-lock.js';
import { readTestbedState } from './helpers/testbed-state.js';
import type { TestbedState } from './helpers/testbed-state.js';
import { MigrateProject, databaseIn, scratchDatabase, uniqueService } from './helpers/migrate-project.js';
import type { ScratchDatabase } from './helpers/migrate-project.js';
import { waitUntil } from '../helpers/wait.js';

const PRIMARY = '10.201.0.11';
const GATE = [4343, 11] as const;

/** The table exactly as stagecraft created it before execution tracking (git show ce4cf4b:src/migrate/raw/tracking.ts). */
const OLD_DDL = `
CREATE TABLE IF NOT EXISTS stagecraft_migrations (
  id text PRIMARY KEY,
  checksum text NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed', 'rolled_back')),
  started_at timestamptz,
  finished_at timestamptz,
  duration_ms integer,
  executed_by text NOT NULL,
  environment text NOT NULL,
  error text
)`;

const UP_FILES: Record<string, string> = {
  'db/up/0001_trk_users.sql': 'CREATE TABLE trk_users (id bigserial PRIMARY KEY, name text NOT NULL);\n',
  'db/up/0002_trk_users_email.sql': 'ALTER TABLE trk_users ADD COLUMN email text;\n',
};
const UP_NEW = { 'db/up/0003_trk_users_index.sql': '-- stagecraft:depends-on 0002_trk_users_email\nCREATE INDEX trk_users_email ON trk_users (email);\n' };

const DIRTY_FILES: Record<string, string> = {
  'db/dirty/0001_trk_things.sql': 'CREATE TABLE trk_things (id int);\n',
  'db/dirty/0002_trk_gate.sql': `-- stagecraft:no-transaction\nCREATE TABLE trk_gated (id int);\nSELECT pg_advisory_lock(${GATE[0]}, ${GATE[1]});\n`,
  'db/dirty/0003_trk_after.sql': 'ALTER TABLE trk_things ADD COLUMN note text;\n',
};

const TX_FILES: Record<string, string> = {
  'db/tx/0001_trk_tx_gate.sql': `CREATE TABLE trk_tx (id int);\nSELECT pg_advisory_xact_lock(${GATE[0]}, ${GATE[1]});\n`,
};

describe('raw execution tracking: upgrade in place, history, dirty state', () => {
  let state: TestbedState;
  let project: MigrateProject;
  let up: ScratchDatabase;
  let dirty: ScratchDatabase;
  let tx: ScratchDatabase;
  let dep: ScratchDatabase;

  beforeAll(async () => {
    state = readTestbedState();
    [up, dirty, tx, dep] = await Promise.all([
      scratchDatabase(state, 'e2em_trk_up'),
      scratchDatabase(state, 'e2em_trk_dirty'),
      scratchDatabase(state, 'e2em_trk_tx'),
      scratchDatabase(state, 'e2em_trk_dep'),
    ]);
    project = await MigrateProject.create(
      {
        service: uniqueService('trk'),
        proxyPort: 8368,
        app: 'raw-sql',
        hosts: [PRIMARY],
        databases: {
          up: { url: up.url, engine: 'raw', path: 'db/up', strategy: 'manual' },
          // The gates are locks the test holds on purpose: migrations wait for them without a lock timeout.
          dirty: { url: dirty.url, engine: 'raw', path: 'db/dirty', strategy: 'manual', lock_timeout: '5s', statement_lock_timeout: '0s' },
          tx: { url: tx.url, engine: 'raw', path: 'db/tx', strategy: 'manual', statement_lock_timeout: '0s' },
          dep: { url: dep.url, engine: 'raw', path: 'db/dep', strategy: 'pre_deploy' },
        },
      },
      state,
    );
    for (const [file, sql] of Object.entries({ ...UP_FILES, ...DIRTY_FILES, ...TX_FILES })) await project.writeFile(file, sql);
    await project.writeFile('db/dep/0001_trk_dep.sql', 'CREATE TABLE trk_dep (id int);\n');
  });

  afterAll(async () => {
    await project?.cleanup();
    await Promise.all([up, dirty, tx, dep].map((db) => db?.drop()));
  });

  async function closeGate(db: ScratchDatabase): Promise<{ open: () => Promise<void> }> {
    const client = new pg.Client({ connectionString: db.localUrl, application_name: 'e2e gate' });
    await client.connect();
    await client.query('SELECT pg_advisory_lock($1, $2)', [...GATE]);
    return { open: () => client.end() };
  }

  async function waitingAtGate(db: ScratchDatabase): Promise<number> {
    const rows = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_locks WHERE locktype = $1 AND NOT granted AND classid = $2 AND objid = $3', ['advisory', GATE[0], GATE[1]]);
    return rows[0]!.n;
  }

  async function migrationLockHeld(db: ScratchDatabase): Promise<boolean> {
    return (await db.query('SELECT 1 FROM pg_locks WHERE locktype = $1 AND classid = $2', ['advisory', LOCK_CLASS_ID])).length > 0;
  }

  /** SIGKILLs `migrate run --database NAME` while its migration waits at the gate; returns once the gate is open and nothing waits. */
  async function killAtGate(db: ScratchDatabase, database: string): Promise<void> {
    const gate = await closeGate(db);
    try {
      const child = project.start(['migrate', 'run', '--database', database]);
      let exited: string | undefined;
      void child.then((result) => {
        exited = `exited ${result.exitCode}: ${String(result.stdout)}${String(result.stderr)}`;
      });
      await waitUntil(
        'the migration to wait at the gate',
        async () => {
          if (exited !== undefined && exited.startsWith('exited ')) throw new Error(`migrate run ${exited}`);
          return (await waitingAtGate(db)) === 1;
        },
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      child.kill('SIGKILL');
      const result = await child;
      expect(result.signal).toBe('SIGKILL');
      // The lock connection was idle: its backend ends with the dead process, and the migration lock with it.
      await waitUntil('the migration lock to be free', async () => !(await migrationLockHeld(db)), { timeoutMs: 30_000, intervalMs: 100 });
    } finally {
      await gate.open();
    }
    // The blocked backend gets the gate, finds its client gone and ends.
    await waitUntil('nothing waits at the gate', async () => (await waitingAtGate(db)) === 0, { timeoutMs: 30_000, intervalMs: 100 });
    // SIGKILL leaves the deploy lock file behind: the operator releases it.
    const released = await project.run('lock', 'release');
    expect(released.exitCode, released.stdout + released.stderr).toBe(0);
  }

  it('a table written by the previous stagecraft is upgraded in place: every migration still applied, none drifted', async () => {
    // As the old code did: its DDL, each file's SQL, a completed row with the file's sha256.
    await up.query(OLD_DDL);
    for (const [path, sql] of Object.entries(UP_FILES)) {
      const id = path.split('/').pop()!.replace(/\.sql$/, '');
      await up.query(sql);
      await up.query(
        `INSERT INTO stagecraft_migrations (id, checksum, status, started_at, finished_at, duration_ms, executed_by, environment, error)
         VALUES ($1, $2, 'completed', now(), now(), 7, 'old-stagecraft', 'e2e', NULL)`,
        [id, createHash('sha256').update(sql).digest('hex')],
      );
    }
    for (const [file, sql] of Object.entries(UP_NEW)) await project.writeFile(file, sql);

    const status = await project.run('migrate', 'status', '--database', 'up', '--json');
    expect(status.exitCode, status.stderr).toBe(0);
    const before = JSON.parse(status.stdout).databases[0];
    expect(before).toMatchObject({ engine: 'raw', tables: { tracking: true, history: false }, counts: { applied: 2, pending: 1, drifted: 0, dirty: 0 } });
    const noHistory = await project.run('migrate', 'history', '--database', 'up');
    expect(noHistory.exitCode).toBe(0);
    expect(noHistory.stdout).toContain('stagecraft_migration_history does not exist');
    // status and history are read-only
    expect(await up.query("SELECT to_regclass('stagecraft_migration_history') AS t")).toEqual([{ t: null }]);

    const run = await project.run('migrate', 'run', '--database', 'up');
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);

    const plan = await project.plan('--database', 'up');
    expect(databaseIn(plan, 'up').migrations.map((m) => [m.id, m.state])).toEqual([
      ['0001_trk_users', 'applied'],
      ['0002_trk_users_email', 'applied'],
      ['0003_trk_users_index', 'applied'],
    ]);
    const rows = await up.query<{ id: string; executed_by: string; duration_ms: number; dependencies: string[] | null; metadata: { release_id: string | null } | null }>(
      'SELECT id, executed_by, duration_ms, dependencies, metadata FROM stagecraft_migrations ORDER BY id',
    );
    expect(rows.slice(0, 2)).toEqual([
      { id: '0001_trk_users', executed_by: 'old-stagecraft', duration_ms: 7, dependencies: null, metadata: null },
      { id: '0002_trk_users_email', executed_by: 'old-stagecraft', duration_ms: 7, dependencies: null, metadata: null },
    ]);
    expect(rows[2]).toMatchObject({ id: '0003_trk_users_index', dependencies: ['0002_trk_users_email'], metadata: { release_id: null } });
    const history = await up.query<{ migration_id: string; event: string }>('SELECT migration_id, event FROM stagecraft_migration_history ORDER BY id');
    expect(history).toEqual([
      { migration_id: '0003_trk_users_index', event: 'started' },
      { migration_id: '0003_trk_users_index', event: 'completed' },
    ]);
    const shown = await project.run('migrate', 'history', '--database', 'up', '--json');
    expect(JSON.parse(shown.stdout).databases[0].events.map((e: { event: string }) => e.event)).toEqual(['completed', 'started']);
  });

  it('SIGKILL while a no-transaction file runs: dirty in plan and status, run exits 4 naming it, resolve clears it, run proceeds', async () => {
    await killAtGate(dirty, 'dirty');

    const plan = await project.plan('--database', 'dirty');
    const database = databaseIn(plan, 'dirty') as ReturnType<typeof databaseIn> & { dirty?: boolean; blocked?: string };
    expect(database.dirty).toBe(true);
    expect(database.migrations.find((m) => m.id === '0002_trk_gate')).toMatchObject({ dirty: true });
    expect(database.blocked).toContain('dirty: 0002_trk_gate');

    const status = await project.run('migrate', 'status', '--database', 'dirty', '--json');
    expect(JSON.parse(status.stdout).databases[0]).toMatchObject({ dirty: true, counts: { applied: 1, dirty: 1 }, lock_holder: null });

    const refused = await project.run('migrate', 'run', '--database', 'dirty');
    expect(refused.exitCode, refused.stdout + refused.stderr).toBe(4);
    expect(refused.stderr).toContain('0002_trk_gate');
    expect(refused.stderr).toContain('stagecraft migrate resolve --env e2e --database dirty 0002_trk_gate --applied');

    const resolved = await project.run('migrate', 'resolve', '--database', 'dirty', '0002_trk_gate', '--applied');
    expect(resolved.exitCode, resolved.stdout + resolved.stderr).toBe(0);
    const again = await project.run('migrate', 'resolve', '--database', 'dirty', '0002_trk_gate', '--rolled-back');
    expect(again.exitCode, 'only a dirty migration is resolved').toBe(1);

    const run = await project.run('migrate', 'run', '--database', 'dirty');
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('applied 0003_trk_after.sql');
    const rows = await dirty.query<{ id: string; status: string }>('SELECT id, status FROM stagecraft_migrations ORDER BY id');
    expect(rows).toEqual([
      { id: '0001_trk_things', status: 'completed' },
      { id: '0002_trk_gate', status: 'completed' },
      { id: '0003_trk_after', status: 'completed' },
    ]);
    const events = await dirty.query<{ migration_id: string; event: string }>("SELECT migration_id, event FROM stagecraft_migration_history WHERE migration_id = '0002_trk_gate' ORDER BY id");
    expect(events.map((e) => e.event)).toEqual(['started', 'resolved']);
  });

  it('SIGKILL while a transactional file runs: neither its changes nor a dirty row; the next run applies it', async () => {
    await killAtGate(tx, 'tx');
    expect(await tx.query("SELECT to_regclass('trk_tx') AS t")).toEqual([{ t: null }]);
    expect(await tx.query("SELECT id FROM stagecraft_migrations WHERE status = 'running'")).toEqual([]);
    const plan = await project.plan('--database', 'tx');
    expect(databaseIn(plan, 'tx').migrations).toEqual([expect.objectContaining({ id: '0001_trk_tx_gate', state: 'pending' })]);
    const run = await project.run('migrate', 'run', '--database', 'tx');
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
  });

  it('a deploy records its release id in the row metadata and the history', async () => {
    const result = await project.run('deploy', '--version', 'v1');
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    const release = await project.lastRelease();
    const rows = await dep.query<{ id: string; status: string; metadata: { release_id: string | null } }>('SELECT id, status, metadata FROM stagecraft_migrations');
    expect(rows).toEqual([{ id: '0001_trk_dep', status: 'completed', metadata: { release_id: release.id } }]);
    const history = await dep.query<{ event: string; release_id: string | null }>('SELECT event, release_id FROM stagecraft_migration_history ORDER BY id');
    expect(history).toEqual([
      { event: 'started', release_id: release.id },
      { event: 'completed', release_id: release.id },
    ]);
    const status = await project.run('migrate', 'status', '--database', 'dep', '--json');
    expect(JSON.parse(status.stdout).databases[0].last_execution).toMatchObject({ migration: '0001_trk_dep', event: 'completed', release_id: release.id });
  });
});
