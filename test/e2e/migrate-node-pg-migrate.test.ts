/**
 * node-pg-migrate end to end on the testbed, with examples/node-pg-migrate (node-pg-migrate 9):
 * `migrate plan` lists migrations/ in the image and reads public.pgmigrations read-only (on a fresh
 * database it writes nothing: no pgmigrations appears), a deploy runs `node-pg-migrate up` in a
 * one-off container, `migrate rollback --steps 2` runs `node-pg-migrate down 2`, and the plan after
 * shows those two pending again; `migrate run` applies them again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../../src/build/build.js';
import { withRegistryLogin } from '../../src/build/docker-cli.js';
import { pushImage } from '../../src/build/push.js';
import { readTestbedState } from './helpers/testbed-state.js';
import type { TestbedState } from './helpers/testbed-state.js';
import { MigrateProject, databaseIn, scratchDatabase, uniqueService } from './helpers/migrate-project.js';
import type { ScratchDatabase } from './helpers/migrate-project.js';

const IDS = ['1796199569161_create-greetings', '1796199570677_add-greeting-language', '1796199572140_seed-greetings'];

describe('node-pg-migrate: plan without a container, deploy, rollback through down', () => {
  let state: TestbedState;
  let project: MigrateProject;
  let db: ScratchDatabase;

  beforeAll(async () => {
    state = readTestbedState();
    db = await scratchDatabase(state, 'e2em_npgm');
    project = await MigrateProject.create(
      {
        service: uniqueService('npgm'),
        proxyPort: 8388,
        app: 'node-pg-migrate',
        hosts: ['10.201.0.13'],
        databases: { main: { url: db.url, engine: 'node-pg-migrate', path: 'migrations', strategy: 'pre_deploy' } },
      },
      state,
    );
  });

  afterAll(async () => {
    await project?.cleanup();
    await db?.drop();
  });

  it('plan on a fresh database: 3 pending, nothing written; deploy: 0 pending; rollback --steps 2: 2 pending again; run: 0', async () => {
    const image = `${state.registry.server}/e2e/${project.service}:plan`;
    const login = { server: state.registry.server, username: state.registry.username, password: state.registry.password };
    await buildImage({ baseDir: project.dir, context: '.', dockerfile: 'Dockerfile', args: {}, imageRef: image, labels: {} }, () => undefined);
    await withRegistryLogin(login, (env) => pushImage(image, env, () => undefined));

    const fresh = await db.snapshot();
    const before = databaseIn(await project.plan('--image', image), 'main');
    expect(before).toMatchObject({ readable: true, applied_count: 0, pending_count: 3, would_run: IDS });
    expect(before.migrations.map((m) => `${m.state} ${m.id}`)).toEqual(IDS.map((id) => `pending ${id}`));
    expect(await db.snapshot()).toEqual(fresh);
    expect(fresh.some((line) => line.includes('pgmigrations'))).toBe(false);

    const deploy = await project.run('deploy', '--version', 'v1');
    expect(deploy.exitCode, deploy.stdout + deploy.stderr).toBe(0);
    expect(deploy.stdout + deploy.stderr).toContain('node-pg-migrate up -m migrations');
    expect(deploy.stdout + deploy.stderr).not.toContain(db.url);
    const record = (await project.lastRelease()).migrations.find((m) => m.database === 'main');
    expect(record?.applied, JSON.stringify(record) + deploy.stdout + deploy.stderr).toEqual(IDS);

    const deployed = databaseIn(await project.plan(), 'main');
    expect(deployed).toMatchObject({ readable: true, applied_count: 3, pending_count: 0, would_run: [] });
    expect(await db.query('SELECT name FROM pgmigrations ORDER BY run_on, id')).toEqual(IDS.map((name) => ({ name })));
    expect(await db.query('SELECT message, language FROM greetings ORDER BY id')).toHaveLength(3);

    const dryRun = await project.run('migrate', 'rollback', '--database', 'main', '--steps', '2', '--dry-run');
    expect(dryRun.exitCode, dryRun.stdout + dryRun.stderr).toBe(0);
    expect(dryRun.stdout).toContain(IDS[2]);
    expect(dryRun.stdout).toContain(IDS[1]);

    const rollback = await project.run('migrate', 'rollback', '--database', 'main', '--steps', '2', '--yes');
    expect(rollback.exitCode, rollback.stdout + rollback.stderr).toBe(0);
    expect(rollback.stdout).toContain('node-pg-migrate down 2 -m migrations');
    const rolledBack = databaseIn(await project.plan(), 'main');
    expect(rolledBack).toMatchObject({ readable: true, applied_count: 1, pending_count: 2, would_run: IDS.slice(1) });
    expect(rolledBack.migrations.map((m) => `${m.state} ${m.id}`)).toEqual([`applied ${IDS[0]}`, `pending ${IDS[1]}`, `pending ${IDS[2]}`]);
    expect(await db.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'greetings' ORDER BY ordinal_position")).toEqual([
      { column_name: 'id' },
      { column_name: 'message' },
      { column_name: 'created_at' },
    ]);
    expect(await db.query('SELECT count(*)::int AS n FROM greetings')).toEqual([{ n: 0 }]);

    const run = await project.run('migrate', 'run', '--database', 'main', '--yes');
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(databaseIn(await project.plan(), 'main')).toMatchObject({ applied_count: 3, pending_count: 0 });
  });
});
