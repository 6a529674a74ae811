/**
 * Raw migrations beyond a flat numbered list, on the real testbed and PostgreSQL: dependency order,
 * cycles refused before anything runs, golang-migrate's up/down layout, and migrations that belong
 * to one environment only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTestbedState } from './helpers/testbed-state.js';
import type { TestbedState } from './helpers/testbed-state.js';
import { MigrateProject, databaseIn, scratchDatabase, suitePort, uniqueService } from './helpers/migrate-project.js';
import type { ScratchDatabase } from './helpers/migrate-project.js';

interface Row {
  id: string;
  status: string;
  environment: string;
}

describe('raw migrations: dependency order, layouts, environment-specific sets', () => {
  let state: TestbedState;
  let project: MigrateProject;
  let graph: ScratchDatabase;
  let golang: ScratchDatabase;
  let staging: ScratchDatabase;

  const rows = (db: ScratchDatabase) => db.query<Row>('SELECT id, status, environment FROM stagecraft_migrations ORDER BY started_at, id');

  beforeAll(async () => {
    state = readTestbedState();
    [graph, golang, staging] = await Promise.all([
      scratchDatabase(state, 'e2em_layout_graph'),
      scratchDatabase(state, 'e2em_layout_golang'),
      scratchDatabase(state, 'e2em_layout_envs'),
    ]);
    project = await MigrateProject.create(
      {
        service: uniqueService('layout'),
        proxyPort: suitePort(60),
        app: 'raw-sql',
        hosts: ['10.201.0.11'],
        extraEnvironments: ['staging', 'prod'],
        databases: {
          graph: { url: graph.url, engine: 'raw', path: 'db/graph', strategy: 'manual' },
          golang: { url: golang.url, engine: 'raw', path: 'db/golang', strategy: 'pre_deploy' },
          envs: { url: staging.url, engine: 'raw', path: 'db/envs', strategy: 'manual' },
        },
      },
      state,
    );
    const files: Record<string, string> = {
      'db/graph/0001_accounts.sql': 'CREATE TABLE accounts (id bigint PRIMARY KEY);\n',
      // Needs the plans table of 0003: applies after it despite its lower number.
      'db/graph/0002_account_plan.sql': '-- stagecraft:depends-on 0003_plans\nALTER TABLE accounts ADD COLUMN plan text REFERENCES plans (name);\n',
      'db/graph/0003_plans.sql': 'CREATE TABLE plans (name text PRIMARY KEY);\n',
      'db/graph/0001_accounts.down.sql': 'DROP TABLE accounts;\n',
      'db/graph/0002_account_plan.down.sql': 'ALTER TABLE accounts DROP COLUMN plan;\n',
      'db/graph/0003_plans.down.sql': 'DROP TABLE plans;\n',
      'db/golang/000001_users.up.sql': 'CREATE TABLE users (id bigint PRIMARY KEY);\n',
      'db/golang/000001_users.down.sql': 'DROP TABLE users;\n',
      'db/golang/000002_users_email.up.sql': 'ALTER TABLE users ADD COLUMN email text;\n',
      'db/golang/000002_users_email.down.sql': 'ALTER TABLE users DROP COLUMN email;\n',
      'db/golang/000003_orgs.up.sql': 'CREATE TABLE orgs (id bigint PRIMARY KEY);\n',
      'db/golang/000003_orgs.down.sql': 'DROP TABLE orgs;\n',
      'db/golang/dependencies.json': JSON.stringify({
        migrations: { '000003': { description: 'Adds organisations', affects_tables: ['orgs'], risk_level: 'high', estimated_duration: '5s' } },
      }),
      'db/envs/0001_products.sql': 'CREATE TABLE products (id bigint PRIMARY KEY, name text NOT NULL);\n',
      'db/envs/staging/0005_demo_data.sql': "INSERT INTO products VALUES (1, 'demo');\n",
    };
    for (const [file, sql] of Object.entries(files)) await project.writeFile(file, sql);
  });

  afterAll(async () => {
    await project?.cleanup();
    await Promise.all([graph, golang, staging].map((db) => db?.drop()));
  });

  it('applies in dependency order, not numeric order', async () => {
    expect(databaseIn(await project.plan('--database', 'graph'), 'graph').would_run).toEqual(['0001_accounts', '0003_plans', '0002_account_plan']);
    const run = await project.run('migrate', 'run', '--database', 'graph');
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain('graph: completed; 3 applied (0001_accounts, 0003_plans, 0002_account_plan)');
    expect((await rows(graph)).map((r) => [r.id, r.status])).toEqual([
      ['0001_accounts', 'completed'],
      ['0003_plans', 'completed'],
      ['0002_account_plan', 'completed'],
    ]);
  });

  it('a dependency cycle exits 1 naming the cycle, and applies nothing', async () => {
    await project.writeFile('db/graph/0004_a.sql', '-- stagecraft:depends-on 0005_b\nCREATE TABLE a4 (id int);\n');
    await project.writeFile('db/graph/0005_b.sql', '-- stagecraft:depends-on 0004_a\nCREATE TABLE b5 (id int);\n');
    try {
      for (const command of [['migrate', 'run', '--database', 'graph'], ['migrate', 'plan', '--database', 'graph'], ['migrate', 'validate', '--database', 'graph']]) {
        const result = await project.run(...command);
        expect(result.exitCode, `${command.join(' ')}: ${result.stdout}${result.stderr}`).toBe(1);
        expect(result.stdout + result.stderr).toContain('a dependency cycle: 0004_a → 0005_b → 0004_a');
      }
      expect((await rows(graph)).map((r) => r.id)).toEqual(['0001_accounts', '0003_plans', '0002_account_plan']);
      expect(await graph.query("SELECT to_regclass('a4') AS t")).toEqual([{ t: null }]);
    } finally {
      await project.removeFile('db/graph/0004_a.sql');
      await project.removeFile('db/graph/0005_b.sql');
    }
  });

  it('rolling back a migration another applied one depends on: exit 2 naming it; --cascade reverts both', async () => {
    const refused = await project.run('migrate', 'rollback', '--database', 'graph', '0003_plans');
    expect(refused.exitCode, refused.stdout + refused.stderr).toBe(2);
    expect(refused.stderr).toContain('0002_account_plan (applied) depends on 0003_plans');
    expect((await rows(graph)).map((r) => r.status)).toEqual(['completed', 'completed', 'completed']);

    const preview = await project.run('migrate', 'rollback', '--database', 'graph', '0003_plans', '--cascade', '--dry-run');
    expect(preview.exitCode, preview.stderr).toBe(0);
    expect(preview.stdout).toContain(
      ['graph [raw, manual]: would roll back 2', '    revert 0002_account_plan  after 0003_plans', '    revert 0003_plans', '  note: --cascade added 0002_account_plan'].join('\n'),
    );
    expect(preview.stdout).toContain('dry run: no lock was taken and nothing was changed.');
    const previewJson = await project.run('migrate', 'rollback', '--database', 'graph', '0003_plans', '--cascade', '--dry-run', '--json');
    expect(previewJson.exitCode, previewJson.stderr).toBe(0);
    const plan = JSON.parse(previewJson.stdout) as { kind: string; databases: { database: string; direction: string; steps: { id: string; direction: string; depends_on: string[]; checksum: string }[] }[] };
    expect(plan.kind).toBe('rollback');
    expect(plan.databases[0]!.steps.map((step) => [step.id, step.direction, step.depends_on])).toEqual([
      ['0002_account_plan', 'down', ['0003_plans']],
      ['0003_plans', 'down', []],
    ]);
    expect(plan.databases[0]!.steps[0]!.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect((await rows(graph)).map((r) => r.status)).toEqual(['completed', 'completed', 'completed']);

    const cascaded = await project.run('migrate', 'rollback', '--database', 'graph', '0003_plans', '--cascade');
    expect(cascaded.exitCode, cascaded.stdout + cascaded.stderr).toBe(0);
    expect(cascaded.stdout).toContain('rolled back 0002_account_plan, 0003_plans');
    expect((await rows(graph)).map((r) => [r.id, r.status])).toEqual([
      ['0001_accounts', 'completed'],
      ['0003_plans', 'rolled_back'],
      ['0002_account_plan', 'rolled_back'],
    ]);
    expect(await graph.query("SELECT to_regclass('plans') AS t")).toEqual([{ t: null }]);
    const history = await project.run('migrate', 'history', '--database', 'graph', '--json');
    expect(history.exitCode, history.stderr).toBe(0);
    const events = (JSON.parse(history.stdout) as { databases: { events: { migration_id: string; event: string }[] }[] }).databases[0]!.events;
    // Newest first: the dependent was reverted before what it depends on.
    expect(events.filter((e) => e.event === 'rolled_back').map((e) => e.migration_id)).toEqual(['0003_plans', '0002_account_plan']);

    const again = await project.run('migrate', 'run', '--database', 'graph');
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain('graph: completed; 2 applied (0003_plans, 0002_account_plan)');
  });

  it('golang-migrate layout: plans, deploys, rolls back 2 steps and re-applies; a high-risk migration is flagged and its metadata recorded', async () => {
    const ids = ['000001_users', '000002_users_email', '000003_orgs'];
    const planned = databaseIn(await project.plan('--database', 'golang'), 'golang');
    expect(planned.would_run).toEqual(ids);
    expect(planned.migrations[2]).toMatchObject({
      id: '000003_orgs',
      file: '000003_orgs.up.sql',
      state: 'pending',
      metadata: { description: 'Adds organisations', affects_tables: ['orgs'], risk_level: 'high', estimated_duration: '5s' },
    });
    const planText = await project.run('migrate', 'plan', '--database', 'golang');
    expect(planText.stdout).toContain('⚠pending  000003_orgs  risk high · "Adds organisations" · tables orgs · ~5s');
    expect(planText.stdout).toContain('⚠ high risk (risk_level: high in dependencies.json): golang: 000003_orgs (Adds organisations)');
    const dryRun = await project.run('migrate', 'run', '--database', 'golang', '--dry-run');
    expect(dryRun.stdout).toContain('  ⚠ apply  000003_orgs  risk high · "Adds organisations" · tables orgs · ~5s');

    const deploy = await project.run('deploy', '--version', 'g1');
    expect(deploy.exitCode, deploy.stdout + deploy.stderr).toBe(0);
    expect(deploy.stdout).toContain('⚠ high risk (risk_level: high in dependencies.json): golang: 000003_orgs (Adds organisations)');
    const release = await project.lastRelease();
    const golangRecord = release.migrations.find((m) => m.database === 'golang')!;
    expect(golangRecord).toMatchObject({ status: 'completed', applied: ids });
    expect(golangRecord.steps?.map((step) => [step.id, step.outcome])).toEqual(ids.map((id) => [id, 'applied']));
    expect(golangRecord.steps?.[2]).toMatchObject({ description: 'Adds organisations', affects_tables: ['orgs'], risk_level: 'high', estimated_duration: '5s' });
    expect(golangRecord.steps?.every((step) => typeof step.duration_ms === 'number')).toBe(true);
    const shown = await project.run('releases', 'show', release.id);
    expect(shown.stdout).toContain('Adds organisations');

    const back = await project.run('migrate', 'rollback', '--database', 'golang', '--steps', '2');
    expect(back.exitCode, back.stderr).toBe(0);
    expect(back.stdout).toContain('rolled back 000003_orgs, 000002_users_email');
    expect(await golang.query("SELECT to_regclass('orgs') AS t")).toEqual([{ t: null }]);
    expect(await golang.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'users' ORDER BY column_name")).toEqual([{ column_name: 'id' }]);

    const again = await project.run('deploy', '--version', 'g2');
    expect(again.exitCode, again.stdout + again.stderr).toBe(0);
    expect((await project.lastRelease()).migrations.find((m) => m.database === 'golang')).toMatchObject({ status: 'completed', applied: ['000002_users_email', '000003_orgs'] });
    expect((await golang.query<{ id: string; status: string }>('SELECT id, status FROM stagecraft_migrations ORDER BY id')).map((r) => r.status)).toEqual([
      'completed',
      'completed',
      'completed',
    ]);
  });

  it('<dir>/staging/ files run with --env staging only; prod never plans them', async () => {
    const prodPlan = databaseIn(await project.plan('--database', 'envs', '--env', 'prod'), 'envs');
    expect(prodPlan.migrations.map((m) => m.id)).toEqual(['0001_products']);
    const stagingPlan = databaseIn(await project.plan('--database', 'envs', '--env', 'staging'), 'envs');
    expect(stagingPlan.would_run).toEqual(['0001_products', '0005_demo_data']);

    const run = await project.run('migrate', 'run', '--database', 'envs', '--env', 'staging');
    expect(run.exitCode, run.stderr).toBe(0);
    expect((await rows(staging)).map((r) => [r.id, r.environment])).toEqual([
      ['0001_products', 'staging'],
      ['0005_demo_data', 'staging'],
    ]);
    expect(await staging.query('SELECT name FROM products')).toEqual([{ name: 'demo' }]);
    // prod's view of the same database: its own set is applied; the staging-only row is not its file.
    expect(databaseIn(await project.plan('--database', 'envs', '--env', 'prod'), 'envs').would_run).toEqual([]);
  });
});
