import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBuiltCli, writeTree } from '../../helpers/built-cli.js';

/**
 * `migrate validate` through the built CLI: warnings and exit codes, --strict, the --json document,
 * and --env reaching the databases (here one nobody listens for: a database problem, exit 4).
 */
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sc-validate-cli-'));
  await writeTree(dir, {
    'db/0001_a.sql': 'CREATE TABLE a (id int);\n',
    'db/0001_a.down.sql': 'DROP TABLE a;\n',
    'db/0002_b.sql': 'ALTER TABLE a ADD COLUMN b text;\n',
    'db/staging/0005_demo.sql': 'INSERT INTO a VALUES (1);\n',
    'db/staging/0005_demo.down.sql': 'DELETE FROM a;\n',
  });
  await writeFile(
    join(dir, 'stagecraft.yml'),
    `service: valid
image: 127.0.0.1:5000/acme/valid
databases:
  main:
    url: postgres://u:p@127.0.0.1:9/x
    migrations: { engine: raw, path: db, strategy: pre_deploy }
  tool:
    url: postgres://u:p@127.0.0.1:9/x
    migrations: { engine: knex, path: db, strategy: pre_deploy }
environments:
  prod:
    hosts:
      - { address: local, roles: [primary, web] }
  staging:
    hosts:
      - { address: local, roles: [primary, web] }
`,
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function validate(args: string[], STAGECRAFT_ENV = 'prod') {
  return runBuiltCli(['migrate', 'validate', ...args], { cwd: dir, env: { STAGECRAFT_ENV } });
}

const MISSING_DOWN = 'db/0002_b.sql: no down file (db/0002_b.down.sql): `migrate rollback` cannot revert 0002_b';

interface ValidateJson {
  environment: string;
  strict: boolean;
  databases: {
    database: string;
    engine: string;
    checked: boolean;
    reason?: string;
    files: number;
    problems: string[];
    warnings: string[];
    database_checks: null | { checked: boolean; reason?: string; problems: string[] };
  }[];
}

describe('migrate validate (built CLI)', () => {
  it('STAGECRAFT_ENV alone: offline; a missing down file is a warning on stderr, exit 0', async () => {
    const result = await validate([]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('main [raw]: 2 file(s) parse\ntool [knex]: not checked (engine knex validates its own files)');
    expect(result.stderr).toBe(`warning: ${MISSING_DOWN}`);
  });

  it('--strict: the missing down file is a problem, exit 1', async () => {
    const result = await validate(['--strict']);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(MISSING_DOWN);
    expect(result.stderr).toContain('1 problem(s) in migration files');
    expect(result.stderr).not.toContain('warning:');
  });

  it('--json: the documented document, warnings and all; STAGECRAFT_ENV chooses the files but stays offline', async () => {
    const result = await validate(['--json'], 'staging');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout) as ValidateJson;
    expect(report).toEqual({
      environment: 'staging',
      strict: false,
      databases: [
        { database: 'main', engine: 'raw', checked: true, files: 3, problems: [], warnings: [MISSING_DOWN], database_checks: null },
        { database: 'tool', engine: 'knex', checked: false, reason: 'engine knex validates its own files', files: 0, problems: [], warnings: [], database_checks: null },
      ],
    });
  });

  it('--json --strict moves the warning into problems and exits 1', async () => {
    const result = await validate(['--json', '--strict', '--database', 'main']);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as ValidateJson;
    expect(report.strict).toBe(true);
    expect(report.databases).toEqual([expect.objectContaining({ database: 'main', problems: [MISSING_DOWN], warnings: [] })]);
  });

  it('--env: a database that cannot be reached is a database problem (exit 4); a tool engine is not checked', async () => {
    const result = await validate(['--env', 'prod', '--json'], 'staging');
    expect(result.code, result.stderr).toBe(4);
    const report = JSON.parse(result.stdout) as ValidateJson;
    expect(report.environment).toBe('prod');
    expect(report.databases.map((d) => [d.database, d.files, d.database_checks])).toEqual([
      ['main', 2, { checked: false, reason: expect.stringContaining('cannot connect to 127.0.0.1:9') as string, problems: [expect.stringMatching(/^main: cannot check the database: cannot connect to 127\.0\.0\.1:9/) as string] }],
      ['tool', 0, { checked: false, reason: 'engine knex keeps its own state', problems: [] }],
    ]);
    expect(result.stderr).toContain('1 problem(s) found in the database(s) of prod');

    const text = await validate(['--env', 'prod']);
    expect(text.code).toBe(4);
    expect(text.stdout).toContain('main: cannot check the database: cannot connect to 127.0.0.1:9');
    expect(text.stdout).toContain('tool [knex]: database not checked: engine knex keeps its own state');

    const before = await runBuiltCli(['--env', 'prod', 'migrate', 'validate', '--database', 'main'], { cwd: dir, env: { STAGECRAFT_ENV: 'staging' } });
    expect(before.code, '--env typed before the command reaches the databases too').toBe(4);
  });

  it('--env --strict: file and database problems are all printed; the files decide the exit code (1)', async () => {
    const result = await validate(['--strict', '--env', 'prod', '--database', 'main']);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(MISSING_DOWN);
    expect(result.stdout).toContain('main: cannot check the database:');
    expect(result.stderr).toContain('1 problem(s) in migration files and 1 in the database(s)');
  });
});
