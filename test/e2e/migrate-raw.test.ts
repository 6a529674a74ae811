/**
 * The raw engine end to end: examples/raw-sql deployed to two testbed hosts, its databases on the
 * testbed's real PostgreSQL reached through an SSH tunnel via the primary host.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTestbedState } from './helpers/testbed-state.js';
import type { TestbedState } from './helpers/testbed-state.js';
import { MigrateProject, databaseIn, scratchDatabase, servedVersion, suitePort, uniqueService } from './helpers/migrate-project.js';
import type { ScratchDatabase } from './helpers/migrate-project.js';

const APP_IDS = ['0001_create_accounts', '0002_add_account_email', '0003_index_account_email'];
const EVENT_IDS = ['0001_create_events', '0002_events_per_day', '0003_events_kind_index'];
const H1 = '10.201.0.11';
const H2 = '10.201.0.12';

interface TrackingRow {
  id: string;
  status: string;
  error: string | null;
  executed_by: string;
  environment: string;
  checksum: string;
}

describe('raw engine: plan, deploy, failures, drift, manual databases', () => {
  let state: TestbedState;
  let project: MigrateProject;
  let app: ScratchDatabase;
  let events: ScratchDatabase;
  let reports: ScratchDatabase;
  let port: number;

  const tracking = (db: ScratchDatabase) => db.query<TrackingRow>('SELECT id, status, error, executed_by, environment, checksum FROM stagecraft_migrations ORDER BY id');

  beforeAll(async () => {
    state = readTestbedState();
    [app, events, reports] = await Promise.all([scratchDatabase(state, 'e2em_app'), scratchDatabase(state, 'e2em_events'), scratchDatabase(state, 'e2em_reports')]);
    port = suitePort(0);
    project = await MigrateProject.create(
      {
        service: uniqueService('raw'),
        proxyPort: port,
        app: 'raw-sql',
        hosts: [H1, H2],
        databases: {
          app: { url: app.url, engine: 'raw', path: 'db/app', strategy: 'pre_deploy' },
          events: { url: events.url, engine: 'raw', path: 'db/events', strategy: 'post_deploy' },
          reports: { url: reports.url, engine: 'raw', path: 'db/reports', strategy: 'manual' },
        },
      },
      state,
    );
    await project.writeFile('db/reports/0001_create_daily_report.sql', 'CREATE TABLE daily_report (day date PRIMARY KEY, total bigint NOT NULL);\n');
  });

  afterAll(async () => {
    await project?.cleanup();
    await Promise.all([app, events, reports].map((db) => db?.drop()));
  });

  it('plan lists 3 pending for a fresh database, and what deploy would run where', async () => {
    const plan = await project.plan();
    expect(databaseIn(plan, 'app').migrations).toEqual(APP_IDS.map((id) => expect.objectContaining({ id, state: 'pending' })));
    expect(databaseIn(plan, 'app').pending_count).toBe(3);
    expect(databaseIn(plan, 'events').pending_count).toBe(3);
    expect(plan.deploy.migrate_pre).toEqual([{ database: 'app', would_run: APP_IDS }]);
    expect(plan.deploy.migrate_post).toEqual([{ database: 'events', would_run: EVENT_IDS }]);
    expect(plan.deploy.not_run.map((n) => n.database)).toEqual(['reports']);
    // Read-only: plan created nothing, not even the tracking table.
    expect(await app.query("SELECT to_regclass('stagecraft_migrations') AS t")).toEqual([{ t: null }]);
  });

  it('deploy applies them in migrate_pre, post_deploy ones after the rollout; manual ones never', async () => {
    const result = await project.run('deploy', '--version', 'v1');
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    const release = await project.lastRelease();
    expect(release.status).toBe('completed');
    expect(release.migrations.map((m) => [m.database, m.strategy, m.status, m.applied])).toEqual([
      ['app', 'pre_deploy', 'completed', APP_IDS],
      ['events', 'post_deploy', 'completed', EVENT_IDS],
    ]);
    expect(Date.parse(release.phases.migrate_post.started_at!)).toBeGreaterThanOrEqual(Date.parse(release.phases.rollout.finished_at!));
    expect(Date.parse(release.phases.migrate_pre.finished_at!)).toBeLessThanOrEqual(Date.parse(release.phases.rollout.started_at!));

    const rows = await tracking(app);
    expect(rows.map((r) => [r.id, r.status])).toEqual(APP_IDS.map((id) => [id, 'completed']));
    expect(rows[0]).toMatchObject({ environment: 'e2e', error: null });
    expect(rows[0]!.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0]!.executed_by).toContain('@');
    // The no-transaction file really built its index concurrently.
    expect(await app.query("SELECT indexname FROM pg_indexes WHERE indexname = 'accounts_email_idx'")).toHaveLength(1);
    expect(await reports.query("SELECT to_regclass('stagecraft_migrations') AS t")).toEqual([{ t: null }]);

    const plan = await project.plan();
    expect(databaseIn(plan, 'app')).toMatchObject({ pending_count: 0, applied_count: 3 });
    expect(databaseIn(plan, 'events')).toMatchObject({ pending_count: 0, applied_count: 3 });
    expect(databaseIn(plan, 'reports').pending_count).toBe(1);
    expect(await servedVersion(H1, port)).toBe('v1');
  });

  it('post_deploy migrations do not run when the rollout fails', async () => {
    await project.writeFile('db/events/0004_events_source.sql', 'ALTER TABLE events ADD COLUMN source text;\n');
    await project.configure({ healthcheck: { path: '/never-healthy', timeout: '2s' } });
    try {
      const result = await project.run('deploy', '--version', 'v2');
      expect(result.exitCode, result.stdout + result.stderr).toBe(5);
      const release = await project.lastRelease();
      expect(release.phases.rollout.status).toBe('failed');
      expect(release.phases.migrate_post.status).toBe('skipped');
      expect(release.migrations.map((m) => m.database)).toEqual(['app']);
      expect(databaseIn(await project.plan(), 'events').migrations.at(-1)).toMatchObject({ id: '0004_events_source', state: 'pending' });
      expect((await tracking(events)).map((r) => r.id)).toEqual(EVENT_IDS);
    } finally {
      await project.configure({ healthcheck: {} });
    }
  });

  it('a SQL error fails that file in the tracking table; earlier stay applied, later never run; old version keeps serving', async () => {
    await project.writeFile('db/app/0004_add_account_plan.sql', "ALTER TABLE accounts ADD COLUMN plan text NOT NULL DEFAULT 'free';\n");
    await project.writeFile('db/app/0005_broken.sql', 'ALTER TABLE accounts ADD COLUMN note text;\nALTER TABLE acounts ADD COLUMN oops int;\n');
    await project.writeFile('db/app/0006_never.sql', 'CREATE TABLE never_created (id int);\n');
    try {
      await failedDeployKeepsOldVersion();
    } finally {
      await project.removeFile('db/app/0005_broken.sql');
      await project.removeFile('db/app/0006_never.sql');
    }
  });

  async function failedDeployKeepsOldVersion(): Promise<void> {
    const result = await project.run('deploy', '--version', 'v3');
    expect(result.exitCode).toBe(4);
    expect(result.stderr).toContain('error: migrate_pre: app: 0005_broken.sql: relation "acounts" does not exist');

    const rows = await tracking(app);
    expect(rows.map((r) => [r.id, r.status])).toEqual([...APP_IDS.map((id) => [id, 'completed']), ['0004_add_account_plan', 'completed'], ['0005_broken', 'failed']]);
    expect(rows.at(-1)!.error).toContain('relation "acounts" does not exist');
    // The failed file's first statement was rolled back with it; the later file never ran.
    expect(await app.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'accounts' AND column_name IN ('plan', 'note')")).toEqual([{ column_name: 'plan' }]);
    expect(await app.query("SELECT to_regclass('never_created') AS t")).toEqual([{ t: null }]);

    const release = await project.lastRelease();
    expect(release).toMatchObject({ version: 'v3', status: 'failed' });
    expect(release.phases.migrate_pre.status).toBe('failed');
    expect(release.phases.rollout.status).toBe('skipped');
    expect(release.migrations).toEqual([expect.objectContaining({ database: 'app', status: 'failed', applied: ['0004_add_account_plan'] })]);
    expect(release.migrations[0]!.error).toContain('0005_broken.sql');
    expect(await servedVersion(H1, port)).toBe('v1');
    expect(await servedVersion(H2, port)).toBe('v1');

    const plan = databaseIn(await project.plan(), 'app');
    expect(plan.migrations.find((m) => m.id === '0005_broken')).toMatchObject({ state: 'failed', error: expect.stringContaining('acounts') });
    expect(plan.would_run).toEqual(['0005_broken', '0006_never']);
  }

  it('an edited applied migration is drift: plan shows it, run and deploy refuse with exit 4 naming the file', async () => {
    const file = 'db/app/0002_add_account_email.sql';
    const original = await project.readFile(file);
    await project.writeFile(file, `${original}-- edited after it was applied\n`);
    try {
      const plan = databaseIn(await project.plan(), 'app');
      expect(plan.migrations.find((m) => m.id === '0002_add_account_email')).toMatchObject({ state: 'drifted' });
      expect(plan.blocked).toContain('0002_add_account_email.sql');

      const run = await project.run('migrate', 'run', '--database', 'app');
      expect(run.exitCode).toBe(4);
      expect(run.stderr).toContain('0002_add_account_email.sql');
      const deploy = await project.run('deploy', '--version', 'v4');
      expect(deploy.exitCode).toBe(4);
      expect(deploy.stdout + deploy.stderr).toContain('0002_add_account_email.sql');
      expect((await project.lastRelease()).status).toBe('failed');
    } finally {
      await project.writeFile(file, original);
    }
    expect(databaseIn(await project.plan(), 'app').blocked).toBeUndefined();
  });

  it('drift in a post_deploy database is refused before the rollout, not after it', async () => {
    const file = 'db/events/0001_create_events.sql';
    const original = await project.readFile(file);
    await project.writeFile(file, original.replace('NOT NULL DEFAULT now()', 'NOT NULL DEFAULT clock_timestamp()'));
    try {
      const deploy = await project.run('deploy', '--version', 'v5');
      expect(deploy.exitCode).toBe(4);
      expect(deploy.stderr).toContain('events: drift: 0001_create_events.sql');
      const release = await project.lastRelease();
      expect(release.phases.migrate_pre.status).toBe('failed');
      expect(release.phases.rollout.status).toBe('skipped');
      expect(await servedVersion(H1, port)).toBe('v1');
    } finally {
      await project.writeFile(file, original);
    }
  });

  it('migrate run migrates a manual database; rollback refuses where a down file is missing', async () => {
    const run = await project.run('migrate', 'run', '--database', 'reports', '--yes');
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain('reports: completed; 1 applied (0001_create_daily_report)');
    expect(databaseIn(await project.plan(), 'reports').pending_count).toBe(0);

    const refused = await project.run('migrate', 'rollback', '--database', 'app', '--steps', '2');
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('0004_add_account_plan.down.sql missing');
    expect((await tracking(app)).find((r) => r.id === '0004_add_account_plan')!.status).toBe('completed');

    await project.writeFile('db/app/0004_add_account_plan.down.sql', 'ALTER TABLE accounts DROP COLUMN plan;\n');
    const rolledBack = await project.run('migrate', 'rollback', '--database', 'app', '--steps', '2');
    expect(rolledBack.exitCode, rolledBack.stderr).toBe(0);
    expect(rolledBack.stdout).toContain('rolled back 0004_add_account_plan, 0003_index_account_email');
    const rows = await tracking(app);
    expect(rows.filter((r) => r.status === 'rolled_back').map((r) => r.id)).toEqual(['0003_index_account_email', '0004_add_account_plan']);
    expect(await app.query("SELECT indexname FROM pg_indexes WHERE indexname = 'accounts_email_idx'")).toEqual([]);
    expect(databaseIn(await project.plan(), 'app').would_run).toEqual(['0003_index_account_email', '0004_add_account_plan']);
  });

  it('a failing down file stops the rollback there (exit 4): that migration stays applied, earlier ones are not reverted', async () => {
    await project.writeFile('db/app/0002_add_account_email.down.sql', 'ALTER TABLE no_such_table DROP COLUMN email;\n');
    const failed = await project.run('migrate', 'rollback', '--database', 'app', '--steps', '2', '--json');
    expect(failed.exitCode, failed.stderr).toBe(4);
    expect(failed.stderr).toContain('0002_add_account_email.down.sql');
    const outcome = JSON.parse(failed.stdout) as { status: string; migrations: { id: string; outcome: string }[] };
    expect(outcome.status).toBe('failed');
    expect(outcome.migrations.map((m) => [m.id, m.outcome])).toEqual([
      ['0002_add_account_email', 'failed'],
      ['0001_create_accounts', 'skipped'],
    ]);
    const rows = await tracking(app);
    expect(rows.filter((r) => r.id < '0003').map((r) => [r.id, r.status])).toEqual([
      ['0001_create_accounts', 'completed'],
      ['0002_add_account_email', 'completed'],
    ]);
  });
});
