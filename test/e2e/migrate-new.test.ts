/**
 * `migrate new` on the real testbed: every built-in template written into a plain-layout raw
 * directory, one into an up-down (golang-migrate) directory, one environment-specific; what it
 * writes passes `migrate validate` and `migrate run` applies it to a scratch PostgreSQL database.
 */
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTestbedState } from './helpers/testbed-state.js';
import type { TestbedState } from './helpers/testbed-state.js';
import { MigrateProject, REPO_ROOT, scratchDatabase, uniqueService } from './helpers/migrate-project.js';
import type { CliResult, ScratchDatabase } from './helpers/migrate-project.js';

describe('migrate new: raw migrations from templates that validate and apply', () => {
  let state: TestbedState;
  let project: MigrateProject;
  let plain: ScratchDatabase;
  let upDown: ScratchDatabase;

  /** The CLI without `--env` (the project helper always adds one, which would mean an environment's own file). */
  const runWithoutEnv = async (...args: string[]): Promise<CliResult> => {
    const env: Record<string, string | undefined> = { ...process.env, CI: '1', NO_COLOR: '1' };
    for (const name of ['STAGECRAFT_ENV', 'STAGECRAFT_RELEASES_FILE', 'REGISTRY_PASSWORD', 'REGISTRY_USER', 'FORCE_COLOR']) env[name] = undefined;
    const result = await execa('node', [join(REPO_ROOT, 'bin', 'stagecraft.js'), ...args], { cwd: project.dir, reject: false, extendEnv: false, env, stdin: 'ignore' });
    return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
  };
  const rows = (db: ScratchDatabase) => db.query<{ id: string; status: string }>('SELECT id, status FROM stagecraft_migrations ORDER BY started_at, id');

  beforeAll(async () => {
    state = readTestbedState();
    [plain, upDown] = await Promise.all([scratchDatabase(state, 'e2em_new_plain'), scratchDatabase(state, 'e2em_new_updown')]);
    project = await MigrateProject.create(
      {
        service: uniqueService('new'),
        proxyPort: 8364,
        app: 'raw-sql',
        hosts: ['10.201.0.12'],
        databases: {
          plain: { url: plain.url, engine: 'raw', path: 'db/new_plain', strategy: 'manual' },
          updown: { url: upDown.url, engine: 'raw', path: 'db/new_updown', strategy: 'manual' },
          tool: { url: plain.url, engine: 'knex', path: 'migrations', strategy: 'manual' },
        },
      },
      state,
    );
    await project.writeFile('db/new_plain/.keep', '');
    await project.writeFile('db/new_updown/000001_users.up.sql', 'CREATE TABLE users (id bigint PRIMARY KEY);\n');
    await project.writeFile('db/new_updown/000001_users.down.sql', 'DROP TABLE users;\n');
  });

  afterAll(async () => {
    await project?.cleanup();
    await Promise.all([plain, upDown].map((db) => db?.drop()));
  });

  it('writes every template in the plain layout, numbered 0001 up; validate passes and run applies them', async () => {
    const made: string[] = [];
    for (const [name, template, extra] of [
      ['Create Widgets', 'table', []],
      ['add_index_to_widgets', 'index', ['--depends-on', '1']],
      ['backfill_widgets', 'data', ['--depends-on', '0001_create_widgets,0002']],
      ['notes', 'blank', []],
    ] as const) {
      const result = await runWithoutEnv('migrate', 'new', name, '--database', 'plain', '--template', template, ...extra);
      expect(result.exitCode, result.stderr).toBe(0);
      made.push(...result.stdout.trim().split('\n'));
    }
    expect(made).toEqual([
      'db/new_plain/0001_create_widgets.sql',
      'db/new_plain/0001_create_widgets.down.sql',
      'db/new_plain/0002_add_index_to_widgets.sql',
      'db/new_plain/0002_add_index_to_widgets.down.sql',
      'db/new_plain/0003_backfill_widgets.sql',
      'db/new_plain/0003_backfill_widgets.down.sql',
      'db/new_plain/0004_notes.sql',
      'db/new_plain/0004_notes.down.sql',
    ]);
    const index = await project.readFile('db/new_plain/0002_add_index_to_widgets.sql');
    expect(index.split('\n').slice(0, 2)).toEqual(['-- stagecraft:no-transaction', '-- stagecraft:depends-on 0001_create_widgets']);
    expect(index).toContain('CREATE INDEX CONCURRENTLY widgets_created_at_idx ON widgets (created_at);');

    // An environment's own migration: numbered after every base one, in <path>/<env>/.
    const own = await project.run('migrate', 'new', 'seed_widgets', '--database', 'plain', '--template', 'data', '--depends-on', '1');
    expect(own.exitCode, own.stderr).toBe(0);
    expect(own.stdout.trim().split('\n')).toEqual(['db/new_plain/e2e/0005_seed_widgets.sql', 'db/new_plain/e2e/0005_seed_widgets.down.sql']);

    const validate = await project.run('migrate', 'validate', '--database', 'plain');
    expect(validate.exitCode, validate.stdout + validate.stderr).toBe(0);
    expect(validate.stdout).toContain('plain [raw]: 5 file(s) parse');

    const run = await project.run('migrate', 'run', '--database', 'plain');
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect((await rows(plain)).map((r) => [r.id, r.status])).toEqual([
      ['0001_create_widgets', 'completed'],
      ['0002_add_index_to_widgets', 'completed'],
      ['0003_backfill_widgets', 'completed'],
      ['0004_notes', 'completed'],
      ['0005_seed_widgets', 'completed'],
    ]);
    expect(await plain.query("SELECT indexname FROM pg_indexes WHERE tablename = 'widgets' AND indexname = 'widgets_created_at_idx'")).toHaveLength(1);
  });

  it('follows an up-down directory and its width; validate and run pass', async () => {
    const result = await runWithoutEnv('migrate', 'new', 'create_orders', '--database', 'updown', '--template', 'table');
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual(['db/new_updown/000002_create_orders.up.sql', 'db/new_updown/000002_create_orders.down.sql']);
    expect(await project.readFile('db/new_updown/000002_create_orders.down.sql')).toContain('DROP TABLE orders;');

    const validate = await project.run('migrate', 'validate', '--database', 'updown');
    expect(validate.exitCode, validate.stdout + validate.stderr).toBe(0);
    const run = await project.run('migrate', 'run', '--database', 'updown');
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect((await rows(upDown)).map((r) => [r.id, r.status])).toEqual([
      ['000001_users', 'completed'],
      ['000002_create_orders', 'completed'],
    ]);
    expect(await upDown.query("SELECT to_regclass('orders') AS t")).toEqual([{ t: 'orders' }]);
  });

  it('refuses a tool engine (naming its command), an empty name and an unknown dependency with exit 1', async () => {
    const tool = await runWithoutEnv('migrate', 'new', 'add_x', '--database', 'tool');
    expect(tool.exitCode).toBe(1);
    expect(tool.stderr).toContain('npx knex migrate:make add_x');
    const empty = await runWithoutEnv('migrate', 'new', '***', '--database', 'plain');
    expect(empty.exitCode).toBe(1);
    expect(empty.stderr).toContain('no letter or digit');
    const missing = await runWithoutEnv('migrate', 'new', 'x', '--database', 'plain', '--depends-on', '0042');
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain('--depends-on 0042');
  });
});
