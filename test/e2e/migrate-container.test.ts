/**
 * Container engines end to end: examples/hello (knex + pg inside its image) with one knex database
 * and one `command` database, migrated in one-off containers of the app image on the primary host.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../../src/build/build.js';
import { withRegistryLogin } from '../../src/build/docker-cli.js';
import { pushImage } from '../../src/build/push.js';
import { readTestbedState } from './helpers/testbed-state.js';
import type { TestbedState } from './helpers/testbed-state.js';
import { MigrateProject, databaseIn, scratchDatabase, servedVersion, suitePort, uniqueService } from './helpers/migrate-project.js';
import type { ScratchDatabase } from './helpers/migrate-project.js';

interface HistoryEvent {
  migration_id: string;
  event: string;
  release_id: string | null;
  error: string | null;
}

/** `migrate history --json`, per database. */
async function historyOf(project: MigrateProject): Promise<Map<string, HistoryEvent[]>> {
  const result = await project.run('migrate', 'history', '--json');
  expect(result.exitCode, result.stderr).toBe(0);
  const parsed = JSON.parse(result.stdout) as { databases: { database: string; events: HistoryEvent[] | null }[] };
  return new Map(parsed.databases.map((d) => [d.database, d.events ?? []]));
}

const KNEX_IDS = ['0001_create_greetings.js', '0002_seed_greetings.js', '0003_add_greeting_language.js'];
const COMMAND_IDS = ['001_notes', '002_tags', '003_note_tags'];

// The `command` engine's tool: a tiny migrator of its own, given as argv (no shell).
const TOOL = `
const { Client } = require('pg');
const ids = ${JSON.stringify(COMMAND_IDS)};
(async () => {
  const c = new Client({ connectionString: process.env.DATABASE_URL });
  await c.connect();
  await c.query('CREATE TABLE IF NOT EXISTS cmd_migrations (id text PRIMARY KEY)');
  const done = new Set((await c.query('SELECT id FROM cmd_migrations')).rows.map((r) => r.id));
  for (const id of ids) {
    if (process.argv[1] === 'status') { console.log((done.has(id) ? 'applied ' : 'pending ') + id); continue; }
    if (done.has(id)) continue;
    await c.query('CREATE TABLE t_' + id + ' (id int)');
    await c.query('INSERT INTO cmd_migrations (id) VALUES ($1)', [id]);
    console.log('migrated ' + id);
  }
  await c.end();
})().catch((e) => { console.error(e.message); process.exit(1); });
`;

