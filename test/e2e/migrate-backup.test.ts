/**
 * Backups before destructive changes (`databases.X.backup`) on the real testbed: the backup is a
 * one-off container on the primary host running the testbed's PostgreSQL client image (Debian
 * bookworm's postgresql-client) with pg_dump, writing into a directory bind-mounted from the host.
 * It runs before a destructive migration and its dump holds the data the migration drops; a failing
 * backup stops the deploy (or `migrate run`) with exit 4 before any migration, and the release
 * records it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTestbedState } from './helpers/testbed-state.js';
import type { TestbedState } from './helpers/testbed-state.js';
import { MigrateProject, scratchDatabase, servedVersion, uniqueService } from './helpers/migrate-project.js';
import type { MigrateDatabaseSpec, ScratchDatabase } from './helpers/migrate-project.js';

const HOST = '10.201.0.12';
const PORT = 8378;

// DATABASE_URL reaches pg_dump from the container's environment only, never argv.
const DUMP = ['sh', '-c', 'pg_dump --no-owner --file="/backups/$STAGECRAFT_BACKUP_NAME.sql" "$DATABASE_URL" && echo "dumped $STAGECRAFT_DATABASE to /backups/$STAGECRAFT_BACKUP_NAME.sql"'];
const FAIL = ['sh', '-c', 'echo "backup tool: disk full" >&2; exit 1'];

/** The rows pg_dump wrote for a table, as its COPY block's lines. */
function dumpedRows(dump: string, table: string): string[] {
  const block = new RegExp(`^COPY public\\.${table} \\(([^)]*)\\) FROM stdin;\n([\\s\\S]*?)^\\\\\\.$`, 'm').exec(dump);
  if (!block) throw new Error(`no COPY block for ${table} in the dump`);
  return [block[1]!, ...block[2]!.split('\n').filter((line) => line !== '')];
}

