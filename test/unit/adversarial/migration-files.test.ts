import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { readMigrationFiles } from '../../../src/migrate/raw/files.js';
import { printableText } from '../../../src/user-text.js';

/**
 * Entries of a raw migrations directory that are not regular files, and hostile file names, are
 * user errors (exit 1) naming the entry — never `internal error: EISDIR` (exit 10), never a hang,
 * and never an escape sequence echoed raw to the terminal.
 */
const bin = fileURLToPath(new URL('../../../bin/stagecraft.js', import.meta.url));
const created: string[] = [];

afterAll(async () => {
  await Promise.all(created.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A project whose raw database `main` reads `db/`, holding one good migration. */
async function project(): Promise<{ dir: string; db: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'sc-adv-migrations-'));
  created.push(dir);
  const db = join(dir, 'db');
  await mkdir(db);
  await writeFile(join(db, '0001_first.sql'), 'CREATE TABLE t (id int);\n');
  await writeFile(
    join(dir, 'stagecraft.yml'),
    `service: advmig
image: 127.0.0.1:5000/acme/advmig
databases:
  main:
    url: postgres://u:p@127.0.0.1:9/x
    migrations: { engine: raw, path: db, strategy: pre_deploy }
environments:
  prod:
    hosts:
      - { address: local, roles: [primary, web] }
`,
  );
  return { dir, db };
}

async function rejection(promise: Promise<unknown>): Promise<UserError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(UserError);
  return error as UserError;
}

type Plant = (db: string) => Promise<void>;
const kinds: { name: string; entry: string; plant: Plant; says: string }[] = [
  { name: 'a directory', entry: '0002_x.sql', plant: (db) => mkdir(join(db, '0002_x.sql')), says: 'is a directory' },
  { name: 'a dangling symlink', entry: '0002_x.sql', plant: (db) => symlink(join(db, 'nowhere'), join(db, '0002_x.sql')), says: 'is a dangling symlink' },
  { name: 'a symlink to a directory', entry: '0002_x.sql', plant: (db) => symlink(tmpdir(), join(db, '0002_x.sql')), says: 'is a symlink to a directory' },
  { name: 'a symlink loop', entry: '0002_x.sql', plant: (db) => symlink(join(db, '0002_x.sql'), join(db, '0002_x.sql')), says: 'is a symlink loop' },
  { name: 'a down file that is a directory', entry: '0001_first.down.sql', plant: (db) => mkdir(join(db, '0001_first.down.sql')), says: 'is a directory' },
  {
    name: 'a named pipe (reading it would block)',
    entry: '0002_x.sql',
    plant: async (db) => {
      await execa('mkfifo', [join(db, '0002_x.sql')]);
    },
    says: 'is not a regular file (a device, socket or pipe)',
  },
];

describe('entries of a raw migrations directory that are not files', () => {
  it.each(kinds)('$name is a user error naming it', async ({ entry, plant, says }) => {
    const { db } = await project();
    await plant(db);
    const error = await rejection(readMigrationFiles(db, 'db'));
    expect(error.exitCode).toBe(1);
    expect(error.message).toBe(`db: ${entry}: ${says}; a migration must be a regular file`);
  });

  it('a symlink to a regular file is read like the file', async () => {
    const { dir, db } = await project();
    await writeFile(join(dir, 'shared.sql'), 'SELECT 2;\n');
    await symlink(join(dir, 'shared.sql'), join(db, '0002_shared.sql'));
    const files = await readMigrationFiles(db, 'db');
    expect(files.map((file) => [file.id, file.sql])).toEqual([
      ['0001_first', 'CREATE TABLE t (id int);\n'],
      ['0002_shared', 'SELECT 2;\n'],
    ]);
  });

  const commands = [
    ['migrate', 'validate'],
    ['migrate', 'plan', '--env', 'prod'],
    ['migrate', 'run', '--env', 'prod', '--dry-run'],
  ];
  it.each(commands.flatMap((args) => kinds.slice(0, 2).map((kind) => ({ command: args.join(' '), args, ...kind }))))(
    '`$command` with $name → exit 1 naming the path',
    async ({ args, entry, plant, says }) => {
      const { dir, db } = await project();
      await plant(db);
      const result = await execa(process.execPath, [bin, ...args], { cwd: dir, reject: false, env: { CI: 'true', STAGECRAFT_ENV: '' }, stdin: 'ignore', timeout: 60_000 });
      const output = `${String(result.stdout)}\n${String(result.stderr)}`;
      expect(output).toContain(`db: ${entry}: ${says}`);
      expect(output).not.toContain('internal error');
      expect(result.exitCode).toBe(1);
    },
  );
});

