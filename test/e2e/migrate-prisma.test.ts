/**
 * prisma end to end on the testbed, with the real prisma CLI (6.19.3, WebAssembly schema engine
 * through @prisma/adapter-pg) in the examples/prisma image:
 *   - `migrate plan` on a fresh database lists the 3 migrations as pending and writes nothing (no
 *     _prisma_migrations: the tables and row counts are identical before and after);
 *   - `deploy` runs `prisma migrate deploy` before the rollout: 3 applied, 0 pending, and the
 *     checksums prisma recorded are the sha256 of the image's migration.sql files;
 *   - `migrate plan` again writes nothing; `migrate rollback` refuses (prisma has no down
 *     migrations) and changes nothing.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../../src/build/build.js';
import { withRegistryLogin } from '../../src/build/docker-cli.js';
import { pushImage } from '../../src/build/push.js';
import { readTestbedState } from './helpers/testbed-state.js';
import type { TestbedState } from './helpers/testbed-state.js';
import { MigrateProject, databaseIn, scratchDatabase, servedVersion, uniqueService } from './helpers/migrate-project.js';
import type { ScratchDatabase } from './helpers/migrate-project.js';
import { snapshotDatabase } from './helpers/database-snapshot.js';

const PORT = 8394;
const HOST = '10.201.0.12';
const MIGRATIONS = ['20250101000000_create_greetings', '20250102000000_add_greeting_language', '20250103000000_seed_greetings'];

describe('prisma end to end', () => {
  let state: TestbedState;
  let project: MigrateProject;
  let db: ScratchDatabase;

  beforeAll(async () => {
    state = readTestbedState();
    db = await scratchDatabase(state, 'e2em_prisma');
    project = await MigrateProject.create(
      {
        service: uniqueService('prisma'),
        proxyPort: PORT,
        app: 'prisma',
        hosts: [HOST],
        databases: { main: { url: db.url, engine: 'prisma', path: 'prisma/migrations', strategy: 'pre_deploy' } },
      },
      state,
    );
  });

  afterAll(async () => {
    await project?.cleanup();
    await db?.drop();
  });

  it('plan writes nothing on a fresh database; deploy applies 3; plan shows 0 pending; rollback refuses and changes nothing', async () => {
    // Before any deploy, plan reads the migrations from an image of the same project built here.
    const image = `${state.registry.server}/e2e/${project.service}:plan`;
    await buildImage({ baseDir: project.dir, context: '.', dockerfile: 'Dockerfile', args: {}, imageRef: image, labels: {} }, () => undefined);
    const login = { server: state.registry.server, username: state.registry.username, password: state.registry.password };
    await withRegistryLogin(login, (env) => pushImage(image, env, () => undefined));

    const fresh = await snapshotDatabase(db);
    const before = databaseIn(await project.plan('--image', image), 'main');
    expect(before).toMatchObject({ readable: true, applied_count: 0, pending_count: 3 });
    expect(before.migrations).toEqual(MIGRATIONS.map((id) => ({ id, state: 'pending' })));
    expect(await snapshotDatabase(db)).toEqual(fresh);
    expect(fresh).toEqual({});

    const deploy = await project.run('deploy', '--version', 'v1');
    expect(deploy.exitCode, deploy.stdout + deploy.stderr).toBe(0);
    expect(await servedVersion(HOST, PORT)).toContain('v1');
    const release = await project.lastRelease();
    expect(release.migrations).toMatchObject([{ database: 'main', engine: 'prisma', status: 'completed', applied: MIGRATIONS }]);

    const rows = await db.query<{ migration_name: string; checksum: string; finished_at: Date | null }>(
      'SELECT migration_name, checksum, finished_at FROM _prisma_migrations ORDER BY migration_name',
    );
    const checksums = await Promise.all(
      MIGRATIONS.map(async (id) => createHash('sha256').update(await readFile(join(project.dir, 'prisma/migrations', id, 'migration.sql'))).digest('hex')),
    );
    expect(rows.map((row) => [row.migration_name, row.checksum, row.finished_at !== null])).toEqual(MIGRATIONS.map((id, i) => [id, checksums[i], true]));

    const applied = await snapshotDatabase(db);
    // stagecraft_migration_history: stagecraft's own record of the tool run (one row per migration applied).
    expect(applied).toEqual({ 'public."Greeting"': 2, 'public._prisma_migrations': 3, 'public.stagecraft_migration_history': 3 });
    const after = databaseIn(await project.plan(), 'main');
    expect(after).toMatchObject({ readable: true, applied_count: 3, pending_count: 0 });
    expect(after.migrations.map((m) => [m.id, m.state])).toEqual(MIGRATIONS.map((id) => [id, 'applied']));
    expect(await snapshotDatabase(db)).toEqual(applied);

    const rollback = await project.run('migrate', 'rollback', '--database', 'main', '--yes');
    expect(rollback.exitCode, rollback.stdout + rollback.stderr).toBe(1);
    expect(rollback.stderr).toContain('engine prisma does not support `migrate rollback`');
    expect(rollback.stderr).toContain('prisma writes no down migrations');
    expect(await snapshotDatabase(db)).toEqual(applied);
  });
});
