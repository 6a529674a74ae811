import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nextNumber, normaliseName, tableName, utcTimestamp } from '../../../src/migrate/new/naming.js';
import { BUILT_IN_TEMPLATES, builtInTemplate, fillPlaceholders, renderMigration, withDependsOn } from '../../../src/migrate/new/templates.js';
import { createRawMigration, toolNewCommand } from '../../../src/migrate/new/create.js';
import { isNoTransaction, readMigrationSet } from '../../../src/migrate/raw/files.js';
import { headerDependencies } from '../../../src/migrate/raw/dependencies.js';
import { splitStatements } from '../../../src/migrate/raw/sql-statements.js';
import type { EngineSettings } from '../../../src/migrate/engine-commands.js';

const NOW = new Date(Date.UTC(2026, 11, 2, 3, 4, 5));

describe('migrate new: names', () => {
  it.each([
    ['create_users', 'create_users'],
    ['Create Users', 'create_users'],
    ['  add-email--to.users! ', 'add_email_to_users'],
    ['ÜberTable', 'bertable'],
    ['__x__', 'x'],
    ['!!!', ''],
    ['', ''],
  ])('%j → %j', (raw, expected) => {
    expect(normaliseName(raw)).toBe(expected);
  });

  it.each([
    ['create_users', 'users'],
    ['add_users_table', 'users'],
    ['add_email_to_users', 'users'],
    ['index_created_at_on_orders', 'orders'],
    ['backfill_orders', 'orders'],
    ['users', 'users'],
    ['create', 'create'],
    ['create_table', 'table'],
  ])('table of %j is %j', (name, table) => {
    expect(tableName(name)).toBe(table);
  });
});

describe('migrate new: numbers follow the directory', () => {
  it.each<[string, string[], string]>([
    ['empty directory', [], '0001'],
    ['4 digits', ['0001', '0007', '0003'], '0008'],
    ['6 digits (golang-migrate -seq)', ['000001', '000012'], '000013'],
    ['unpadded', ['1', '2', '9'], '10'],
    ['width grows past 9999', ['9999'], '10000'],
    ['timestamps, clock ahead', ['20250101000000', '20251231235959'], '20261202030405'],
    ['timestamps, last one in the future', ['20300101000000'], '20300101000001'],
    ['timestamp equal to now', ['20261202030405'], '20261202030406'],
  ])('%s', (_, existing, expected) => {
    expect(nextNumber(existing, NOW)).toBe(expected);
  });

  it('formats UTC timestamps with 14 digits', () => {
    expect(utcTimestamp(new Date(Date.UTC(2026, 0, 9, 7, 8, 9)))).toBe('20260109070809');
  });
});

describe('migrate new: templates', () => {
  const values = { id: '0002_create_orders', name: 'create_orders', table: 'orders' };

  it.each(BUILT_IN_TEMPLATES.map((template) => [template]))('%s: up and down parse with the Postgres parser and use no placeholder', async (template) => {
    const text = renderMigration(builtInTemplate(template), values, ['0001_create_users']);
    for (const sql of [text.up, text.down]) {
      expect(sql).not.toContain('{{');
      await expect(splitStatements(sql)).resolves.toBeDefined();
    }
    expect(headerDependencies(text.up, 'x').refs.map((r) => r.ref)).toEqual(['0001_create_users']);
  });

  it('table creates and drops {{table}}; index runs outside a transaction, both ways', () => {
    const table = renderMigration(builtInTemplate('table'), values, []);
    expect(table.up).toContain('CREATE TABLE orders (');
    expect(table.down).toContain('DROP TABLE orders;');
    const index = renderMigration(builtInTemplate('index'), values, ['0001']);
    expect(isNoTransaction(index.up) && isNoTransaction(index.down)).toBe(true);
    expect(index.up).toContain('CREATE INDEX CONCURRENTLY orders_created_at_idx ON orders');
    expect(index.down).toContain('DROP INDEX CONCURRENTLY');
  });

  it.each([
    ['{{name}} {{table}} {{id}}', 'create_orders orders 0002_create_orders'],
    ['{{ table }}', 'orders'],
    ['{{other}} {{', '{{other}} {{'],
  ])('fills %j', (text, expected) => {
    expect(fillPlaceholders(text, values)).toBe(expected);
  });

  it.each([
    ['SELECT 1;\n', [], 'SELECT 1;\n'],
    ['SELECT 1;\n', ['a', 'b'], '-- stagecraft:depends-on a, b\nSELECT 1;\n'],
    ['-- stagecraft:no-transaction\nSELECT 1;\n', ['a'], '-- stagecraft:no-transaction\n-- stagecraft:depends-on a\nSELECT 1;\n'],
  ])('depends-on header of %j with %j', (sql, ids, expected) => {
    expect(withDependsOn(sql, ids)).toBe(expected);
  });

  it.each<[EngineSettings['engine'], string]>([
    ['knex', 'npx knex migrate:make add_x'],
    ['prisma', 'npx prisma migrate dev --name add_x'],
    ['drizzle', 'npx drizzle-kit generate'],
    ['golang-migrate', 'migrate create -ext sql -dir db -seq add_x'],
    ['sqitch', 'sqitch add add_x'],
    ['node-pg-migrate', 'npx node-pg-migrate create add_x -m db'],
  ])('%s is created with %j', (engine, command) => {
    expect(toolNewCommand({ engine, path: 'db' }, 'add_x')).toBe(command);
  });
});