describe('hostile migration file names', () => {
  const names = [
    'with space.sql',
    '0002_with space.sql',
    'new\nline.sql',
    '0002_a\r\n0003_b.sql',
    '\u001b[31mred\u001b[0m.sql',
    '0002_x\u001b]0;pwned\u0007.sql',
    '\u009b2J.sql',
    'ünïcödé_名前.sql',
    '0002_évolution.sql',
    'exe.\u202egpj.sql',
    `${'é'.repeat(120)}.sql`,
    '..sql',
    '0002_..sql',
    '-rf.sql',
    '"quoted".sql',
  ];

  it.each(names.map((name) => ({ shown: JSON.stringify(name).slice(0, 40), name })))('$shown is refused as a bad name without echoing control characters', async ({ name }) => {
    const { db } = await project();
    await writeFile(join(db, name), 'SELECT 1;\n');
    const error = await rejection(readMigrationFiles(db, 'db'));
    expect(error.message).toContain('expected NNNN_name.sql');
    expect(error.message).toContain(printableText(name));
    // One problem, one line, nothing a terminal would interpret.
    // eslint-disable-next-line no-control-regex
    expect(error.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
  });

  it('a very long valid name (249 bytes) is a migration like any other', async () => {
    const { db } = await project();
    const name = `0002_${'a'.repeat(240)}.sql`;
    await writeFile(join(db, name), 'SELECT 1;\n');
    expect((await readMigrationFiles(db, 'db')).map((file) => file.file)).toEqual(['0001_first.sql', name]);
  });

  it('file names print escaped: printableText escapes control and direction characters, and leaves ordinary Unicode alone', () => {
    expect(printableText('ünïcödé_名前.sql')).toBe('ünïcödé_名前.sql');
    expect(printableText('with space.sql')).toBe('with space.sql');
    expect(printableText('new\nline.sql')).toBe('"new\\nline.sql"');
    expect(printableText('\u001b[31mred.sql')).toBe('"\\u001b[31mred.sql"');
    expect(printableText('\u009b2J.sql')).toBe('"\\u009b2J.sql"');
    expect(printableText('exe.\u202egpj.sql')).toBe('"exe.\\u202egpj.sql"');
    expect(printableText('a"\tb.sql')).toBe('"a\\"\\tb.sql"');
  });

  it('`migrate validate` over hostile names exits 1 and prints no escape sequence', async () => {
    const { dir, db } = await project();
    for (const name of names) await writeFile(join(db, name), 'SELECT 1;\n');
    const result = await execa(process.execPath, [bin, 'migrate', 'validate'], { cwd: dir, reject: false, env: { CI: 'true' }, stdin: 'ignore' });
    expect(result.exitCode).toBe(1);
    const output = `${String(result.stdout)}${String(result.stderr)}`;
    expect(output).toContain('"\\u001b[31mred\\u001b[0m.sql": expected NNNN_name.sql');
    // eslint-disable-next-line no-control-regex
    expect(output).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
  });
});

describe('`migrate validate` exit codes', () => {
  it('SQL that does not parse is a user error: exit 1, naming file and line', async () => {
    const { dir, db } = await project();
    await writeFile(join(db, '0002_bad.sql'), 'SELECT 1;\nCREATE TABEL x (id int);\n');
    const result = await execa(process.execPath, [bin, 'migrate', 'validate'], { cwd: dir, reject: false, env: { CI: 'true' }, stdin: 'ignore' });
    expect(String(result.stdout)).toMatch(/^db\/0002_bad\.sql:2: /m);
    expect(String(result.stderr)).toContain('1 problem(s) in migration files');
    expect(result.exitCode).toBe(1);
  });

  it('a badly named file is a user error: exit 1', async () => {
    const { dir, db } = await project();
    await writeFile(join(db, 'create.sql'), 'SELECT 1;\n');
    const result = await execa(process.execPath, [bin, 'migrate', 'validate'], { cwd: dir, reject: false, env: { CI: 'true' }, stdin: 'ignore' });
    expect(String(result.stdout)).toContain('db: create.sql: expected NNNN_name.sql');
    expect(result.exitCode).toBe(1);
  });

  it('good files: exit 0', async () => {
    const { dir } = await project();
    const result = await execa(process.execPath, [bin, 'migrate', 'validate'], { cwd: dir, reject: false, env: { CI: 'true' }, stdin: 'ignore' });
    expect(String(result.stdout)).toBe('main [raw]: 1 file(s) parse');
    expect(result.exitCode).toBe(0);
  });
});
