import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { readMigrationFiles, readMigrationSet } from '../../../src/migrate/raw/files.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sc-raw-layouts-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function files(entries: Record<string, string>): Promise<void> {
  for (const [name, content] of Object.entries(entries)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), content);
  }
}

async function problem(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(UserError);
  return (error as Error).message;
}

describe('layouts', () => {
  it('reads the golang-migrate layout: id without .up, down files paired', async () => {
    await files({ '000001_users.up.sql': 'SELECT 1;', '000001_users.down.sql': 'SELECT -1;', '000002_orgs.up.sql': 'SELECT 2;' });
    const set = await readMigrationSet(dir, 'db');
    expect(set.layout).toBe('up-down');
    expect(set.files.map((f) => [f.id, f.file, f.down?.file])).toEqual([
      ['000001_users', '000001_users.up.sql', '000001_users.down.sql'],
      ['000002_orgs', '000002_orgs.up.sql', undefined],
    ]);
  });

  it('reads the plain layout and says so', async () => {
    await files({ '0001_a.sql': '', '0001_a.down.sql': '' });
    expect((await readMigrationSet(dir, 'db')).layout).toBe('plain');
    expect((await readMigrationSet(join(dir), 'db')).files[0]!.down?.file).toBe('0001_a.down.sql');
  });

  it('an empty directory has no layout yet', async () => {
    expect(await readMigrationSet(dir, 'db')).toEqual({ layout: undefined, files: [] });
  });

  it('refuses two layouts in one directory, naming a file of each', async () => {
    await files({ '0001_a.sql': '', '0002_b.up.sql': '' });
    expect(await problem(readMigrationSet(dir, 'db'))).toBe(
      'db: 0001_a.sql and 0002_b.up.sql: two layouts in one directory; name every migration NNNN_name.sql, or every one NNNN_name.up.sql',
    );
  });

  it('orders timestamp prefixes as numbers', async () => {
    await files({ '20240101120000_b.sql': '', '20231231235959_a.sql': '', '20240101120001_c.sql': '' });
    expect((await readMigrationFiles(dir, 'db')).map((f) => f.id)).toEqual(['20231231235959_a', '20240101120000_b', '20240101120001_c']);
  });
});

describe('environment-specific migrations', () => {
  it('adds <dir>/<environment>/ files for that environment only', async () => {
    await files({ '0001_a.sql': '', '0002_b.sql': '', 'staging/0005_demo_data.sql': '', 'staging/0005_demo_data.down.sql': '' });
    const staging = await readMigrationFiles(dir, 'db', { environment: 'staging' });
    expect(staging.map((f) => [f.id, f.file, f.environment, f.down?.file])).toEqual([
      ['0001_a', '0001_a.sql', undefined, undefined],
      ['0002_b', '0002_b.sql', undefined, undefined],
      ['0005_demo_data', 'staging/0005_demo_data.sql', 'staging', 'staging/0005_demo_data.down.sql'],
    ]);
    expect((await readMigrationFiles(dir, 'db', { environment: 'prod' })).map((f) => f.id)).toEqual(['0001_a', '0002_b']);
    expect((await readMigrationFiles(dir, 'db')).map((f) => f.id)).toEqual(['0001_a', '0002_b']);
  });

  it('takes the list from environments.json instead of the directory when there is one', async () => {
    await files({
      '0001_a.up.sql': '',
      'staging/0005_demo_data.up.sql': '',
      'staging/0005_demo_data.down.sql': '',
      'staging/0006_not_listed.up.sql': '',
      'environments.json': JSON.stringify({ environments: { staging: { migrations: ['staging/0005_demo_data.up.sql'] } } }),
    });
    const staging = await readMigrationFiles(dir, 'db', { environment: 'staging' });
    expect(staging.map((f) => [f.id, f.down?.file])).toEqual([
      ['0001_a', undefined],
      ['0005_demo_data', 'staging/0005_demo_data.down.sql'],
    ]);
    expect((await readMigrationFiles(dir, 'db', { environment: 'prod' })).map((f) => f.id)).toEqual(['0001_a']);
  });

  it('refuses an environment-specific id equal to a base id', async () => {
    await files({ '0005_demo_data.sql': '', 'staging/0005_demo_data.sql': '' });
    expect(await problem(readMigrationFiles(dir, 'db', { environment: 'staging' }))).toContain(
      'staging/0005_demo_data.sql: same id 0005_demo_data as 0005_demo_data.sql',
    );
  });

  it('refuses an environments.json entry outside the directory or missing', async () => {
    await files({ '0001_a.sql': '', 'environments.json': JSON.stringify({ environments: { staging: { migrations: ['../0009_x.sql'] } } }) });
    expect(await problem(readMigrationFiles(dir, 'db', { environment: 'staging' }))).toContain('"../0009_x.sql" must be a .sql file inside db');
    await files({ 'environments.json': JSON.stringify({ environments: { staging: { migrations: ['staging/0009_gone.sql'] } } }) });
    expect(await problem(readMigrationFiles(dir, 'db', { environment: 'staging' }))).toContain('db/environments.json: staging/0009_gone.sql is listed for staging but does not exist');
  });
});

