/**
 * Ctrl-C (SIGINT) and SIGTERM while a command holds or waits for the deploy lock, through the real
 * built CLI: the raw engine's running migration is cancelled and rolled back, the deploy lock file
 * is gone from the primary host (read over SSH), the migration advisory lock is free, the command
 * exits 130 saying what was and was not applied, and the next run applies the rest.
 *
 * The slow migration waits on an advisory lock the test holds (the "gate"): the test knows exactly
 * when it is running (its backend waits on that lock in pg_locks) and lets the next run through.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { LOCK_CLASS_ID } from '../../src/migrate/raw/advisory-lock.js';
import { deployLockFile } from './helpers/project.js';
import { readTestbedState } from './helpers/testbed-state.js';
import type { TestbedState } from './helpers/testbed-state.js';
import { MigrateProject, scratchDatabase, uniqueService } from './helpers/migrate-project.js';
import type { ScratchDatabase } from './helpers/migrate-project.js';
import { waitUntil } from '../helpers/wait.js';

const PRIMARY = '10.201.0.13';
const GATE = [4242, 7] as const;

const FILES = {
  'db/intr/0001_things.sql': 'CREATE TABLE intr_things (id bigserial PRIMARY KEY, name text NOT NULL);\n',
  'db/intr/0002_gate.sql': `CREATE TABLE intr_gated (id int);\nSELECT pg_advisory_xact_lock(${GATE[0]}, ${GATE[1]});\n`,
  'db/intr/0003_after.sql': 'ALTER TABLE intr_things ADD COLUMN note text;\n',
  'db/intr/0003_after.down.sql': `SELECT pg_advisory_xact_lock(${GATE[0]}, ${GATE[1]});\nALTER TABLE intr_things DROP COLUMN note;\n`,
};

describe('interrupting commands that hold the deploy lock', () => {
  let state: TestbedState;
  let project: MigrateProject;
  let db: ScratchDatabase;

  beforeAll(async () => {
    state = readTestbedState();
    db = await scratchDatabase(state, 'e2em_intr');
    project = await MigrateProject.create(
      {
        service: uniqueService('intr'),
        proxyPort: 8362,
        app: 'raw-sql',
        hosts: [PRIMARY],
        // The gate is a lock the test holds on purpose: the migration waits for it without a lock timeout.
        databases: { app: { url: db.url, engine: 'raw', path: 'db/intr', strategy: 'manual', statement_lock_timeout: '0s' } },
      },
      state,
    );
    for (const [file, sql] of Object.entries(FILES)) await project.writeFile(file, sql);
  });

  afterAll(async () => {
    await project?.cleanup();
    await db?.drop();
  });

  /** Holds the gate on a connection of the test's own until `open()`. */
  async function closeGate(): Promise<{ open: () => Promise<void> }> {
    const client = new pg.Client({ connectionString: db.localUrl, application_name: 'e2e gate' });
    await client.connect();
    await client.query('SELECT pg_advisory_lock($1, $2)', [...GATE]);
    return { open: () => client.end() };
  }

  /** Sessions waiting for the gate (a migration blocked on it). */
  async function waitingAtGate(): Promise<number> {
    const rows = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_locks WHERE locktype = $1 AND NOT granted AND classid = $2 AND objid = $3', ['advisory', GATE[0], GATE[1]]);
    return rows[0]!.n;
  }

  async function migrationLockHeld(): Promise<boolean> {
    const rows = await db.query('SELECT 1 FROM pg_locks WHERE locktype = $1 AND classid = $2', ['advisory', LOCK_CLASS_ID]);
    return rows.length > 0;
  }

  const startUntil = (args: string[], text: string) => project.startUntil(args, text);

  async function lockFile(): Promise<string | undefined> {
    return deployLockFile(state, PRIMARY, project.service, 'e2e');
  }

  it('SIGINT during `migrate run`: exit 130, the running migration rolled back and not recorded as applied, both locks free; the next run applies the rest', async () => {
    const gate = await closeGate();
    try {
      const { child } = await startUntil(['migrate', 'run', '--database', 'app'], 'applying 0002_gate.sql');
      await waitUntil('the migration to wait at the gate', async () => (await waitingAtGate()) === 1, { timeoutMs: 30_000, intervalMs: 100 });
      expect(await lockFile(), 'the run holds the deploy lock').toContain('"command":"migrate run"');

      const sent = Date.now();
      child.kill('SIGINT');
      const result = await child;
      expect(Date.now() - sent, 'stops promptly, without waiting for the migration').toBeLessThan(15_000);
      expect(result.exitCode, String(result.stderr)).toBe(130);
      const stderr = String(result.stderr);
      expect(stderr).toContain('error: interrupted by SIGINT: app: applied 0001_things; 0002_gate.sql: interrupted by SIGINT: statement cancelled, its transaction rolled back; not run: 0003_after');
      expect(stderr).toContain('the deploy lock was released');

      expect(await lockFile(), 'deploy lock file on the primary host').toBeUndefined();
      expect(await migrationLockHeld(), 'migration advisory lock').toBe(false);
      expect(await waitingAtGate(), 'no backend still running the cancelled statement').toBe(0);
      expect(await db.query('SELECT id, status FROM stagecraft_migrations ORDER BY id')).toEqual([
        { id: '0001_things', status: 'completed' },
        { id: '0002_gate', status: 'failed' },
      ]);
      expect(await db.query("SELECT to_regclass('intr_gated') AS t"), 'the interrupted transaction was rolled back').toEqual([{ t: null }]);
    } finally {
      await gate.open();
    }

    const again = await project.run('migrate', 'run', '--database', 'app');
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain('app: completed; 2 applied (0002_gate, 0003_after)');
    expect(await db.query('SELECT id, status FROM stagecraft_migrations ORDER BY id')).toEqual([
      { id: '0001_things', status: 'completed' },
      { id: '0002_gate', status: 'completed' },
      { id: '0003_after', status: 'completed' },
    ]);
  });

  it('SIGTERM during `migrate rollback`: exit 130, nothing rolled back, both locks free', async () => {
    const gate = await closeGate();
    try {
      const { child } = await startUntil(['migrate', 'rollback', '--database', 'app'], 'reverting 0003_after.sql');
      await waitUntil('the down file to wait at the gate', async () => (await waitingAtGate()) === 1, { timeoutMs: 30_000, intervalMs: 100 });
      child.kill('SIGTERM');
      const result = await child;
      expect(result.exitCode, String(result.stderr)).toBe(130);
      expect(String(result.stderr)).toContain('error: interrupted by SIGTERM: app: nothing rolled back; 0003_after.down.sql: interrupted by SIGTERM: statement cancelled, its transaction rolled back');
      expect(await lockFile(), 'deploy lock file on the primary host').toBeUndefined();
      expect(await migrationLockHeld(), 'migration advisory lock').toBe(false);
      expect(await db.query("SELECT status FROM stagecraft_migrations WHERE id = '0003_after'")).toEqual([{ status: 'completed' }]);
      expect(await db.query("SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'intr_things' AND column_name = 'note'")).toEqual([{ n: 1 }]);
    } finally {
      await gate.open();
    }
  });

  it('SIGINT while `lock acquire --lock-wait` waits: exit 130, the holder keeps the lock', async () => {
    const held = await project.run('lock', 'acquire', '-m', 'first holder');
    expect(held.exitCode, held.stderr).toBe(0);
    try {
      const { child } = await startUntil(['lock', 'acquire', '-m', 'second', '--lock-wait', '5m'], 'waiting up to 300s for the deploy lock');
      child.kill('SIGINT');
      const result = await child;
      expect(result.exitCode, String(result.stderr)).toBe(130);
      expect(String(result.stderr)).toContain('interrupted by SIGINT while waiting for the deploy lock');
      expect(JSON.parse((await lockFile())!)).toMatchObject({ message: 'first holder' });
    } finally {
      expect((await project.run('lock', 'release')).exitCode).toBe(0);
    }
    expect(await lockFile()).toBeUndefined();
  });
});
