import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newLintMemory } from '../../../../src/migrate/risk/lint.js';
import { databaseSources } from '../../../../src/migrate/risk/sources.js';
import type { DatabaseSources } from '../../../../src/migrate/risk/sources.js';
import { lint } from './helpers.js';

let root: string;
const cwd = process.cwd();

async function files(tree: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(tree)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
}

function summary(sources: DatabaseSources) {
  if (!sources.linted) return sources;
  return { files: sources.files.map((file) => `${file.path} ${file.transaction.mode}`), ordered: sources.ordered, problems: sources.problems };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sc-risk-sources-'));
  process.chdir(root);
  await files({
    'db/0001_a.sql': 'CREATE TABLE a (id int);',
    'db/0001_a.down.sql': 'DROP TABLE a;',
    'db/0002_b.sql': '-- stagecraft:no-transaction\nCREATE INDEX CONCURRENTLY a_id ON a (id);',
    'db/staging/0003_demo.sql': 'INSERT INTO a VALUES (1);',
    'golang/10_c.up.sql': 'SELECT 1;',
    'golang/10_c.down.sql': 'SELECT 1;',
    'golang/2_b.up.sql': 'SELECT 1;',
    'drizzle-project/drizzle/0000_first.sql': 'CREATE TABLE a (id int);',
    'drizzle-project/drizzle/meta/_journal.json': '{}',
    'drizzle-out/0001_second.sql': 'SELECT 1;',
    'prisma-project/prisma/migrations/20240101000000_init/migration.sql': 'CREATE TABLE a (id int);',
    'prisma-project/prisma/migrations/migration_lock.toml': '',
    'prisma-project/prisma/migrations/20240201000000_more/migration.sql': 'SELECT 1;',
    'sqitch/sqitch.plan': '%project=x\n',
    'sqitch/deploy/users.sql': 'BEGIN; CREATE TABLE users (id int); COMMIT;',
    'sqitch/deploy/app/orders.sql': 'SELECT 1;',
    'sqitch/revert/users.sql': 'DROP TABLE users;',
    'sqitch/verify/users.sql': 'SELECT 1;',
  });
});

afterAll(async () => {
  process.chdir(cwd);
  await rm(root, { recursive: true, force: true });
});

