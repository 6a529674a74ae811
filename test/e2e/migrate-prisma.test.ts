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

    const fresh = await db.snapshot();
    const before = databaseIn(await project.plan('--image', image), 'main');
    expect(before).toMatchObject({ readable: true, applied_count: 0, pending_count: 3 });
    expect(before.migrations).toEqual(MIGRATIONS.map((id) => ({ id, state: 'pending', file: `${id}/migration.sql` })));
    expect(await db.snapshot()).toEqual(fresh);
    expect(fresh).toEqual(['schema public']);

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

    const applied = await db.snapshot();
    // stagecraft_migration_history: stagecraft's own record of the tool run (one row per migration applied).
    expect(applied).toEqual(
      expect.arrayContaining(['table public.Greeting: 2 rows', 'table public._prisma_migrations: 3 rows', 'table public.stagecraft_migration_history: 3 rows']),
    );
    const after = databaseIn(await project.plan(), 'main');
    expect(after).toMatchObject({ readable: true, applied_count: 3, pending_count: 0 });
    expect(after.migrations.map((m) => [m.id, m.state])).toEqual(MIGRATIONS.map((id) => [id, 'applied']));
    expect(await db.snapshot()).toEqual(applied);

    const rollback = await project.run('migrate', 'rollback', '--database', 'main', '--yes');
    expect(rollback.exitCode, rollback.stdout + rollback.stderr).toBe(1);
    expect(rollback.stderr).toContain('engine prisma does not support `migrate rollback`');
    expect(rollback.stderr).toContain('prisma writes no down migrations');
    expect(await db.snapshot()).toEqual(applied);
  });

  it('the expand/contract guard covers prisma: a pending DROP COLUMN refuses the deploy before the build (exit 2); accepted with allow, it deploys and the reason is recorded', async () => {
    const name = '20250104000000_drop_greeting_language';
    const file = `prisma/migrations/${name}/migration.sql`;
    const columns = async () => (await db.query<{ column_name: string }>(`SELECT column_name FROM information_schema.columns WHERE table_name = 'Greeting' ORDER BY 1`)).map((r) => r.column_name);
    await project.writeFile(file, 'ALTER TABLE "Greeting" DROP COLUMN "language";\n');
    const releases = (await project.releases()).length;
    const refused = await project.run('deploy', '--version', 'v2');
    expect(refused.exitCode, refused.stdout + refused.stderr).toBe(2);
    expect(refused.stderr).toContain(`main: ${file}:1: drop-column (destructive)`);
    expect(refused.stdout + refused.stderr).not.toContain('prisma migrate deploy');
    expect(await project.releases()).toHaveLength(releases);
    expect(await columns()).toContain('language');
    expect(await servedVersion(HOST, PORT)).toContain('v1');

    const reason = 'no serving version reads language';
    await project.writeFile(file, `-- stagecraft:allow drop-column ${reason}\nALTER TABLE "Greeting" DROP COLUMN "language";\n`);
    const deploy = await project.run('deploy', '--version', 'v2');
    expect(deploy.exitCode, deploy.stdout + deploy.stderr).toBe(0);
    expect(await columns()).not.toContain('language');
    const record = (await project.lastRelease()).migrations.find((m) => m.database === 'main')!;
    expect(record.applied).toEqual([name]);
    expect(record.steps?.find((step) => step.id === name)?.accepted).toEqual([{ rule: 'drop-column', line: 2, reason }]);
  });
});
