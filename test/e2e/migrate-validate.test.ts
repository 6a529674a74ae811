/**
 * `migrate validate --env` against the testbed's real PostgreSQL, through the real built CLI: a
 * clean project passes; an applied file edited since (drift), an applied id whose files are gone,
 * and a row left `running` while nobody holds the migration lock (dirty) each exit 4 naming what is
 * wrong; without --env the same files validate offline and pass.
 */
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTestbedState } from './helpers/testbed-state.js';
import type { TestbedState } from './helpers/testbed-state.js';
import { MigrateProject, REPO_ROOT, scratchDatabase, uniqueService } from './helpers/migrate-project.js';
import type { CliResult, ScratchDatabase } from './helpers/migrate-project.js';

const PRIMARY = '10.201.0.12';
const DIR = 'db/validate';
const FILES: Record<string, string> = {
  '0001_v_users.sql': 'CREATE TABLE v_users (id bigserial PRIMARY KEY, name text NOT NULL);\n',
  '0001_v_users.down.sql': 'DROP TABLE v_users;\n',
  '0002_v_users_email.sql': 'ALTER TABLE v_users ADD COLUMN email text;\n',
  '0002_v_users_email.down.sql': 'ALTER TABLE v_users DROP COLUMN email;\n',
  '0003_v_users_index.sql': 'CREATE INDEX v_users_email ON v_users (email);\n',
  '0003_v_users_index.down.sql': 'DROP INDEX v_users_email;\n',
};

interface ValidateJson {
  environment: string;
  databases: { database: string; problems: string[]; warnings: string[]; database_checks: null | { checked: boolean; reason?: string; problems: string[] } }[];
}

describe('migrate validate --env: files against the database', () => {
  let state: TestbedState;
  let project: MigrateProject;
  let database: ScratchDatabase;

  /** The CLI without `--env` (the project helper always adds one): offline validation only. */
  const runWithoutEnv = async (...args: string[]): Promise<CliResult> => {
    const env: Record<string, string | undefined> = { ...process.env, CI: '1', NO_COLOR: '1' };
    for (const name of ['STAGECRAFT_ENV', 'STAGECRAFT_RELEASES_FILE', 'REGISTRY_PASSWORD', 'REGISTRY_USER', 'FORCE_COLOR']) env[name] = undefined;
    const result = await execa('node', [join(REPO_ROOT, 'bin', 'stagecraft.js'), ...args], { cwd: project.dir, reject: false, extendEnv: false, env, stdin: 'ignore' });
    return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
  };
  const restoreFiles = async () => {
    for (const [name, sql] of Object.entries(FILES)) await project.writeFile(`${DIR}/${name}`, sql);
  };

  beforeAll(async () => {
    state = readTestbedState();
    database = await scratchDatabase(state, 'validate_e2e');
    project = await MigrateProject.create(
      {
        service: uniqueService('validate'),
        proxyPort: 8372,
        app: 'raw-sql',
        hosts: [PRIMARY],
        databases: { main: { url: database.url, engine: 'raw', path: DIR, strategy: 'manual' } },
      },
      state,
    );
    await restoreFiles();
    // Two of three applied: a pending migration is not a problem.
    const run = await project.run('migrate', 'run', '--database', 'main', '--to', '0002_v_users_email');
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
  });

  afterAll(async () => {
    await project?.cleanup();
    await database?.drop();
  });

  it('a clean project: exit 0, the database matches its files', async () => {
    const result = await project.run('migrate', 'validate');
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toBe('main [raw]: 3 file(s) parse\nmain [raw]: database on e2e: no drift, no applied id without a file, no dirty row');
    const json = JSON.parse((await project.run('migrate', 'validate', '--json')).stdout) as ValidateJson;
    expect(json.databases[0]!.database_checks).toEqual({ checked: true, problems: [] });
  });

  it('an applied file edited since: exit 4 naming the file (drift)', async () => {
    await project.writeFile(`${DIR}/0001_v_users.sql`, 'CREATE TABLE v_users (id bigserial PRIMARY KEY, name text);\n');
    try {
      const result = await project.run('migrate', 'validate');
      expect(result.exitCode, result.stdout + result.stderr).toBe(4);
      expect(result.stdout).toContain(`main: drift: ${DIR}/0001_v_users.sql changed after it was applied`);
      expect(result.stderr).toContain('1 problem(s) found in the database(s) of e2e');
    } finally {
      await restoreFiles();
    }
  });

  it("an applied migration's files deleted: exit 4 naming its id", async () => {
    await project.removeFile(`${DIR}/0002_v_users_email.sql`);
    await project.removeFile(`${DIR}/0002_v_users_email.down.sql`);
    try {
      const result = await project.run('migrate', 'validate');
      expect(result.exitCode, result.stdout + result.stderr).toBe(4);
      expect(result.stdout).toContain(`main: 0002_v_users_email is applied but has no file in ${DIR}`);
    } finally {
      await restoreFiles();
    }
  });

  it('a row left running while nobody holds the migration lock: exit 4 naming it (dirty); resolve clears it', async () => {
    await database.query("UPDATE stagecraft_migrations SET status = 'running', finished_at = NULL WHERE id = '0001_v_users'");
    const result = await project.run('migrate', 'validate');
    expect(result.exitCode, result.stdout + result.stderr).toBe(4);
    expect(result.stdout).toContain(`main: ${DIR}/0001_v_users.sql: dirty: left "running"`);
    expect(result.stdout).toContain('stagecraft migrate resolve --env e2e --database main 0001_v_users --applied|--rolled-back');

    const resolved = await project.run('migrate', 'resolve', '--database', 'main', '0001_v_users', '--applied');
    expect(resolved.exitCode, resolved.stdout + resolved.stderr).toBe(0);
    expect((await project.run('migrate', 'validate')).exitCode).toBe(0);
  });

  it('all three at once: --json lists each; without --env the same files validate offline with exit 0', async () => {
    await project.writeFile(`${DIR}/0001_v_users.sql`, '-- edited\nCREATE TABLE v_users (id bigserial PRIMARY KEY, name text NOT NULL);\n');
    await project.removeFile(`${DIR}/0002_v_users_email.sql`);
    await project.removeFile(`${DIR}/0002_v_users_email.down.sql`);
    await database.query("INSERT INTO stagecraft_migrations (id, checksum, status, started_at, executed_by, environment) VALUES ('0003_v_users_index', 'x', 'running', now(), 'e2e@validate', 'e2e')");
    try {
      const result = await project.run('migrate', 'validate', '--json');
      expect(result.exitCode, result.stdout + result.stderr).toBe(4);
      const json = JSON.parse(result.stdout) as ValidateJson;
      expect(json.environment).toBe('e2e');
      expect(json.databases[0]!.problems).toEqual([]);
      expect(json.databases[0]!.database_checks).toEqual({
        checked: true,
        problems: [
          expect.stringContaining(`main: drift: ${DIR}/0001_v_users.sql`),
          expect.stringContaining(`main: ${DIR}/0003_v_users_index.sql: dirty: left "running" by e2e@validate`),
          `main: 0002_v_users_email is applied but has no file in ${DIR}`,
        ],
      });

      const offline = await runWithoutEnv('migrate', 'validate');
      expect(offline.exitCode, offline.stdout + offline.stderr).toBe(0);
      expect(offline.stdout).toBe('main [raw]: 2 file(s) parse');
    } finally {
      await restoreFiles();
      await database.query("DELETE FROM stagecraft_migrations WHERE id = '0003_v_users_index'");
    }
  });
});
