/**
 * The expand/contract guard on a real deploy: a DROP COLUMN that would run before the rollout
 * (a pre_deploy database) refuses the deploy with exit 2 before anything happens, while the old
 * version still serves; marked `-- stagecraft:post-deploy` it runs after every host switched; with
 * `-- stagecraft:allow drop-column REASON` it runs before, and the reason is in the release.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTestbedState } from './helpers/testbed-state.js';
import type { TestbedState } from './helpers/testbed-state.js';
import { MigrateProject, databaseIn, scratchDatabase, servedVersion, uniqueService } from './helpers/migrate-project.js';
import type { ScratchDatabase } from './helpers/migrate-project.js';

const HOST = '10.201.0.13';
const PORT = 8376;

describe('expand/contract guard on deploy', () => {
  let state: TestbedState;
  let project: MigrateProject;
  let db: ScratchDatabase;

  const columns = async () =>
    (await db.query<{ column_name: string }>("SELECT column_name FROM information_schema.columns WHERE table_name = 'accounts' ORDER BY column_name")).map((r) => r.column_name);

  beforeAll(async () => {
    state = readTestbedState();
    db = await scratchDatabase(state, 'e2em_guard');
    project = await MigrateProject.create(
      { service: uniqueService('guard'), proxyPort: PORT, app: 'raw-sql', hosts: [HOST], databases: { guard: { url: db.url, engine: 'raw', path: 'db/guard', strategy: 'pre_deploy' } } },
      state,
    );
    await project.writeFile('db/guard/0001_accounts.sql', 'CREATE TABLE accounts (id int PRIMARY KEY, legacy text, nickname text);\n');
    const first = await project.run('deploy', '--version', 'v1');
    expect(first.exitCode, first.stdout + first.stderr).toBe(0);
  });

  afterAll(async () => {
    await project?.cleanup();
    await db?.drop();
  });

  it('a DROP COLUMN before the rollout: exit 2 naming file, line, rule and fix; no release, no build, v1 still serves', async () => {
    await project.writeFile('db/guard/0002_drop_legacy.sql', 'ALTER TABLE accounts DROP COLUMN legacy;\n');
    const planned = databaseIn(await project.plan(), 'guard').migrations.find((m) => m.id === '0002_drop_legacy') as { findings?: { rule: string; class: string }[] };
    expect(planned.findings?.map((f) => [f.rule, f.class])).toEqual([['drop-column', 'destructive']]);
    const dryRun = await project.run('migrate', 'run', '--dry-run');
    expect(dryRun.stdout).toContain('✖ line 1: drop-column (destructive)');

    const releasesBefore = (await project.releases()).length;
    const refused = await project.run('deploy', '--version', 'v2');
    expect(refused.exitCode, refused.stdout + refused.stderr).toBe(2);
    expect(refused.stderr).toContain('guard: db/guard/0002_drop_legacy.sql:1: drop-column (destructive)');
    expect(refused.stderr).toContain('nothing was changed');
    expect(refused.stderr).toContain('-- stagecraft:post-deploy');
    expect(refused.stdout + refused.stderr).not.toContain('docker build');
    expect(await project.releases()).toHaveLength(releasesBefore);
    expect(await servedVersion(HOST, PORT)).toBe('v1');
    expect(await columns()).toEqual(['id', 'legacy', 'nickname']);
  });

  it('marked post-deploy: the deploy completes, and the column goes only after the rollout switched', async () => {
    await project.writeFile('db/guard/0002_drop_legacy.sql', '-- stagecraft:post-deploy\nALTER TABLE accounts DROP COLUMN legacy;\n');
    const deploy = await project.run('deploy', '--version', 'v2');
    expect(deploy.exitCode, deploy.stdout + deploy.stderr).toBe(0);
    const release = await project.lastRelease();
    expect(release.status).toBe('completed');
    const post = release.migrations.filter((m) => m.database === 'guard' && m.applied.length > 0);
    expect(post.map((m) => m.applied)).toEqual([['0002_drop_legacy']]);
    const [row] = await db.query<{ finished_at: Date }>("SELECT finished_at FROM stagecraft_migrations WHERE id = '0002_drop_legacy'");
    expect(row!.finished_at.getTime()).toBeGreaterThanOrEqual(Date.parse(release.phases.rollout.finished_at!));
    expect(Date.parse(release.phases.migrate_post.started_at!)).toBeGreaterThanOrEqual(Date.parse(release.phases.rollout.finished_at!));
    expect(await columns()).toEqual(['id', 'nickname']);
    expect(await servedVersion(HOST, PORT)).toBe('v2');
  });

  it('rollback to v1 after the DROP COLUMN: exit 2 naming migration and release (the dry run shows it); --force proceeds', async () => {
    const releases = await project.releases();
    const v1 = releases.find((r) => r.version === 'v1' && r.status === 'completed')!;
    const v2 = releases.find((r) => r.version === 'v2' && r.status === 'completed')!;
    expect(v2.migrations.flatMap((m) => m.steps ?? []).find((s) => s.id === '0002_drop_legacy')?.risk).toEqual([{ rule: 'drop-column', class: 'destructive' }]);

    const preview = await project.run('rollback', '--to', v1.id, '--dry-run');
    expect(preview.exitCode, preview.stderr).toBe(0);
    expect(preview.stdout).toContain(`${v2.id} (v2) applied guard: 0002_drop_legacy (drop-column, destructive)`);
    expect(preview.stdout).toContain('a rollback refuses (exit 2) unless --force');

    const refused = await project.run('rollback', '--to', v1.id);
    expect(refused.exitCode, refused.stdout + refused.stderr).toBe(2);
    expect(refused.stderr).toContain(`cannot roll back to ${v1.id} (v1): since it was deployed, ${v2.id} (v2) applied guard: 0002_drop_legacy (drop-column, destructive)`);
    expect(await project.releases()).toHaveLength(releases.length);
    expect(await servedVersion(HOST, PORT)).toBe('v2');

    const forced = await project.run('rollback', '--to', v1.id, '--force');
    expect(forced.exitCode, forced.stdout + forced.stderr).toBe(0);
    expect(await servedVersion(HOST, PORT)).toBe('v1');
  });

  it('accepted with -- stagecraft:allow: it runs before the rollout and the reason is recorded in the release', async () => {
    const reason = 'no release ever read nickname';
    await project.writeFile('db/guard/0003_drop_nickname.sql', `-- stagecraft:allow drop-column ${reason}\nALTER TABLE accounts DROP COLUMN nickname;\n`);
    const deploy = await project.run('deploy', '--version', 'v3');
    expect(deploy.exitCode, deploy.stdout + deploy.stderr).toBe(0);
    const release = await project.lastRelease();
    const record = release.migrations.find((m) => m.database === 'guard' && m.applied.includes('0003_drop_nickname'))!;
    expect(record.steps?.find((s) => s.id === '0003_drop_nickname')?.accepted).toEqual([{ rule: 'drop-column', line: 2, reason }]);
    expect(Date.parse(release.phases.migrate_pre.finished_at!)).toBeLessThanOrEqual(Date.parse(release.phases.rollout.started_at!));
    expect(await columns()).toEqual(['id']);
    const shown = await project.run('releases', 'show', release.id);
    expect(shown.stdout).toContain(`accepted drop-column (line 2): ${reason}`);
  });

  it('a DROP COLUMN applied by `migrate run` (no release records it) also stops a rollback past it, read from the database', async () => {
    const v3 = (await project.releases()).find((r) => r.version === 'v3' && r.status === 'completed')!;
    await project.writeFile('db/guard/0004_notes.sql', 'CREATE TABLE notes (id int PRIMARY KEY, body text);\n');
    await project.writeFile('db/guard/0005_drop_body.sql', '-- stagecraft:post-deploy\nALTER TABLE notes DROP COLUMN body;\n');
    const asked = await project.run('migrate', 'run');
    expect(asked.exitCode, 'without a terminal, a destructive migration needs --yes').toBe(2);
    expect(asked.stdout).toContain('✖ line 2: drop-column (destructive)');
    const applied = await project.run('migrate', 'run', '--yes');
    expect(applied.exitCode, applied.stdout + applied.stderr).toBe(0);

    const releases = (await project.releases()).length;
    const preview = await project.run('rollback', '--to', v3.id, '--dry-run', '--json');
    expect(preview.exitCode, preview.stderr).toBe(0);
    const check = (JSON.parse(preview.stdout) as { schema_check: { databases: string; refused: boolean; schema_changes_since: { release: string; migration: string }[] } }).schema_check;
    expect(check).toMatchObject({ databases: 'read', refused: true });
    expect(check.schema_changes_since).toEqual([expect.objectContaining({ release: 'migrate run', migration: '0005_drop_body' })]);
    const refused = await project.run('rollback', '--to', v3.id);
    expect(refused.exitCode, refused.stdout + refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(new RegExp(`cannot roll back to ${v3.id} \\(v3\\): since it was deployed, migrate run \\(.+\\) applied guard: 0005_drop_body \\(drop-column, destructive\\)`));
    expect(await project.releases()).toHaveLength(releases);
    expect(await servedVersion(HOST, PORT)).toBe('v3');
  });
});
