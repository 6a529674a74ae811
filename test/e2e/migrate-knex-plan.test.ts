/**
 * `migrate plan` is read-only for knex too: on a fresh database it lists the image's migrations as
 * pending without creating knex's bookkeeping tables (knex migrate:list would create both).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../../src/build/build.js';
import { withRegistryLogin } from '../../src/build/docker-cli.js';
import { pushImage } from '../../src/build/push.js';
import { readTestbedState } from './helpers/testbed-state.js';
import type { TestbedState } from './helpers/testbed-state.js';
import { MigrateProject, databaseIn, scratchDatabase, uniqueService } from './helpers/migrate-project.js';
import type { ScratchDatabase } from './helpers/migrate-project.js';

const KNEX_IDS = ['0001_create_greetings.js', '0002_seed_greetings.js', '0003_add_greeting_language.js'];

describe('knex plan reads without writing', () => {
  let state: TestbedState;
  let project: MigrateProject;
  let db: ScratchDatabase;

  beforeAll(async () => {
    state = readTestbedState();
    db = await scratchDatabase(state, 'e2em_knexplan');
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
  });

  it('plan on a fresh database: 3 pending, no knex_migrations or knex_migrations_lock created; after a run, 3 applied', async () => {
    const image = `${state.registry.server}/e2e/${project.service}:kp1`;
    const login = { server: state.registry.server, username: state.registry.username, password: state.registry.password };
    await buildImage({ baseDir: project.dir, context: '.', dockerfile: 'Dockerfile', args: {}, imageRef: image, labels: {} }, () => undefined);
    await withRegistryLogin(login, (env) => pushImage(image, env, () => undefined));

    const before = databaseIn(await project.plan('--image', image), 'main');
    expect(before).toMatchObject({ readable: true, applied_count: 0, pending_count: 3 });
    expect(before.migrations).toEqual(KNEX_IDS.map((id) => ({ id, state: 'pending' })));
    expect(await db.query("SELECT to_regclass('knex_migrations')::text AS a, to_regclass('knex_migrations_lock')::text AS b")).toEqual([{ a: null, b: null }]);

    const run = await project.run('migrate', 'run', '--database', 'main', '--image', image);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const after = databaseIn(await project.plan('--image', image), 'main');
    expect(after).toMatchObject({ readable: true, applied_count: 3, pending_count: 0 });
    expect(after.migrations).toEqual(KNEX_IDS.map((id) => ({ id, state: 'applied' })));
  });
});