describe('container engines: knex and command', () => {
  let state: TestbedState;
  let project: MigrateProject;
  let main: ScratchDatabase;
  let notes: ScratchDatabase;
  let port: number;

  beforeAll(async () => {
    state = readTestbedState();
    [main, notes] = await Promise.all([scratchDatabase(state, 'e2em_knex'), scratchDatabase(state, 'e2em_cmd')]);
    port = suitePort(70);
    project = await MigrateProject.create(
      {
        service: uniqueService('knex'),
        proxyPort: port,
        app: 'hello',
        hosts: ['10.201.0.11'],
        databases: {
          main: { url: main.url, engine: 'knex', path: 'migrations' },
          notes: { url: notes.url, engine: 'command', command: ['node', '-e', TOOL, 'apply'], plan_command: ['node', '-e', TOOL, 'status'] },
        },
      },
      state,
    );
  });

  afterAll(async () => {
    await project?.cleanup();
    await Promise.all([main, notes].map((db) => db?.drop()));
  });

  it('plan says there is no image to read the status with before the first release', async () => {
    const plan = await project.plan();
    expect(plan.image).toBeNull();
    expect(databaseIn(plan, 'main')).toMatchObject({ readable: false, pending_count: null });
    expect(databaseIn(plan, 'main').reason).toContain('no completed release of e2e yet: pass --image REF or --version V');
    expect(plan.deploy.migrate_pre).toEqual([
      { database: 'main', would_run: null },
      { database: 'notes', would_run: null },
    ]);
  });

  it('plan lists 3 pending from the tools themselves, deploy applies them in migrate_pre, then 0 pending', async () => {
    const image = `${state.registry.server}/e2e/${project.service}:k1`;
    const login = { server: state.registry.server, username: state.registry.username, password: state.registry.password };
    await buildImage({ baseDir: project.dir, context: '.', dockerfile: 'Dockerfile', args: {}, imageRef: image, labels: {} }, () => undefined);
    await withRegistryLogin(login, (env) => pushImage(image, env, () => undefined));

    const before = await project.plan('--version', 'k1');
    expect(before.image).toBe(image);
    expect(databaseIn(before, 'main').migrations).toEqual(KNEX_IDS.map((id) => ({ id, state: 'pending' })));
    expect(databaseIn(before, 'notes').migrations).toEqual(COMMAND_IDS.map((id) => ({ id, state: 'pending' })));
    expect(before.deploy.migrate_pre).toEqual([
      { database: 'main', would_run: KNEX_IDS },
      { database: 'notes', would_run: COMMAND_IDS },
    ]);
    // Reading the status ran no migration (knex's migrate:list does create its empty bookkeeping tables).
    expect(await main.query("SELECT to_regclass('greetings') AS t")).toEqual([{ t: null }]);

    const deploy = await project.run('deploy', '--skip-build', '--version', 'k1');
    expect(deploy.exitCode, deploy.stdout + deploy.stderr).toBe(0);
    expect(deploy.stdout).toContain('Batch 1 run: 3 migrations');
    const release = await project.lastRelease();
    expect(release.migrations.map((m) => [m.database, m.engine, m.status, m.applied])).toEqual([
      ['main', 'knex', 'completed', KNEX_IDS],
      ['notes', 'command', 'completed', COMMAND_IDS],
    ]);
    expect(await main.query('SELECT name FROM knex_migrations ORDER BY id')).toEqual(KNEX_IDS.map((name) => ({ name })));
    expect(await main.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'greetings' AND column_name = 'language'")).toHaveLength(1);
    expect(await servedVersion('10.201.0.11', port)).toBe('k1');

    const after = await project.plan();
    // The current release supplies the image: a --skip-build deploy records the digest the
    // primary host pulled, so plan reads the status with exactly the bytes that were deployed.
    expect(release.image.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(after.image).toBe(`${image.replace(/:[^:/]+$/, '')}@${release.image.digest}`);
    expect(databaseIn(after, 'main')).toMatchObject({ pending_count: 0, applied_count: 3 });
    expect(databaseIn(after, 'notes')).toMatchObject({ pending_count: 0, applied_count: 3 });

    // The tools' own tables stay the truth; stagecraft adds each run to the same history as raw's.
    const history = await historyOf(project);
    for (const [database, ids] of [['main', KNEX_IDS], ['notes', COMMAND_IDS]] as const) {
      const events = history.get(database)!;
      expect(events.map((e) => [e.migration_id, e.event, e.release_id]).sort()).toEqual(ids.map((id) => [id, 'completed', release.id]).sort());
    }
  });

  it('a failing knex migration fails the deploy with exit 4 naming the file; knex rolls its batch back, earlier batches stay', async () => {
    await project.writeFile('migrations/0004_add_greeting_author.js', "export async function up(knex) { await knex.schema.alterTable('greetings', (t) => { t.text('author'); }); }\nexport async function down() {}\n");
    await project.writeFile('migrations/0005_broken.js', "export async function up(knex) { await knex.raw('ALTER TABLE greetngs ADD COLUMN x int'); }\nexport async function down() {}\n");
    const deploy = await project.run('deploy', '--version', 'k2');
    expect(deploy.exitCode).toBe(4);
    expect(deploy.stderr).toContain('0005_broken.js');
    const release = await project.lastRelease();
    expect(release).toMatchObject({ version: 'k2', status: 'failed' });
    // knex runs one batch in one transaction: 0004 was rolled back together with 0005.
    expect(release.migrations[0]).toMatchObject({ database: 'main', status: 'failed', applied: [] });
    expect(release.migrations[0]!.error).toContain('0005_broken.js');
    expect(release.phases.rollout.status).toBe('skipped');
    expect(await servedVersion('10.201.0.11', port)).toBe('k1');
    const failedEvents = (await historyOf(project)).get('main')!.filter((e) => e.event === 'failed');
    expect(failedEvents).toHaveLength(1);
    expect(failedEvents[0]).toMatchObject({ migration_id: '0005_broken.js', release_id: release.id });
    expect(failedEvents[0]!.error).toContain('0005_broken.js');
    const plan = databaseIn(await project.plan('--version', 'k2'), 'main');
    expect(plan.migrations.map((m) => [m.id, m.state])).toEqual([
      ...KNEX_IDS.map((id) => [id, 'applied']),
      ['0004_add_greeting_author.js', 'pending'],
      ['0005_broken.js', 'pending'],
    ]);
  });
});
