import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checksumOf, readMigrationFiles } from '../../../src/migrate/raw/files.js';
import { rawState } from '../../../src/migrate/raw/state.js';
import type { TrackingRow, TrackingStatus } from '../../../src/migrate/raw/tracking.js';
import { databaseProblems, validateRawMigrations } from '../../../src/migrate/validate.js';
import type { EngineSettings } from '../../../src/migrate/engine-commands.js';

/** `migrate validate`'s checks as data: temp migration directories in, problems and warnings out. */
let dir: string;
/** How messages show the migrations directory (absolute: the temp dir is outside the working directory). */
let db: string;
const raw: EngineSettings = { engine: 'raw', path: 'db' };

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sc-validate-'));
  db = join(dir, 'db');
  await mkdir(db);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function files(entries: Record<string, string>): Promise<void> {
  for (const [name, content] of Object.entries(entries)) {
    await mkdir(dirname(join(db, name)), { recursive: true });
    await writeFile(join(db, name), content);
  }
}

describe('migrate validate, offline', () => {
  it('a migration without a down file is a warning naming the file it expects; the rest is clean', async () => {
    await files({ '0001_a.sql': 'CREATE TABLE a (id int);\n', '0001_a.down.sql': 'DROP TABLE a;\n', '0002_b.sql': 'SELECT 1;\n' });
    expect(await validateRawMigrations(dir, raw)).toEqual({
      checked: true,
      files: 2,
      problems: [],
      warnings: [`${db}/0002_b.sql: no down file (${db}/0002_b.down.sql): \`migrate rollback\` cannot revert 0002_b`],
    });
  });

  it('with strict, a missing down file is a problem and no longer a warning', async () => {
    await files({ '0001_a.sql': 'CREATE TABLE a (id int);\n', '0002_b.sql': 'SELECT 1;\n', '0002_b.down.sql': 'SELECT 2;\n' });
    expect(await validateRawMigrations(dir, raw, { strict: true })).toEqual({
      checked: true,
      files: 2,
      problems: [`${db}/0001_a.sql: no down file (${db}/0001_a.down.sql): \`migrate rollback\` cannot revert 0001_a`],
      warnings: [],
    });
  });

  it("golang-migrate's layout: up and down files are both parsed, a bad down file is named with its line", async () => {
    await files({
      '000001_users.up.sql': 'CREATE TABLE users (id bigint);\n',
      '000001_users.down.sql': 'DROP TABLE users;\n',
      '000002_orgs.up.sql': 'CREATE TABLE orgs (id bigint);\n',
      '000002_orgs.down.sql': '-- undo\nDROP TABEL orgs;\n',
      '000003_plans.up.sql': 'CREATE TABLE plans (id bigint);\n',
    });
    const report = await validateRawMigrations(dir, raw, { strict: false });
    expect(report.files).toBe(3);
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]).toMatch(new RegExp(`^${db}/000002_orgs\\.down\\.sql:2: `));
    expect(report.warnings).toEqual([`${db}/000003_plans.up.sql: no down file (${db}/000003_plans.down.sql): \`migrate rollback\` cannot revert 000003_plans`]);
  });

  it("an environment's own directory counts only for that environment, its down file expected beside it", async () => {
    await files({ '0001_a.sql': 'SELECT 1;\n', '0001_a.down.sql': 'SELECT 2;\n', 'staging/0005_demo_data.sql': 'SELECT 5;\n' });
    expect(await validateRawMigrations(dir, raw, { environment: 'staging' })).toMatchObject({
      files: 2,
      problems: [],
      warnings: [`${db}/staging/0005_demo_data.sql: no down file (${db}/staging/0005_demo_data.down.sql): \`migrate rollback\` cannot revert 0005_demo_data`],
    });
    expect(await validateRawMigrations(dir, raw, { environment: 'prod' })).toMatchObject({ files: 1, problems: [], warnings: [] });
    expect(await validateRawMigrations(dir, raw, { environment: 'staging', strict: true })).toMatchObject({ files: 2, problems: [expect.stringContaining('staging/0005_demo_data.sql: no down file')] });
  });

  it('a dependency cycle is a problem naming the cycle', async () => {
    await files({ '0004_a.sql': '-- stagecraft:depends-on 0005_b\nSELECT 4;\n', '0005_b.sql': '-- stagecraft:depends-on 0004_a\nSELECT 5;\n' });
    expect(await validateRawMigrations(dir, raw)).toEqual({ checked: true, files: 0, problems: [`${db}: a dependency cycle: 0004_a → 0005_b → 0004_a`], warnings: [] });
  });

  it('a bad dependencies.json: one problem each, at line:col, every one naming the directory', async () => {
    await files({
      '0001_a.sql': 'SELECT 1;\n',
      '0002_b.sql': 'SELECT 2;\n',
      'dependencies.json': '{\n  "migrations": {\n    "0001": { "depends_on": ["0007"] },\n    "0002": { "risk_level": "extreme" }\n  }\n}\n',
    });
    const report = await validateRawMigrations(dir, raw);
    expect(report.problems).toHaveLength(2);
    expect(report.problems).toContainEqual(expect.stringMatching(new RegExp(`^${db}: ${db}/dependencies\\.json:4:\\d+: migrations\\.0002\\.risk_level: `)));
    expect(report.problems).toContainEqual(`${db}: ${db}/dependencies.json:3:30: 0001_a depends on 0007, which is not a migration here`);
  });

  it('a badly named file is a problem; stray transaction control and SQL that does not parse name file:line', async () => {
    await files({ 'create.sql': 'SELECT 1;\n' });
    expect((await validateRawMigrations(dir, raw)).problems).toEqual([`${db}: create.sql: expected NNNN_name.sql or NNNN_name.up.sql (with an optional NNNN_name.down.sql)`]);
    await rm(join(db, 'create.sql'));
    await files({ '0001_a.sql': 'SELECT 1;\nCOMMIT;\n', '0001_a.down.sql': 'SELECT 1;\n', '0002_b.sql': 'SELECT 1;\nSELEC 2;\n', '0002_b.down.sql': 'SELECT 2;\n' });
    const { problems } = await validateRawMigrations(dir, raw);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(new RegExp(`^${db}/0001_a\\.sql:2: "COMMIT" in a file stagecraft runs in a transaction`));
    expect(problems[1]).toMatch(new RegExp(`^${db}/0002_b\\.sql:2: `));
  });

  it('a tool engine is not checked', async () => {
    expect(await validateRawMigrations(dir, { engine: 'knex', path: 'db' })).toEqual({ checked: false, reason: 'engine knex validates its own files', files: 0, problems: [], warnings: [] });
  });
});

