/**
 * sqitch, end to end on examples/sqitch (a project shaped like sqitch's tutorial: sqitch.conf with
 * named targets, sqitch.plan with tags and a reworked change, deploy/ revert/ verify/), with the
 * real sqitch from Debian in the app image and the testbed's PostgreSQL. `migrate plan` starts no
 * sqitch: it reads db/ from the image and sqitch.changes read-only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../../src/build/build.js';
import { withRegistryLogin } from '../../src/build/docker-cli.js';
import { pushImage } from '../../src/build/push.js';
import { readTestbedState } from './helpers/testbed-state.js';
import type { TestbedState } from './helpers/testbed-state.js';
import { MigrateProject, databaseIn, scratchDatabase, servedVersion, uniqueService } from './helpers/migrate-project.js';
import type { MigrateDatabaseSpec, ScratchDatabase } from './helpers/migrate-project.js';

const HOST = '10.201.0.12';
const PORT = 8380;
const IDS = ['appschema', 'users@v1.0', 'flips', 'users'];
const REGISTRY_TABLES = ['changes', 'dependencies', 'events', 'projects', 'releases', 'tags'];

describe('sqitch: a tutorial-shaped project with a reworked change', () => {
  let state: TestbedState;
  let project: MigrateProject;
  let db: ScratchDatabase;
  let main: MigrateDatabaseSpec;

  const states = async (...extra: string[]) => databaseIn(await project.plan(...extra), 'main').migrations.map((m) => `${m.id}:${m.state}`);
  const imageRef = (tag: string) => `${state.registry.server}/e2e/${project.service}:${tag}`;

  /** Builds the project as it is now and pushes it as `tag` (what a deploy's build would do). */
  async function buildAndPush(tag: string): Promise<string> {
    const ref = imageRef(tag);
    await buildImage({ baseDir: project.dir, context: '.', dockerfile: 'Dockerfile', args: {}, imageRef: ref, labels: {} }, () => undefined);
    await withRegistryLogin({ server: state.registry.server, username: state.registry.username, password: state.registry.password }, (env) => pushImage(ref, env, () => undefined));
    return ref;
  }

  beforeAll(async () => {
    state = readTestbedState();
    db = await scratchDatabase(state, 'e2em_sqitch');
    main = { url: db.url, engine: 'sqitch', path: 'db', strategy: 'pre_deploy' };
    project = await MigrateProject.create({ service: uniqueService('sqitch'), proxyPort: PORT, app: 'sqitch', hosts: [HOST], databases: { main } }, state);
  });

  afterAll(async () => {
    await project?.cleanup();
    await db?.drop();
  });

  it('every entry pending (plan writes nothing) → --to @v1.0 → deploy → none pending; sqitch\'s registry tables exist', async () => {
    const image = await buildAndPush('s0');
    const fresh = await db.snapshot();
    const plan = databaseIn(await project.plan('--image', image), 'main');
    expect(plan).toMatchObject({ readable: true, applied_count: 0, pending_count: 4, would_run: IDS });
    expect(plan.migrations.map((m) => `${m.id}:${m.state}`)).toEqual(IDS.map((id) => `${id}:pending`));
    expect(await db.snapshot()).toEqual(fresh);
    expect(await db.query("SELECT to_regnamespace('sqitch')::text AS registry")).toEqual([{ registry: null }]);

    const partial = await project.run('migrate', 'run', '--database', 'main', '--to', '@v1.0', '--image', image);
    expect(partial.exitCode, partial.stdout + partial.stderr).toBe(0);
    expect(partial.stdout + partial.stderr).toContain('deploy --verify --to @v1.0');
    expect(await states('--image', image)).toEqual(['appschema:applied', 'users@v1.0:applied', 'flips:pending', 'users:pending']);

    const deploy = await project.run('deploy', '--version', 'v1');
    expect(deploy.exitCode, deploy.stdout + deploy.stderr).toBe(0);
    expect(await servedVersion(HOST, PORT)).toBe('v1');
    const after = databaseIn(await project.plan(), 'main');
    expect(after).toMatchObject({ readable: true, applied_count: 4, pending_count: 0, would_run: [] });
    expect(after.migrations.map((m) => `${m.id}:${m.state}`)).toEqual(IDS.map((id) => `${id}:applied`));

    const tables = await db.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'sqitch' ORDER BY 1");
    expect(tables.map((t) => t.table_name)).toEqual(expect.arrayContaining(REGISTRY_TABLES));
    expect(await db.query('SELECT change FROM sqitch.changes ORDER BY committed_at')).toEqual(['appschema', 'users', 'flips', 'users'].map((change) => ({ change })));
    expect(await db.query('SELECT tag FROM sqitch.tags ORDER BY committed_at')).toEqual([{ tag: '@v1.0' }, { tag: '@v1.1' }]);
    // The reworked users ran after the original: the column it adds is there.
    expect(await db.query("SELECT column_name FROM information_schema.columns WHERE table_schema = 'flipr' AND table_name = 'users' ORDER BY ordinal_position")).toEqual(
      ['nickname', 'password', 'timestamp', 'bio'].map((column_name) => ({ column_name })),
    );
  });

  it('editing a deployed script shows as drift in the plan and blocks the deploy; v1 keeps serving', async () => {
    const original = await project.readFile('db/deploy/flips.sql');
    const registry = await db.query('SELECT change_id, script_hash FROM sqitch.changes ORDER BY committed_at');
    await project.writeFile('db/deploy/flips.sql', original.replace('length(body) <= 180', 'length(body) <= 280'));
    try {
      const edited = await buildAndPush('s1');
      const plan = databaseIn(await project.plan('--image', edited), 'main');
      expect(plan.migrations.find((m) => m.id === 'flips')).toMatchObject({ state: 'drifted' });
      expect(plan.blocked).toMatch(/drift: .*flips/);

      const deploy = await project.run('deploy', '--version', 'v2');
      expect(deploy.exitCode, deploy.stdout + deploy.stderr).not.toBe(0);
      expect(deploy.stdout + deploy.stderr).toMatch(/drift.*flips/);
      expect(await servedVersion(HOST, PORT)).toBe('v1');
      expect(await db.query('SELECT change_id, script_hash FROM sqitch.changes ORDER BY committed_at')).toEqual(registry);
    } finally {
      await project.writeFile('db/deploy/flips.sql', original);
    }
  });

  it('migrate rollback --steps 2 reverts two changes with sqitch revert', async () => {
    const rollback = await project.run('migrate', 'rollback', '--database', 'main', '--steps', '2', '--yes');
    expect(rollback.exitCode, rollback.stdout + rollback.stderr).toBe(0);
    expect(rollback.stdout + rollback.stderr).toMatch(/reverting users, flips: sqitch --chdir db revert -y --to [0-9a-f]{40} \(users@v1\.0\)/);
    expect(await states()).toEqual(['appschema:applied', 'users@v1.0:applied', 'flips:pending', 'users:pending']);
    expect(await db.query("SELECT to_regclass('flipr.flips')::text AS flips")).toEqual([{ flips: null }]);
    expect(await db.query("SELECT event, change FROM sqitch.events WHERE event = 'revert' ORDER BY committed_at")).toEqual([
      { event: 'revert', change: 'users' },
      { event: 'revert', change: 'flips' },
    ]);
  });

  it('verify runs after each deployed change: a failing verify script fails the run, and sqitch (deploy mode "all") takes back what the run deployed', async () => {
    const original = await project.readFile('db/verify/users.sql');
    await project.writeFile('db/verify/users.sql', original.replace('bio', 'no_such_column'));
    try {
      const broken = await buildAndPush('s2');
      const run = await project.run('migrate', 'run', '--database', 'main', '--image', broken);
      expect(run.exitCode, run.stdout + run.stderr).toBe(4);
      expect(run.stdout + run.stderr).toContain('no_such_column');
      expect(run.stdout + run.stderr).toMatch(/users: sqitch --chdir db deploy --verify exited with code/);
      expect(await states('--image', broken)).toEqual(['appschema:applied', 'users@v1.0:applied', 'flips:pending', 'users:pending']);
      expect(await db.query("SELECT event, change FROM sqitch.events ORDER BY committed_at DESC LIMIT 3")).toEqual([
        { event: 'revert', change: 'flips' },
        { event: 'fail', change: 'users' },
        { event: 'deploy', change: 'flips' },
      ]);
    } finally {
      await project.writeFile('db/verify/users.sql', original);
    }
    const good = await project.run('migrate', 'run', '--database', 'main', '--image', imageRef('s0'));
    expect(good.exitCode, good.stdout + good.stderr).toBe(0);
    expect(await states('--image', imageRef('s0'))).toEqual(IDS.map((id) => `${id}:applied`));
  });

  it('an image without sqitch.conf at migrations.path is a config error at that key', async () => {
    await project.configure({ databases: { main: { ...main, path: '.' } } });
    try {
      const plan = await project.run('migrate', 'plan', '--image', imageRef('s0'));
      expect(plan.exitCode).toBe(1);
      const text = await project.readFile('stagecraft.yml');
      const lines = text.split('\n');
      const line = lines.findIndex((l) => /^\s+path: \.$/.test(l));
      expect(line).toBeGreaterThan(0);
      const col = lines[line]!.indexOf('.') + 1;
      expect(plan.stderr).toContain(`stagecraft.yml:${line + 1}:${col}: databases.main.migrations.path: no sqitch.conf in /app of image ${imageRef('s0')}`);
    } finally {
      await project.configure({ databases: { main } });
    }
  });
});
