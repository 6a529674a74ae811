/**
 * `migrate plan` is read-only: on a fresh database it lists every migration as pending and the
 * database is exactly as before (same schemas, tables and row counts). knex's plan starts no
 * container (knex migrate:list would create knex_migrations and knex_migrations_lock): it reads
 * migrations.path from the image's archive and knex's table through the tunnel.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../../src/build/build.js';
import { withRegistryLogin } from '../../src/build/docker-cli.js';
import { pushImage } from '../../src/build/push.js';
import { readTestbedState } from './helpers/testbed-state.js';
import type { TestbedState } from './helpers/testbed-state.js';
import { MigrateProject, databaseIn, scratchDatabase, uniqueService } from './helpers/migrate-project.js';
import { onHostChecked } from './helpers/project.js';
import type { ScratchDatabase } from './helpers/migrate-project.js';

const KNEX_IDS = ['0001_create_greetings.js', '0002_seed_greetings.js', '0003_add_greeting_language.js'];

describe('migrate plan writes nothing', () => {
  let state: TestbedState;
  let project: MigrateProject;
  let db: ScratchDatabase;
  let rawDb: ScratchDatabase;

  beforeAll(async () => {
    state = readTestbedState();
    db = await scratchDatabase(state, 'e2em_knexplan');
    rawDb = await scratchDatabase(state, 'e2em_rawplan');
    project = await MigrateProject.create(
      {
        service: uniqueService('knexplan'),
        proxyPort: 8366,
        app: 'hello',
        hosts: ['10.201.0.13'],
        databases: { main: { url: db.url, engine: 'knex', path: 'migrations', strategy: 'manual' } },
      },
      state,
    );
  });

  afterAll(async () => {
    await project?.cleanup();
    await db?.drop();
    await rawDb?.drop();
  });

  it('knex: 3 pending on a fresh database, which is left exactly as it was (no knex tables); after a run, 3 applied', async () => {
    const image = `${state.registry.server}/e2e/${project.service}:kp1`;
    const login = { server: state.registry.server, username: state.registry.username, password: state.registry.password };
    await buildImage({ baseDir: project.dir, context: '.', dockerfile: 'Dockerfile', args: {}, imageRef: image, labels: {} }, () => undefined);
    await withRegistryLogin(login, (env) => pushImage(image, env, () => undefined));

    const fresh = await db.snapshot();
    const before = databaseIn(await project.plan('--image', image), 'main');
    expect(before).toMatchObject({ readable: true, applied_count: 0, pending_count: 3 });
    expect(before.migrations).toEqual(KNEX_IDS.map((id) => ({ id, state: 'pending' })));
    expect(await db.snapshot()).toEqual(fresh);
    expect(await db.query("SELECT to_regclass('knex_migrations')::text AS a, to_regclass('knex_migrations_lock')::text AS b")).toEqual([{ a: null, b: null }]);

    const run = await project.run('migrate', 'run', '--database', 'main', '--image', image);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    // migrate run changed the primary's database: its audit line is on the primary (other suites share the log).
    const audit = (await onHostChecked(state, '10.201.0.13', ['cat', '.stagecraft/audit.log'])).split('\n').map((line) => line.split('\t'));
    expect(audit.find((fields) => fields[2] === project.service && fields[5] === 'migrate run')?.[6]).toContain(`main: applied ${KNEX_IDS.join(', ')}`);
    const migrated = await db.snapshot();
    expect(migrated).toContain('table public.knex_migrations: 3 rows');
    const after = databaseIn(await project.plan('--image', image), 'main');
    expect(after).toMatchObject({ readable: true, applied_count: 3, pending_count: 0 });
    expect(after.migrations).toEqual(KNEX_IDS.map((id) => ({ id, state: 'applied' })));
    expect(await db.snapshot()).toEqual(migrated);
  });

  it('knex: a migrations.path that is not in the image makes the plan unreadable, naming the path', async () => {
    const image = `${state.registry.server}/e2e/${project.service}:kp1`;
    await project.configure({ databases: { main: { url: db.url, engine: 'knex', path: 'db/migrations', strategy: 'manual' } } });
    try {
      const plan = databaseIn(await project.plan('--image', image), 'main');
      expect(plan.readable).toBe(false);
      expect(plan.reason).toContain('/app/db/migrations does not exist in image');
    } finally {
      await project.configure({ databases: { main: { url: db.url, engine: 'knex', path: 'migrations', strategy: 'manual' } } });
    }
  });

  it('raw: every file pending on a fresh database, which is left exactly as it was (no tracking table)', async () => {
    await project.writeFile('raw/0001_things.sql', 'CREATE TABLE things (id bigint PRIMARY KEY);\n');
    await project.writeFile('raw/0002_seed.sql', 'INSERT INTO things VALUES (1);\n');
    await project.configure({ databases: { main: { url: rawDb.url, engine: 'raw', path: 'raw', strategy: 'manual' } } });
    const fresh = await rawDb.snapshot();
    const plan = databaseIn(await project.plan(), 'main');
    expect(plan).toMatchObject({ readable: true, applied_count: 0, pending_count: 2 });
    expect(await rawDb.snapshot()).toEqual(fresh);
  });
});