function row(id: string, status: TrackingStatus, content: string): TrackingRow {
  return {
    id,
    checksum: checksumOf(content),
    status,
    started_at: new Date('2026-11-22T10:00:00Z'),
    finished_at: status === 'running' ? null : new Date('2026-11-22T10:00:01Z'),
    duration_ms: status === 'running' ? null : 12,
    executed_by: 'ada@laptop',
    environment: 'prod',
    error: null,
  };
}

describe('migrate validate --env: what the database state says', () => {
  it('names drift by file, an applied id without a file, and a dirty row with the command that resolves it', async () => {
    await files({ '0001_a.sql': 'SELECT 1;\n', '0002_b.sql': 'SELECT 2; -- edited\n', '0003_c.sql': 'SELECT 3;\n', '0004_d.sql': 'SELECT 4;\n' });
    const rows = [row('0001_a', 'completed', 'SELECT 1;\n'), row('0002_b', 'completed', 'SELECT 2;\n'), row('0003_c', 'running', 'SELECT 3;\n'), row('0000_gone', 'completed', 'SELECT 0;\n')];
    const state = rawState(await readMigrationFiles(db, 'db'), rows);
    expect(databaseProblems('main', 'prod', 'db', state)).toEqual([
      'main: drift: db/0002_b.sql changed after it was applied (its checksum differs from stagecraft_migrations); restore it and put the change in a new migration',
      'main: db/0003_c.sql: dirty: left "running" by ada@laptop since 2026-11-22T10:00:00.000Z and nobody holds the migration lock (the process died?); check it by hand, then `stagecraft migrate resolve --env prod --database main 0003_c --applied|--rolled-back`',
      'main: 0000_gone is applied but has no file in db',
    ]);
  });

  it('applied and pending migrations, and one being applied while the lock is held, are no problem', async () => {
    await files({ '0001_a.sql': 'SELECT 1;\n', '0002_b.sql': 'SELECT 2;\n', '0003_c.sql': 'SELECT 3;\n' });
    const rows = [row('0001_a', 'completed', 'SELECT 1;\n'), row('0002_b', 'running', 'SELECT 2;\n')];
    expect(databaseProblems('main', 'prod', 'db', rawState(await readMigrationFiles(db, 'db'), rows, { lockHeld: true }))).toEqual([]);
  });

  it('a dirty row whose file is gone names the id', async () => {
    const state = rawState(await readMigrationFiles(db, 'db'), [row('0007_x', 'running', 'SELECT 7;\n')]);
    expect(databaseProblems('main', 'prod', 'db', state)).toEqual([expect.stringMatching(/^main: 0007_x \(its file is gone\): dirty: left "running"/)]);
  });
});
