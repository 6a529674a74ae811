import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasPostDeployMarker, migrationsDir, readMigrationFiles } from '../../../src/migrate/raw/files.js';
import { planDatabaseRun } from '../../../src/migrate/orchestrate/migration-plan.js';
import { guardRefusal, lintPlan, unsafeBeforeRollout } from '../../../src/migrate/risk/guard.js';
import { rawState } from '../../../src/migrate/raw/state.js';
import { ExitCode } from '../../../src/errors.js';
import { writeTree } from '../../helpers/built-cli.js';
import { formatDeployLint, lintDeployFiles } from '../../../src/migrate/risk/deploy-lint.js';
import type { DeployPlan } from '../../../src/plan/deploy-plan.js';

/** Expand before the rollout, contract after it: post-deploy migrations and the guard, as data. */

const made: string[] = [];
afterAll(async () => {
  await Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function project(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sc-expand-'));
  made.push(dir);
  await writeTree(path.join(dir, 'db'), files);
  return dir;
}

const FILES = {
  '0001_accounts.sql': 'CREATE TABLE accounts (id int PRIMARY KEY, legacy text);\n',
  '0002_add_email.sql': 'ALTER TABLE accounts ADD COLUMN email text;\n',
  '0003_drop_legacy.sql': '-- the old version still reads legacy\n-- stagecraft:post-deploy\nALTER TABLE accounts DROP COLUMN legacy;\n',
  'post/0004_drop_email_index.sql': 'DROP INDEX IF EXISTS accounts_email_idx;\n',
};

describe('post-deploy migrations', () => {
  it('the marker counts among the leading comment lines only', () => {
    expect(hasPostDeployMarker('-- stagecraft:post-deploy\nDROP TABLE t;')).toBe(true);
    expect(hasPostDeployMarker('\n-- why\n  -- stagecraft:post-deploy\nDROP TABLE t;')).toBe(true);
    expect(hasPostDeployMarker('DROP TABLE t;\n-- stagecraft:post-deploy\n')).toBe(false);
    expect(hasPostDeployMarker('-- stagecraft:post-deployed\nDROP TABLE t;')).toBe(false);
  });

  it('marked files and files under post/ are post-deploy, numbered with the others', async () => {
    const dir = await project(FILES);
    const files = await readMigrationFiles(path.join(dir, 'db'), 'db');
    expect(files.map((f) => [f.id, f.file, f.post_deploy])).toEqual([
      ['0001_accounts', '0001_accounts.sql', false],
      ['0002_add_email', '0002_add_email.sql', false],
      ['0003_drop_legacy', '0003_drop_legacy.sql', true],
      ['0004_drop_email_index', 'post/0004_drop_email_index.sql', true],
    ]);
  });

  it('a deploy splits a pre_deploy database: migrate_pre all but them, migrate_post only them; migrate run all, each in its phase', async () => {
    const dir = await project(FILES);
    const state = rawState(await readMigrationFiles(path.join(dir, 'db'), 'db'), []);
    const input = { database: 'main', engine: 'raw', strategy: 'pre_deploy' as const, state };
    const ids = (plan: ReturnType<typeof planDatabaseRun>) => plan.steps!.map((s) => [s.id, s.phase]);
    expect(ids(planDatabaseRun(input, 'prod', { phase: 'migrate_pre', only: 'pre' }))).toEqual([
      ['0001_accounts', 'migrate_pre'],
      ['0002_add_email', 'migrate_pre'],
    ]);
    expect(ids(planDatabaseRun(input, 'prod', { phase: 'migrate_post', only: 'post' }))).toEqual([
      ['0003_drop_legacy', 'migrate_post'],
      ['0004_drop_email_index', 'migrate_post'],
    ]);
    expect(ids(planDatabaseRun(input, 'prod'))).toEqual([
      ['0001_accounts', 'migrate_pre'],
      ['0002_add_email', 'migrate_pre'],
      ['0003_drop_legacy', 'migrate_post'],
      ['0004_drop_email_index', 'migrate_post'],
    ]);
  });
});

describe('the guard', () => {
  const settings = { engine: 'raw' as const, path: 'db' };

  async function prePlan(files: Record<string, string>) {
    const dir = await project(files);
    const state = rawState(await readMigrationFiles(path.join(dir, 'db'), 'db'), []);
    const plan = planDatabaseRun({ database: 'main', engine: 'raw', strategy: 'pre_deploy', state }, 'prod', { phase: 'migrate_pre', only: 'pre' });
    return lintPlan(plan, dir, settings, 'prod');
  }

  it('a destructive step before the rollout is unsafe, named with file, line and rule; the refusal is exit 2', async () => {
    const plan = await prePlan({ '0001_accounts.sql': 'CREATE TABLE accounts (id int, legacy text);\n', '0002_drop.sql': '\nALTER TABLE accounts DROP COLUMN legacy;\n' });
    const unsafe = unsafeBeforeRollout(plan, 'db');
    expect(unsafe.map((u) => [u.database, u.file, u.finding.line, u.finding.rule, u.finding.class])).toEqual([['main', 'db/0002_drop.sql', 2, 'drop-column', 'destructive']]);
    const refusal = guardRefusal(unsafe);
    expect(refusal.exitCode).toBe(ExitCode.refused);
    expect(refusal.message).toContain('main: db/0002_drop.sql:2: drop-column (destructive)');
    expect(refusal.hint).toContain('-- stagecraft:post-deploy');
  });

  it('post-deploy, accepted and merely locking steps pass; the accepted reason stays on the step', async () => {
    const plan = await prePlan({
      '0001_accounts.sql': 'CREATE TABLE accounts (id int, legacy text, nick text);\n',
      '0002_drop.sql': '-- stagecraft:post-deploy\nALTER TABLE accounts DROP COLUMN legacy;\n',
      '0003_drop_nick.sql': '-- stagecraft:allow drop-column never read\nALTER TABLE accounts DROP COLUMN nick;\n',
      '0004_index.sql': 'CREATE INDEX accounts_id ON accounts (id);\n',
    });
    expect(unsafeBeforeRollout(plan, 'db')).toEqual([]);
    expect(plan.steps!.map((s) => s.id)).toEqual(['0001_accounts', '0003_drop_nick', '0004_index']);
    expect(plan.steps![1]!.accepted).toEqual([expect.objectContaining({ rule: 'drop-column', line: 2, reason: 'never read' })]);
    expect(plan.steps![2]!.findings?.map((f) => f.class)).toEqual(['locking']);
  });
});

describe('deploy --dry-run', () => {
  it('lints every file of the raw databases and says which would be refused before the rollout if pending', async () => {
    const dir = await project({
      '0001_accounts.sql': 'CREATE TABLE accounts (id int, legacy text);\n',
      '0002_drop.sql': 'ALTER TABLE accounts DROP COLUMN legacy;\n',
      'post/0003_drop_table.sql': 'DROP TABLE accounts;\n',
    });
    const migration = { database: 'main', engine: 'raw', strategy: 'pre_deploy' as const, host: 'h', container: 'c', command: [], timeout_ms: 1000, path: 'db' };
    const plan = {
      environment: 'prod',
      phases: [
        { name: 'migrate_pre', migrations: [{ ...migration, only: 'pre' }], not_run: [] },
        { name: 'migrate_post', migrations: [{ ...migration, only: 'post' }], not_run: [] },
      ],
    } as unknown as DeployPlan;
    const files = await lintDeployFiles(dir, plan);
    // Paths are shown relative to the working directory (here outside it: absolute).
    const shown = migrationsDir(dir, 'db').display;
    expect(files.map((f) => [f.file, f.phase, f.findings.map((x) => x.rule)])).toEqual([
      [`${shown}/0002_drop.sql`, 'migrate_pre', ['drop-column']],
      [`${shown}/post/0003_drop_table.sql`, 'migrate_post', ['drop-table']],
    ]);
    const text = formatDeployLint(files);
    expect(text).toContain('✖ line 1: drop-column (destructive): dropping column legacy');
    expect(text.split('\n').filter((line) => line.includes('refused before the rollout'))).toHaveLength(1);
  });
});
