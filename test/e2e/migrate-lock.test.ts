/**
 * Concurrency: a migration run meets the deploy lock first (`migrate run` holds it like a deploy),
 * then the database's advisory lock. These tests prove both, and that nothing is applied twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { LocalHost } from '../../src/remote/local-host.js';
import { rawEngine } from '../../src/migrate/engines/raw.js';
import type { EngineTarget, RunOutcome } from '../../src/migrate/types.js';
import { LOCK_CLASS_ID, LOCK_OBJECT_ID } from '../../src/migrate/raw/advisory-lock.js';
import { deployLockFile } from './helpers/project.js';
import { readTestbedState } from './helpers/testbed-state.js';
import type { TestbedState } from './helpers/testbed-state.js';
import { MigrateProject, scratchDatabase, suitePort, uniqueService } from './helpers/migrate-project.js';
import type { ScratchDatabase } from './helpers/migrate-project.js';

const SLOW = {
  'db/slow/0001_create_jobs.sql': 'CREATE TABLE jobs (id bigserial PRIMARY KEY, name text NOT NULL);\nSELECT pg_sleep(1);\n',
  'db/slow/0002_seed_jobs.sql': "INSERT INTO jobs (name) VALUES ('first');\n",
  'db/slow/0003_jobs_done.sql': 'ALTER TABLE jobs ADD COLUMN done boolean NOT NULL DEFAULT false;\n',
};

const PRIMARY = '10.201.0.11';

describe('migration locks', () => {
  let state: TestbedState;
  let project: MigrateProject;
  let app: ScratchDatabase;
  let slow: ScratchDatabase;

  beforeAll(async () => {
    state = readTestbedState();
    [app, slow] = await Promise.all([scratchDatabase(state, 'e2em_lock_app'), scratchDatabase(state, 'e2em_lock_slow')]);
    project = await MigrateProject.create(
      {
        service: uniqueService('lock'),
        proxyPort: suitePort(40),
        app: 'raw-sql',
        hosts: [PRIMARY],
        databases: {
          app: { url: app.url, engine: 'raw', path: 'db/app', strategy: 'manual' },
          slow: { url: slow.url, engine: 'raw', path: 'db/slow', strategy: 'manual' },
          // Nothing listens on port 1 of the primary host: connecting is refused at once.
          gone: { url: 'postgres://e2e_gone:gone-pw-0f3a@127.0.0.1:1/gone', engine: 'raw', path: 'db/app', strategy: 'manual' },
        },
      },
      state,
    );
    for (const [file, sql] of Object.entries(SLOW)) await project.writeFile(file, sql);
  });

  afterAll(async () => {
    await project?.cleanup();
    await Promise.all([app, slow].map((db) => db?.drop()));
  });

  /** The CLI says the deploy lock is free, and the primary host has no lock file. */
  async function expectDeployLockFree(): Promise<void> {
    expect((await project.run('lock', 'status')).stdout).toContain('not locked');
    expect(await deployLockFile(state, PRIMARY, project.service, 'e2e'), 'lock file on the primary host').toBeUndefined();
  }

  async function holdAdvisoryLock(db: ScratchDatabase): Promise<{ pid: number; release: () => Promise<void> }> {
    const client = new pg.Client({ connectionString: db.localUrl, application_name: 'e2e lock holder' });
    await client.connect();
    await client.query('SELECT pg_advisory_lock($1, $2)', [LOCK_CLASS_ID, LOCK_OBJECT_ID]);
    const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    return { pid, release: () => client.end() };
  }

  it('a run that cannot get the advisory lock in --lock-timeout fails naming the holder, and changes nothing', async () => {
    const holder = await holdAdvisoryLock(app);
    try {
      const result = await project.run('migrate', 'run', '--database', 'app', '--lock-timeout', '1s');
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain(`the migration lock is held by pid ${holder.pid}, application "e2e lock holder"`);
      expect(await app.query("SELECT to_regclass('stagecraft_migrations') AS t")).toEqual([{ t: null }]);
      // The deploy lock was released on the way out: a second run is not refused by it.
      await expectDeployLockFree();
    } finally {
      await holder.release();
    }
  });

  it('migrate run while the deploy lock is held is refused (exit 2) naming the holder, and changes nothing', async () => {
    const acquired = await project.run('lock', 'acquire', '-m', 'schema freeze');
    expect(acquired.exitCode, acquired.stderr).toBe(0);
    try {
      const result = await project.run('migrate', 'run', '--database', 'app');
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toMatch(/deploy lock for .* is held by .*message: "schema freeze"/);
      expect(await app.query("SELECT to_regclass('stagecraft_migrations') AS t")).toEqual([{ t: null }]);
    } finally {
      expect((await project.run('lock', 'release')).exitCode).toBe(0);
    }
    await expectDeployLockFree();
  });

  it('an unknown --database is a usage error (exit 1) listing the configured ones', async () => {
    const result = await project.run('migrate', 'run', '--database', 'nope');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('unknown database "nope"');
    expect(result.stderr).toContain('databases: app, slow, gone');
  });

  it('an unreachable database fails plan and run with exit 4 naming the database and where it was tried', async () => {
    for (const command of ['plan', 'run']) {
      const result = await project.run('migrate', command, '--database', 'gone');
      expect(result.exitCode, `migrate ${command}: ${result.stderr}`).toBe(4);
      expect(result.stderr).toContain('gone: cannot connect to 127.0.0.1:1 through 10.201.0.11');
    }
    await expectDeployLockFree();
  });

  it('a run waits for the advisory lock and applies once it is free', async () => {
    const holder = await holdAdvisoryLock(app);
    const child = project.start(['migrate', 'run', '--database', 'app', '--lock-timeout', '60s']);
    let output = '';
    const waiting = new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('waiting up to 60s for the migration lock')) resolve();
      });
      // An early exit fails the test with the CLI's output instead of waiting for the test timeout.
      void child.then((result) => reject(new Error(`migrate run exited (${result.exitCode}) before it waited:\n${output}\n${String(result.stderr)}`)));
    });
    try {
      await waiting;
      expect(output).toContain(`held by pid ${holder.pid}`);
      expect(await app.query("SELECT to_regclass('stagecraft_migrations') AS t")).toEqual([{ t: null }]);
    } finally {
      await holder.release();
    }
    const result = await child;
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect((await app.query<{ id: string; status: string }>('SELECT id, status FROM stagecraft_migrations ORDER BY id')).map((r) => r.status)).toEqual([
      'completed',
      'completed',
      'completed',
    ]);
  });

  it('two `migrate run` at once: one waits for the deploy lock, never both applying', async () => {
    const [first, second] = await Promise.all([
      project.start(['migrate', 'run', '--database', 'slow', '--lock-wait', '60s']),
      project.start(['migrate', 'run', '--database', 'slow', '--lock-wait', '60s']),
    ]);
    expect(first.exitCode, String(first.stderr)).toBe(0);
    expect(second.exitCode, String(second.stderr)).toBe(0);
    const outputs = [String(first.stdout), String(second.stdout)];
    expect(outputs.filter((out) => out.includes('slow: completed; 3 applied'))).toHaveLength(1);
    expect(outputs.filter((out) => out.includes('nothing to apply'))).toHaveLength(1);
    // The deploy lock serialised them: the second never reached the database's advisory lock
    // while the first held it (it would have said it was waiting for the migration lock).
    for (const out of outputs) expect(out).not.toContain('for the migration lock');
    await expectDeployLockFree();
    expect(await slow.query('SELECT id, status FROM stagecraft_migrations ORDER BY id')).toEqual([
      { id: '0001_create_jobs', status: 'completed' },
      { id: '0002_seed_jobs', status: 'completed' },
      { id: '0003_jobs_done', status: 'completed' },
    ]);
    expect(await slow.query('SELECT name FROM jobs')).toEqual([{ name: 'first' }]);
  });

  it('two engine runs at once without the deploy lock: the advisory lock makes one wait', async () => {
    const fresh = await scratchDatabase(state, 'e2em_lock_direct');
    const host = new LocalHost();
    try {
      const logs: string[][] = [[], []];
      const target = (index: number): EngineTarget => ({
        database: 'slow',
        migrations: { engine: 'raw', path: 'db/slow' },
        url: fresh.localUrl,
        configDir: project.dir,
        service: project.service,
        environment: 'e2e',
        actor: `runner-${index}`,
        host: async () => host,
        image: { missing: 'raw needs none' },
        appEnv: {},
        containerName: 'unused',
        log: (line) => logs[index]!.push(line),
        scrub: (text) => text,
      });
      const outcomes: RunOutcome[] = await Promise.all([0, 1].map((i) => rawEngine.run(target(i), { lockTimeoutMs: 30_000, timeoutMs: 60_000 })));
      const appliedCounts = outcomes.map((o) => o.migrations.filter((m) => m.outcome === 'applied').length).sort();
      expect(appliedCounts).toEqual([0, 3]);
      const waited = logs.findIndex((lines) => lines.some((line) => line.includes('for the migration lock, held by pid')));
      expect(waited).toBeGreaterThanOrEqual(0);
      expect(logs[waited]).toContain('nothing to apply: every migration is applied');
      expect((await fresh.query<{ executed_by: string }>('SELECT DISTINCT executed_by FROM stagecraft_migrations')).length).toBe(1);
    } finally {
      await host.close();
      await fresh.drop();
    }
  });
});