describe('backups before destructive migrations', () => {
  let state: TestbedState;
  let project: MigrateProject;
  let db: ScratchDatabase;
  let backupDir: string;

  const columns = async () =>
    (await db.query<{ column_name: string }>("SELECT column_name FROM information_schema.columns WHERE table_name = 'accounts' ORDER BY column_name")).map((r) => r.column_name);
  const applied = async () => (await db.query<{ id: string }>("SELECT id FROM stagecraft_migrations WHERE status = 'completed' ORDER BY id")).map((r) => r.id);
  const database = (command: string[]): MigrateDatabaseSpec => ({
    url: db.url,
    engine: 'raw',
    path: 'db/main',
    strategy: 'pre_deploy',
    backup: { image: state.images.pg_client, command, timeout: '2m', volumes: [`${backupDir}:/backups`] },
  });

  beforeAll(async () => {
    state = readTestbedState();
    db = await scratchDatabase(state, 'e2em_backup');
    backupDir = await mkdtemp('/tmp/sc-e2em-backup-');
    await chmod(backupDir, 0o777);
    project = await MigrateProject.create(
      { service: uniqueService('backup'), proxyPort: PORT, app: 'hello', hosts: [HOST], databases: { main: { url: db.url, engine: 'raw', path: 'db/main', strategy: 'pre_deploy' } } },
      state,
    );
    await project.configure({ databases: { main: database(DUMP) } });
    await project.writeFile(
      'db/main/0001_accounts.sql',
      "CREATE TABLE accounts (id int PRIMARY KEY, legacy text, nickname text);\nINSERT INTO accounts VALUES (1, 'old-plan-a', 'ann'), (2, 'old-plan-b', 'bob');\n",
    );
    // Nothing destructive: no backup.
    const first = await project.run('deploy', '--version', 'v1');
    expect(first.exitCode, first.stdout + first.stderr).toBe(0);
    expect((await project.lastRelease()).backups).toBeUndefined();
    expect(readdirSync(backupDir)).toEqual([]);
  });

  afterAll(async () => {
    await project?.cleanup();
    await db?.drop();
    if (backupDir) await rm(backupDir, { recursive: true, force: true });
  });

  it('a deploy with a DROP COLUMN backs up first: the dump on the host holds the dropped column, the release records it', async () => {
    await project.writeFile('db/main/0002_drop_legacy.sql', '-- stagecraft:allow drop-column v1 no longer reads legacy\nALTER TABLE accounts DROP COLUMN legacy;\n');
    const dryRun = await project.run('deploy', '--version', 'v2', '--dry-run');
    expect(dryRun.stdout).toContain(`backup before destructive migrations: ${state.images.pg_client} sh -c`);

    const deploy = await project.run('deploy', '--version', 'v2');
    expect(deploy.exitCode, deploy.stdout + deploy.stderr).toBe(0);
    const output = deploy.stdout + deploy.stderr;
    expect(output).not.toContain(state.postgres.password);
    const release = await project.lastRelease();
    expect(release.status).toBe('completed');
    const name = `${project.service}-main-${release.id}`;
    expect(release.backups).toEqual([
      { database: 'main', status: 'completed', reason: 'destructive: 0002_drop_legacy (drop-column)', name, duration_ms: expect.any(Number), log_tail: [`dumped main to /backups/${name}.sql`] },
    ]);
    expect(name).toContain(release.id);
    const file = join(backupDir, `${name}.sql`);
    expect(existsSync(file)).toBe(true);
    expect(dumpedRows(readFileSync(file, 'utf8'), 'accounts')).toEqual(['id, legacy, nickname', '1\told-plan-a\tann', '2\told-plan-b\tbob']);
    expect(await columns()).toEqual(['id', 'nickname']);
    expect(JSON.stringify(release)).not.toContain(state.postgres.password);

    const shown = await project.run('releases', 'show', release.id);
    expect(shown.stdout).toContain(`backups\n  main  completed`);
    expect(shown.stdout).toContain('reason: destructive: 0002_drop_legacy (drop-column)');
  });

  it('a failing backup: deploy exits 4 with nothing applied, the release records the failure, v2 keeps serving', async () => {
    await project.configure({ databases: { main: database(FAIL) } });
    await project.writeFile('db/main/0003_drop_nickname.sql', '-- stagecraft:allow drop-column nobody reads nickname\nALTER TABLE accounts DROP COLUMN nickname;\n');
    const deploy = await project.run('deploy', '--version', 'v3');
    expect(deploy.exitCode, deploy.stdout + deploy.stderr).toBe(4);
    expect(deploy.stderr).toContain('main: backup failed: exited 1; no migration was run');
    const release = await project.lastRelease();
    expect(release.status).toBe('failed');
    expect(release.phases.migrate_pre.status).toBe('failed');
    expect(release.phases.rollout.status).toBe('skipped');
    expect(release.migrations).toEqual([]);
    expect(release.backups).toMatchObject([{ database: 'main', status: 'failed', error: 'exited 1', log_tail: ['backup tool: disk full'] }]);
    expect(await applied()).toEqual(['0001_accounts', '0002_drop_legacy']);
    expect(await columns()).toEqual(['id', 'nickname']);
    expect(await servedVersion(HOST, PORT)).toBe('v2');
  });

  it('migrate run --yes: a failing backup exits 4 with nothing applied; a working one dumps, then the migration applies', async () => {
    const failed = await project.run('migrate', 'run', '--yes');
    expect(failed.exitCode, failed.stdout + failed.stderr).toBe(4);
    expect(failed.stdout).toContain('main: backs up first (destructive: 0003_drop_nickname (drop-column))');
    expect(failed.stderr).toContain('main: backup failed: exited 1; no migration was run');
    expect(await applied()).toEqual(['0001_accounts', '0002_drop_legacy']);
    expect(await columns()).toEqual(['id', 'nickname']);

    await project.configure({ databases: { main: database(DUMP) } });
    const before = new Set(readdirSync(backupDir));
    const run = await project.run('migrate', 'run', '--yes');
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).not.toContain(state.postgres.password);
    const made = readdirSync(backupDir).filter((file) => !before.has(file));
    expect(made).toHaveLength(1);
    expect(made[0]).toMatch(new RegExp(`^${project.service}-main-\\d{8}-\\d{6}\\.sql$`));
    expect(dumpedRows(readFileSync(join(backupDir, made[0]!), 'utf8'), 'accounts')).toEqual(['id, nickname', '1\tann', '2\tbob']);
    expect(await applied()).toEqual(['0001_accounts', '0002_drop_legacy', '0003_drop_nickname']);
    expect(await columns()).toEqual(['id']);
  });
});