describe('migrate new: files', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const create = (configDir: string, extra: { name: string; template?: string; environment?: string; dependsOn?: string[] }) =>
    createRawMigration({
      configDir,
      settings: { engine: 'raw', path: 'db' },
      database: 'main',
      name: extra.name,
      template: extra.template ?? 'blank',
      environment: extra.environment,
      environments: ['prod', 'staging'],
      dependsOn: extra.dependsOn ?? [],
      now: NOW,
    });

  it('follows the up-down layout and width, counts environment directories, skips templates/', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sc-new-'));
    await mkdir(path.join(dir, 'db', 'staging'), { recursive: true });
    await mkdir(path.join(dir, 'db', 'templates'), { recursive: true });
    await writeFile(path.join(dir, 'db', '000001_users.up.sql'), 'CREATE TABLE users (id int);\n');
    await writeFile(path.join(dir, 'db', 'staging', '000004_demo.up.sql'), 'SELECT 1;\n');
    await writeFile(path.join(dir, 'db', 'templates', '999999_not_a_migration.sql'), 'SELECT 1;\n');
    await writeFile(path.join(dir, 'db', 'templates', 'col.sql'), 'ALTER TABLE {{table}} ADD COLUMN x int;\n');
    const made = await create(dir, { name: 'add_x_to_users', template: 'col', dependsOn: ['1'] });
    expect(made.id).toBe('000005_add_x_to_users');
    expect((await readdir(path.join(dir, 'db'))).sort()).toContain('000005_add_x_to_users.up.sql');
    expect(await readFile(path.join(dir, 'db', '000005_add_x_to_users.up.sql'), 'utf8')).toBe('-- stagecraft:depends-on 000001_users\nALTER TABLE users ADD COLUMN x int;\n');
    const set = await readMigrationSet(path.join(dir, 'db'), 'db');
    expect(set.files.map((f) => f.id)).toEqual(['000001_users', '000005_add_x_to_users']);

    const env = await create(dir, { name: 'seed', environment: 'prod' });
    expect(env.written.map((file) => path.relative(dir!, path.resolve(file)))).toEqual([path.join('db', 'prod', '000006_seed.up.sql'), path.join('db', 'prod', '000006_seed.down.sql')]);
  });

  it.each<[string, { name: string; template?: string; environment?: string; dependsOn?: string[] }, RegExp]>([
    ['an empty name', { name: '--' }, /no letter or digit/],
    ['an unknown template', { name: 'x', template: 'nope' }, /unknown template "nope"/],
    ['an unknown dependency', { name: 'x', dependsOn: ['0042'] }, /--depends-on 0042: no such migration/],
    ['an unknown environment', { name: 'x', environment: 'qa' }, /unknown environment "qa"/],
  ])('refuses %s', async (_, request, message) => {
    dir = await mkdtemp(path.join(tmpdir(), 'sc-new-'));
    await expect(create(dir, request)).rejects.toThrow(message);
  });

  it('starts an empty directory at 0001 in the plain layout', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sc-new-'));
    const made = await create(dir, { name: 'Create Users', template: 'table' });
    expect(made.id).toBe('0001_create_users');
    expect((await readdir(path.join(dir, 'db'))).sort()).toEqual(['0001_create_users.down.sql', '0001_create_users.sql']);
  });
});
