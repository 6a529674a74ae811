/**
 * A raw migration that needs a lock another session holds (a long read transaction on the table)
 * gives up after the statement lock timeout instead of queueing every query of that table behind
 * itself, retries with a pause, and says each try; meanwhile the table's readers keep getting
 * answers. When the other session lets go during the retries, the migration goes through.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { readTestbedState } from './helpers/testbed-state.js';
import type { TestbedState } from './helpers/testbed-state.js';
import { MigrateProject, scratchDatabase, uniqueService } from './helpers/migrate-project.js';
import type { ScratchDatabase } from './helpers/migrate-project.js';

const PRIMARY = '10.201.0.12';

describe('statement lock timeout and retries (raw)', () => {
  let state: TestbedState;
  let project: MigrateProject;
  let db: ScratchDatabase;

  beforeAll(async () => {
    state = readTestbedState();
    db = await scratchDatabase(state, 'e2em_locktimeout');
    project = await MigrateProject.create(
      {
        service: uniqueService('lockto'),
        proxyPort: 8374,
        app: 'raw-sql',
        hosts: [PRIMARY],
        databases: { busy: { url: db.url, engine: 'raw', path: 'db/busy', strategy: 'manual', statement_lock_timeout: '1s', lock_retries: 2 } },
      },
      state,
    );
    await project.writeFile('db/busy/0001_accounts.sql', "CREATE TABLE accounts (id int PRIMARY KEY, name text);\nINSERT INTO accounts VALUES (1, 'ada'), (2, 'grace');\n");
    const first = await project.run('migrate', 'run');
    expect(first.exitCode, first.stdout + first.stderr).toBe(0);
    await project.writeFile('db/busy/0002_account_note.sql', 'ALTER TABLE accounts ADD COLUMN note text;\n');
  });

  afterAll(async () => {
    await project?.cleanup();
    await db?.drop();
  });

  /** A session that reads the table in an open transaction: it holds a lock ALTER TABLE must wait for. */
  async function longReader(): Promise<{ release: () => Promise<void> }> {
    const client = new pg.Client({ connectionString: db.localUrl, application_name: 'e2e long reader' });
    await client.connect();
    await client.query('BEGIN');
    await client.query('SELECT count(*) FROM accounts');
    return {
      release: async () => {
        await client.query('COMMIT');
        await client.end();
      },
    };
  }

  /** The app's reads: one query after another until stopped; each must answer within 3 s. */
  function appReads(): { stop: () => Promise<{ answered: number; failed: string[] }> } {
    let running = true;
    const failed: string[] = [];
    let answered = 0;
    const loop = (async () => {
      const client = new pg.Client({ connectionString: db.localUrl, application_name: 'e2e app reads', statement_timeout: 3000 });
      await client.connect();
      try {
        while (running) {
          try {
            await client.query('SELECT id, name FROM accounts ORDER BY id');
            answered++;
          } catch (error) {
            failed.push((error as Error).message);
          }
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      } finally {
        await client.end();
      }
    })();
    return {
      stop: async () => {
        running = false;
        await loop;
        return { answered, failed };
      },
    };
  }

  it('gives up after each lock timeout, retries twice, fails with exit 4 naming the file; the app keeps answering', async () => {
    const reader = await longReader();
    const app = appReads();
    try {
      const result = await project.run('migrate', 'run');
      const output = result.stdout + result.stderr;
      expect(result.exitCode, output).toBe(4);
      expect(output).toContain('0002_account_note.sql: canceling statement due to lock timeout after waiting 1s for a lock another session holds; try 2 of 3 in 1s');
      expect(output).toContain('try 3 of 3 in 2s');
      expect(output).toContain('0002_account_note.sql: canceling statement due to lock timeout (gave up after 3 tries)');
    } finally {
      await reader.release();
    }
    const reads = await app.stop();
    expect(reads.failed, 'no read of the table failed or waited past 3 s').toEqual([]);
    expect(reads.answered).toBeGreaterThan(10);
    expect(await db.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'note'")).toEqual([]);
    const rows = await db.query<{ id: string; status: string }>('SELECT id, status FROM stagecraft_migrations ORDER BY id');
    expect(rows).toEqual([
      { id: '0001_accounts', status: 'completed' },
      { id: '0002_account_note', status: 'failed' },
    ]);
  });

  it('goes through on a retry once the other session lets go', async () => {
    const reader = await longReader();
    let released = false;
    try {
      const { child } = await project.startUntil(['migrate', 'run'], 'try 2 of 3');
      await reader.release();
      released = true;
      const result = await child;
      expect(result.exitCode, String(result.stdout) + String(result.stderr)).toBe(0);
      expect(String(result.stdout)).toContain('busy: completed; 1 applied (0002_account_note)');
    } finally {
      if (!released) await reader.release();
    }
    expect(await db.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'note'")).toEqual([{ column_name: 'note' }]);
  });
});
