/**
 * drizzle end to end on the testbed, with examples/drizzle (drizzle-kit 0.31): `migrate plan` reads
 * the journal from the image and drizzle.__drizzle_migrations read-only (on a fresh database it
 * writes nothing: no drizzle schema appears), a deploy runs `drizzle-kit migrate` in a one-off
 * container, and `migrate rollback` refuses (drizzle-kit has no down migrations), changing nothing. An applied
 * file edited in a later image is drift: the plan shows it and a run refuses before drizzle-kit starts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../../src/build/build.js';
import { withRegistryLogin } from '../../src/build/docker-cli.js';
import { pushImage } from '../../src/build/push.js';
import { readTestbedState } from './helpers/testbed-state.js';
import type { TestbedState } from './helpers/testbed-state.js';
import { MigrateProject, databaseIn, scratchDatabase, uniqueService } from './helpers/migrate-project.js';
import type { ScratchDatabase } from './helpers/migrate-project.js';

const IDS = ['0000_create_greetings', '0001_add_greeting_language', '0002_seed_greetings'];

describe('drizzle: plan without a container, deploy, no rollback', () => {
  let state: TestbedState;
  let project: MigrateProject;
  let db: ScratchDatabase;

  beforeAll(async () => {
    state = readTestbedState();
    db = await scratchDatabase(state, 'e2em_drizzle');
    project = await MigrateProject.create(
      {
        service: uniqueService('drizzle'),
        proxyPort: 8386,
        app: 'drizzle',
        hosts: ['10.201.0.12'],
        databases: { main: { url: db.url, engine: 'drizzle', path: 'drizzle', strategy: 'pre_deploy' } },
      },
      state,
    );
  });

  afterAll(async () => {
    await project?.cleanup();
    await db?.drop();
  });

  it('plan on a fresh database: 3 pending and nothing written; deploy: 0 pending; rollback refused (exit 1), nothing changed; an edited applied file is drift, a run refuses (exit 4)', async () => {
    const image = `${state.registry.server}/e2e/${project.service}:plan`;
    const login = { server: state.registry.server, username: state.registry.username, password: state.registry.password };
    await buildImage({ baseDir: project.dir, context: '.', dockerfile: 'Dockerfile', args: {}, imageRef: image, labels: {} }, () => undefined);
    await withRegistryLogin(login, (env) => pushImage(image, env, () => undefined));

    const fresh = await db.snapshot();
    const before = databaseIn(await project.plan('--image', image), 'main');
    expect(before).toMatchObject({ readable: true, applied_count: 0, pending_count: 3, would_run: IDS });
    expect(before.migrations.map((m) => `${m.state} ${m.id}`)).toEqual(IDS.map((id) => `pending ${id}`));
    expect(await db.snapshot()).toEqual(fresh);
    expect(fresh.some((line) => line.includes('drizzle'))).toBe(false);

    const deploy = await project.run('deploy', '--version', 'v1');
    expect(deploy.exitCode, deploy.stdout + deploy.stderr).toBe(0);
    expect(deploy.stdout + deploy.stderr).toContain('drizzle-kit migrate');
    const release = await project.lastRelease();
    expect(release.migrations?.find((m) => m.database === 'main')?.applied).toEqual(IDS);

    const after = databaseIn(await project.plan(), 'main');
    expect(after).toMatchObject({ readable: true, applied_count: 3, pending_count: 0, would_run: [] });
    expect(after.migrations.map((m) => `${m.state} ${m.id}`)).toEqual(IDS.map((id) => `applied ${id}`));
    expect(await db.query('SELECT message, language FROM greetings ORDER BY id')).toEqual([
      { message: 'hello', language: 'en' },
      { message: 'bonjour', language: 'fr' },
      { message: 'hallo', language: 'de' },
    ]);
    expect(await db.query('SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations')).toEqual([{ n: 3 }]);

    const applied = await db.snapshot();
    const rollback = await project.run('migrate', 'rollback', '--database', 'main', '--steps', '1', '--yes');
    expect(rollback.exitCode, rollback.stdout + rollback.stderr).toBe(1);
    expect(rollback.stderr).toContain('drizzle-kit writes no down migrations');
    expect(rollback.stderr).not.toMatch(/\n\s+at /);
    expect(await db.snapshot()).toEqual(applied);
    expect(databaseIn(await project.plan(), 'main')).toMatchObject({ applied_count: 3, pending_count: 0 });

    // An applied migration edited in a later image: its sha256 no longer matches its row.
    await project.writeFile('drizzle/0001_add_greeting_language.sql', `${await project.readFile('drizzle/0001_add_greeting_language.sql')}\n-- edited after it was applied\n`);
    const edited = `${state.registry.server}/e2e/${project.service}:edited`;
    await buildImage({ baseDir: project.dir, context: '.', dockerfile: 'Dockerfile', args: {}, imageRef: edited, labels: {} }, () => undefined);
    await withRegistryLogin(login, (env) => pushImage(edited, env, () => undefined));
    const drifted = databaseIn(await project.plan('--image', edited), 'main');
    expect(drifted.migrations.map((m) => `${m.state} ${m.id}`)).toEqual([`applied ${IDS[0]}`, `drifted ${IDS[1]}`, `applied ${IDS[2]}`]);
    expect(drifted.migrations[1]!.error).toContain('0001_add_greeting_language.sql changed after it was applied (sha256 differs from "drizzle"."__drizzle_migrations")');
    const refused = await project.run('migrate', 'run', '--database', 'main', '--image', edited, '--yes');
    expect(refused.exitCode, refused.stdout + refused.stderr).toBe(4);
    expect(refused.stderr).toContain('drift');
    expect(refused.stdout + refused.stderr).not.toContain('running node_modules/.bin/drizzle-kit');
    // Only stagecraft's own history gains the refused attempt; drizzle's tables and the app's are untouched.
    const withoutHistory = (lines: string[]) => lines.filter((line) => !line.startsWith('table public.stagecraft_migration_history:'));
    expect(withoutHistory(await db.snapshot())).toEqual(withoutHistory(applied));
  });
});
