/**
 * golang-migrate's `migrate plan` on the testbed. The `migrate` binary cannot be installed here (it is
 * built with Go from its module source, and neither this machine nor its containers reach the Go
 * module proxy), so this does not run the tool: it proves the plan, which never starts the tool,
 * against an image holding golang-migrate files and a database whose `schema_migrations` is made
 * with golang-migrate's own DDL and written as its postgres driver writes it (TRUNCATE + one row).
 * On a fresh database and on each state, plan lists what is pending and writes nothing: the
 * database's tables and row counts are identical before and after.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../../src/build/build.js';
import { withRegistryLogin } from '../../src/build/docker-cli.js';
import { pushImage } from '../../src/build/push.js';
import { readTestbedState } from './helpers/testbed-state.js';
import type { TestbedState } from './helpers/testbed-state.js';
import { MigrateProject, databaseIn, scratchDatabase, uniqueService } from './helpers/migrate-project.js';
import type { ScratchDatabase } from './helpers/migrate-project.js';

const FILES: Record<string, string> = {
  '000001_create_items.up.sql': 'CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL);\n',
  '000001_create_items.down.sql': 'DROP TABLE items;\n',
  '000002_add_item_price.up.sql': 'ALTER TABLE items ADD COLUMN price_cents integer NOT NULL DEFAULT 0;\n',
  '000002_add_item_price.down.sql': 'ALTER TABLE items DROP COLUMN price_cents;\n',
  '000003_seed_items.up.sql': "INSERT INTO items (name) VALUES ('tea'), ('cake');\n",
  '000003_seed_items.down.sql': 'DELETE FROM items;\n',
};

/** golang-migrate's postgres driver: the table it creates, and how it records a version (v4, `migrate up`). */
const GOLANG_MIGRATE_DDL = 'CREATE TABLE IF NOT EXISTS "public"."schema_migrations" (version bigint not null primary key, dirty boolean not null)';
const setVersion = (version: number, dirty: boolean) => [
  'TRUNCATE "public"."schema_migrations"',
  `INSERT INTO "public"."schema_migrations" (version, dirty) VALUES (${version}, ${dirty})`,
];

describe('golang-migrate plan reads without writing', () => {
  let state: TestbedState;
  let project: MigrateProject;
  let db: ScratchDatabase;
  let image: string;

  beforeAll(async () => {
    state = readTestbedState();
    db = await scratchDatabase(state, 'e2em_gomig');
    project = await MigrateProject.create(
      {
        service: uniqueService('gomig'),
        proxyPort: 8396,
        app: 'raw-sql',
        hosts: ['10.201.0.13'],
        databases: { main: { url: db.url, engine: 'golang-migrate', path: 'migrations', strategy: 'manual' } },
      },
      state,
    );
    for (const [name, sql] of Object.entries(FILES)) await project.writeFile(`migrations/${name}`, sql);
    await project.writeFile('Dockerfile', ['FROM node:20-slim', 'WORKDIR /app', 'COPY package.json server.js ./', 'COPY migrations ./migrations', 'CMD ["node", "server.js"]', ''].join('\n'));
    image = `${state.registry.server}/e2e/${project.service}:plan`;
    await buildImage({ baseDir: project.dir, context: '.', dockerfile: 'Dockerfile', args: {}, imageRef: image, labels: {} }, () => undefined);
    const login = { server: state.registry.server, username: state.registry.username, password: state.registry.password };
    await withRegistryLogin(login, (env) => pushImage(image, env, () => undefined));
  });

  afterAll(async () => {
    await project?.cleanup();
    await db?.drop();
  });

  async function planWritingNothing() {
    const before = await db.snapshot();
    const plan = databaseIn(await project.plan('--image', image), 'main');
    expect(await db.snapshot()).toEqual(before);
    return plan;
  }

  it('fresh database: 3 pending (listed, not unknown), no schema_migrations created', async () => {
    const plan = await planWritingNothing();
    expect(plan).toMatchObject({ readable: true, applied_count: 0, pending_count: 3 });
    expect(plan.migrations).toEqual([
      { id: '1', state: 'pending', file: '000001_create_items.up.sql' },
      { id: '2', state: 'pending', file: '000002_add_item_price.up.sql' },
      { id: '3', state: 'pending', file: '000003_seed_items.up.sql' },
    ].map((m) => expect.objectContaining(m)));
    expect(await db.snapshot()).toEqual(['schema public']);
  });

  it('at version 1 (as `migrate up 1` leaves it): 1 applied, 2 and 3 pending; dirty 2: failed', async () => {
    await db.query(GOLANG_MIGRATE_DDL);
    await db.query(FILES['000001_create_items.up.sql']!);
    for (const statement of setVersion(1, false)) await db.query(statement);
    const atOne = await planWritingNothing();
    expect(atOne).toMatchObject({ readable: true, applied_count: 1, pending_count: 2 });
    expect(atOne.migrations.map((m) => [m.id, m.state])).toEqual([['1', 'applied'], ['2', 'pending'], ['3', 'pending']]);

    for (const statement of setVersion(2, true)) await db.query(statement);
    const dirty = await planWritingNothing();
    expect(dirty.migrations.map((m) => [m.id, m.state])).toEqual([['1', 'applied'], ['2', 'failed'], ['3', 'pending']]);
    expect(await db.snapshot()).toEqual(['schema public', 'sequence public.items_id_seq', 'table public.items: 0 rows', 'table public.schema_migrations: 1 rows']);
  });
});
