import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBuiltCli, writeTree } from '../../helpers/built-cli.js';

/**
 * `migrate lint` through the built CLI: on a project's configured databases and on loose .sql files;
 * the text lines, the --json document's keys, and the exit codes (0 clean, 1 problems, 2 findings).
 */
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sc-lint-cli-'));
  await writeTree(dir, {
    'db/0001_accounts.sql': 'CREATE TABLE accounts (id bigint, email text);\nCREATE INDEX accounts_email ON accounts (email);\n',
    'db/0002_drop_legacy.sql': '-- stagecraft:allow drop-table nothing has read it since release 40\nDROP TABLE legacy;\n\nALTER TABLE accounts ADD COLUMN plan text NOT NULL;\n',
    'db/0002_drop_legacy.down.sql': 'DROP TABLE accounts;\n',
    'clean/0001_a.sql': 'CREATE TABLE a (id bigint);\n',
    'loose/ok.sql': '-- stagecraft:no-transaction\nCREATE INDEX CONCURRENTLY a_id ON a (id);\n',
    'loose/tx.sql': 'CREATE INDEX CONCURRENTLY a_id ON a (id);\n',
    'loose/broken.sql': 'CREATE TABLE b (id int);\n\nALTER TABLE b ADD COLUMN;\n',
  });
  await writeFile(
    join(dir, 'stagecraft.yml'),
    `service: lint
image: 127.0.0.1:5000/acme/lint
databases:
  main:
    url: postgres://u:p@127.0.0.1:9/x
    migrations: { engine: raw, path: db }
  clean:
    url: postgres://u:p@127.0.0.1:9/x
    migrations: { engine: raw, path: clean }
  tool:
    url: postgres://u:p@127.0.0.1:9/x
    migrations: { engine: knex, path: db }
environments:
  prod:
    hosts:
      - { address: local, roles: [primary, web] }
`,
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function lint(args: string[]) {
  return runBuiltCli(['migrate', 'lint', ...args], { cwd: dir, env: { STAGECRAFT_ENV: '' } });
}

describe('stagecraft migrate lint', () => {
  it('lints every configured database: findings, accepted ones, engines it cannot read; exit 2', async () => {
    const { code, stdout, stderr } = await lint([]);
    expect(code).toBe(2);
    expect(stdout.split('\n').filter(Boolean)).toEqual([
      expect.stringMatching(/^db\/0002_drop_legacy\.sql:2: drop-table \(destructive\) accepted: nothing has read it since release 40$/),
      expect.stringMatching(/^db\/0002_drop_legacy\.sql:4: not-null-without-default \(incompatible\) adding accounts\.plan NOT NULL without a DEFAULT .* — fix: add the column with a constant DEFAULT/),
      'tool [knex]: not linted (knex migrations are JavaScript: not linted)',
      '1 finding(s) not accepted in 3 file(s), 1 accepted',
    ]);
    expect(stderr).toMatch(/^error: 1 risky statement\(s\) not accepted\nhint: .*-- stagecraft:allow RULE/);
  });

  it('--database lints one database; no findings is exit 0', async () => {
    const { code, stdout } = await lint(['--database', 'clean']);
    expect(code).toBe(0);
    expect(stdout).toBe('no findings in 1 file(s)');
  });

  it('an unknown --database is exit 1', async () => {
    const { code, stderr } = await lint(['--database', 'mian']);
    expect(code).toBe(1);
    expect(stderr).toContain('unknown database "mian" (did you mean "main"?)');
  });

  it('--json prints exactly the documented keys', async () => {
    const { code, stdout } = await lint(['--json']);
    expect(code).toBe(2);
    const document = JSON.parse(stdout) as { files: Record<string, unknown>[]; not_linted: unknown[] };
    expect(Object.keys(document)).toEqual(['files', 'not_linted']);
    expect(document.files.map((file) => Object.keys(file))).toEqual(Array(3).fill(['path', 'database', 'findings', 'accepted', 'problems']));
    const legacy = document.files.find((file) => file.path === 'db/0002_drop_legacy.sql') as { findings: Record<string, unknown>[]; accepted: Record<string, unknown>[]; database: string };
    expect(legacy.database).toBe('main');
    expect(legacy.findings.map((finding) => Object.keys(finding))).toEqual([['rule', 'class', 'line', 'statement', 'message', 'fix']]);
    expect(legacy.findings[0]).toMatchObject({ rule: 'not-null-without-default', class: 'incompatible', line: 4, statement: 'ALTER TABLE accounts ADD COLUMN plan text NOT NULL' });
    expect(legacy.accepted).toEqual([expect.objectContaining({ rule: 'drop-table', class: 'destructive', line: 2, statement: 'DROP TABLE legacy', reason: 'nothing has read it since release 40' })]);
    expect(Object.keys(legacy.accepted[0]!)).toEqual(['rule', 'class', 'line', 'statement', 'message', 'fix', 'reason']);
    expect(document.not_linted).toEqual([{ database: 'tool', engine: 'knex', reason: 'knex migrations are JavaScript: not linted' }]);
  });

  it('lints loose .sql files without a config: the no-transaction marker decides CONCURRENTLY', async () => {
    const ok = await lint(['loose/ok.sql', '-c', 'nowhere.yml']);
    expect(ok).toMatchObject({ code: 0, stdout: 'no findings in 1 file(s)' });
    const tx = await lint(['loose/tx.sql', 'loose/ok.sql', '--json']);
    expect(tx.code).toBe(2);
    const document = JSON.parse(tx.stdout) as { files: { path: string; database: null; findings: { rule: string; line: number }[] }[] };
    expect(document.files.map((file) => [file.path, file.database, file.findings.map((f) => `${f.line} ${f.rule}`)])).toEqual([
      ['loose/tx.sql', null, ['1 concurrently-in-transaction']],
      ['loose/ok.sql', null, []],
    ]);
  });

  it('a file that does not parse is a problem with file:line; exit 1', async () => {
    const { code, stdout, stderr } = await lint(['loose/broken.sql', 'loose/tx.sql']);
    expect(code).toBe(1);
    expect(stdout).toContain('loose/broken.sql:3: SQL does not parse: syntax error at or near ";"\n');
    expect(stdout).toContain('loose/tx.sql:1: concurrently-in-transaction (locking)');
    expect(stderr).toBe('error: 1 problem(s) in migration files');
  });

  it('a missing file, a directory, or --database with files is exit 1', async () => {
    expect(await lint(['loose/nope.sql'])).toMatchObject({ code: 1, stderr: 'error: loose/nope.sql: no such file' });
    expect(await lint(['loose'])).toMatchObject({ code: 1, stderr: expect.stringContaining('loose: is a directory') });
    expect(await lint(['--database', 'main', 'loose/ok.sql'])).toMatchObject({ code: 1, stderr: expect.stringContaining('not both') });
    expect(await lint(['/dev/null'])).toMatchObject({ code: 1, stderr: 'error: /dev/null: not a regular file' });
  });
});