describe('dependencies', () => {
  it('applies in dependency order from header lines, numeric order otherwise', async () => {
    await files({
      '0001_a.sql': 'SELECT 1;',
      '0002_b.sql': '-- adds b\n-- stagecraft:depends-on 0004_d\nSELECT 2;',
      '0003_c.sql': 'SELECT 3;',
      '0004_d.sql': 'SELECT 4;',
    });
    const found = await readMigrationFiles(dir, 'db');
    expect(found.map((f) => f.id)).toEqual(['0001_a', '0003_c', '0004_d', '0002_b']);
    expect(found[3]!.depends_on).toEqual(['0004_d']);
  });

  it('merges dependencies.json (keyed by id or number) with headers, and keeps its metadata', async () => {
    await files({
      '0001_a.sql': '',
      '0002_b.sql': '-- stagecraft:depends-on 0003_c\n',
      '0003_c.sql': '',
      '0004_d.sql': '',
      'dependencies.json': JSON.stringify({
        migrations: {
          '0002': { description: 'users', depends_on: ['4'], affects_tables: ['users'], risk_level: 'high', estimated_duration: '45s' },
        },
      }),
    });
    const found = await readMigrationFiles(dir, 'db');
    expect(found.map((f) => f.id)).toEqual(['0001_a', '0003_c', '0004_d', '0002_b']);
    expect(found[3]).toMatchObject({ depends_on: ['0003_c', '0004_d'], metadata: { description: 'users', affects_tables: ['users'], risk_level: 'high', estimated_duration: '45s' } });
  });

  it('reports a cycle as the cycle, before anything runs', async () => {
    await files({ '0003_a.sql': '-- stagecraft:depends-on 0005_b\n', '0005_b.sql': '-- stagecraft:depends-on 0003_a\n', '0001_x.sql': '' });
    expect(await problem(readMigrationFiles(dir, 'db'))).toBe('db: a dependency cycle: 0003_a → 0005_b → 0003_a');
  });

  it('names an unknown dependency with file and line, and inside dependencies.json with line:col', async () => {
    await files({
      '0001_a.sql': '',
      '0002_b.sql': '-- b\n-- stagecraft:depends-on 0001_a, 0009_nope\n',
      'dependencies.json': '{\n  "migrations": {\n    "0001": { "depends_on": ["0007"] }\n  }\n}\n',
    });
    const message = await problem(readMigrationFiles(dir, 'db'));
    expect(message).toContain('db/0002_b.sql:2: 0002_b depends on 0009_nope, which is not a migration here');
    expect(message).toContain('db/dependencies.json:3:30: 0001_a depends on 0007, which is not a migration here');
  });

  it('reports a malformed dependencies.json entry at its position', async () => {
    await files({ '0001_a.sql': '', 'dependencies.json': '{"migrations": {"0001": {"risk_level": "extreme", "depend_on": []}}}' });
    const message = await problem(readMigrationFiles(dir, 'db'));
    expect(message).toContain('db/dependencies.json:1:40: migrations.0001.risk_level:');
    expect(message).toContain('unknown key "depend_on"');
  });

  it('refuses a base migration that depends on an environment-specific one', async () => {
    await files({ '0001_a.sql': '-- stagecraft:depends-on 0005_demo\n', 'staging/0005_demo.sql': '' });
    expect(await problem(readMigrationFiles(dir, 'db', { environment: 'staging' }))).toContain(
      '0001_a is a base migration and cannot depend on 0005_demo, which belongs to environment staging only',
    );
  });

  it('lets an environment-specific migration depend on a base one', async () => {
    await files({ '0001_a.sql': '', '0002_b.sql': '', 'staging/0000_seed.sql': '-- stagecraft:depends-on 0002_b\n' });
    expect((await readMigrationFiles(dir, 'db', { environment: 'staging' })).map((f) => f.id)).toEqual(['0001_a', '0002_b', '0000_seed']);
  });
});