describe('which files are linted per engine', () => {
  it('raw: the up files in apply order, with the environment\'s own; one transaction unless marked', async () => {
    expect(summary(await databaseSources(root, { engine: 'raw', path: 'db' }, 'staging'))).toEqual({
      files: ['db/0001_a.sql file', 'db/0002_b.sql explicit', 'db/staging/0003_demo.sql file'],
      ordered: true,
      problems: [],
    });
    expect(summary(await databaseSources(root, { engine: 'raw', path: 'db' }, 'prod'))).toMatchObject({ files: ['db/0001_a.sql file', 'db/0002_b.sql explicit'] });
  });

  it('raw: a directory with problems gives them back instead of throwing', async () => {
    const sources = await databaseSources(root, { engine: 'raw', path: 'nowhere' }, 'prod');
    expect(sources).toMatchObject({ linted: true, files: [], problems: [expect.stringContaining('nowhere does not exist')] });
  });

  it('tool directories: links to files count, FIFOs and dangling links are left out', async () => {
    await mkdir(join(root, 'odd'));
    await writeFile(join(root, 'odd/1_a.up.sql'), 'SELECT 1;');
    await symlink(join(root, 'odd/1_a.up.sql'), join(root, 'odd/2_link.up.sql'));
    await symlink(join(root, 'odd/missing.sql'), join(root, 'odd/3_dangling.up.sql'));
    execFileSync('mkfifo', [join(root, 'odd/4_fifo.up.sql')]);
    expect(summary(await databaseSources(root, { engine: 'golang-migrate', path: 'odd' }, 'prod'))).toMatchObject({ files: ['odd/1_a.up.sql script', 'odd/2_link.up.sql script'] });
  });

  it('golang-migrate: *.up.sql in numeric order, as one multi-statement query each', async () => {
    expect(summary(await databaseSources(root, { engine: 'golang-migrate', path: 'golang' }, 'prod'))).toEqual({ files: ['golang/2_b.up.sql script', 'golang/10_c.up.sql script'], ordered: true, problems: [] });
  });

  it('drizzle: <path>/*.sql, or <path>/drizzle/*.sql; one transaction', async () => {
    expect(summary(await databaseSources(root, { engine: 'drizzle', path: 'drizzle-project' }, 'prod'))).toMatchObject({ files: ['drizzle-project/drizzle/0000_first.sql file'] });
    expect(summary(await databaseSources(root, { engine: 'drizzle', path: 'drizzle-out' }, 'prod'))).toMatchObject({ files: ['drizzle-out/0001_second.sql file'] });
  });

  it('prisma: migrations/*/migration.sql from the project, prisma/ or migrations/ directory', async () => {
    const expected = { files: ['prisma-project/prisma/migrations/20240101000000_init/migration.sql script', 'prisma-project/prisma/migrations/20240201000000_more/migration.sql script'] };
    expect(summary(await databaseSources(root, { engine: 'prisma', path: 'prisma-project' }, 'prod'))).toMatchObject(expected);
    expect(summary(await databaseSources(root, { engine: 'prisma', path: 'prisma-project/prisma' }, 'prod'))).toMatchObject(expected);
    expect(summary(await databaseSources(root, { engine: 'prisma', path: 'prisma-project/prisma/migrations' }, 'prod'))).toMatchObject(expected);
  });

  it('sqitch: deploy/**/*.sql (not revert or verify), statement by statement, each file alone', async () => {
    expect(summary(await databaseSources(root, { engine: 'sqitch', path: 'sqitch' }, 'prod'))).toEqual({
      files: ['sqitch/deploy/app/orders.sql explicit', 'sqitch/deploy/users.sql explicit'],
      ordered: false,
      problems: [],
    });
  });

  it('knex and command are not linted, saying why', async () => {
    expect(await databaseSources(root, { engine: 'knex', path: 'migrations' }, 'prod')).toEqual({ linted: false, reason: 'knex migrations are JavaScript: not linted' });
    expect(await databaseSources(root, { engine: 'node-pg-migrate', path: 'migrations' }, 'prod')).toEqual({ linted: false, reason: 'node-pg-migrate migrations are JavaScript (its MigrationBuilder writes the SQL): not linted' });
    expect(await databaseSources(root, { engine: 'command' }, 'prod')).toEqual({ linted: false, reason: 'engine command runs your own command: not linted' });
  });

  it('a tool directory that does not exist is a problem', async () => {
    expect(await databaseSources(root, { engine: 'golang-migrate', path: 'missing' }, 'prod')).toMatchObject({ linted: true, files: [], problems: [expect.stringContaining('missing: migrations directory does not exist')] });
  });
});

describe('context across the files of one database', () => {
  const validate = '-- stagecraft:no-transaction\nALTER TABLE a ADD CONSTRAINT a_b_nn CHECK (b IS NOT NULL) NOT VALID;\nALTER TABLE a VALIDATE CONSTRAINT a_b_nn;';
  const setNotNull = 'ALTER TABLE a ALTER COLUMN b SET NOT NULL;';

  it('a CHECK (col IS NOT NULL) validated by an earlier migration makes SET NOT NULL safe', async () => {
    const memory = newLintMemory();
    expect((await lint(validate, 'explicit', memory)).findings).toEqual([]);
    expect((await lint(setNotNull, 'file', memory)).findings).toEqual([]);
  });

  it('without the earlier file, or once the check is dropped, SET NOT NULL is flagged', async () => {
    expect((await lint(setNotNull)).findings.map((f) => f.rule)).toEqual(['set-not-null']);
    const memory = newLintMemory();
    await lint(validate, 'explicit', memory);
    await lint('-- stagecraft:allow drop-constraint not needed\nALTER TABLE a DROP CONSTRAINT a_b_nn;', 'file', memory);
    expect((await lint(setNotNull, 'file', memory)).findings.map((f) => f.rule)).toEqual(['set-not-null']);
  });

  it('a table created in an earlier file is not "created here": its index needs CONCURRENTLY', async () => {
    const memory = newLintMemory();
    await lint('CREATE TABLE t (a int);', 'file', memory);
    expect((await lint('CREATE INDEX t_a ON t (a);', 'file', memory)).findings.map((f) => f.rule)).toEqual(['create-index']);
  });
});
