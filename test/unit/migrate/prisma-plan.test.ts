import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PRISMA_TABLE, prismaChecksumMatches, prismaMigrationDirs, prismaState } from '../../../src/migrate/engines/prisma-plan.js';
import type { PrismaRow } from '../../../src/migrate/engines/prisma-plan.js';

const sql = (text: string) => Buffer.from(text);
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

const SCRIPTS: Record<string, string> = {
  '20240101120000_init': 'CREATE TABLE "User" (id SERIAL PRIMARY KEY);\n',
  '20240102120000_add_email': 'ALTER TABLE "User" ADD COLUMN email TEXT;\n',
  '20240103120000_add_posts': 'CREATE TABLE "Post" (id SERIAL PRIMARY KEY);\n',
};
const FILES = new Map(Object.entries(SCRIPTS).map(([name, text]) => [`${name}/migration.sql`, sql(text)]));
FILES.set('migration_lock.toml', sql('provider = "postgresql"\n'));
const DIRS = prismaMigrationDirs(FILES);

function row(name: string, change: Partial<PrismaRow> = {}): PrismaRow {
  return { migration_name: name, checksum: sha(SCRIPTS[name] ?? ''), finished_at: new Date('2024-05-01T10:00:00Z'), rolled_back_at: null, logs: null, ...change };
}

const states = (rows: PrismaRow[] | undefined) => prismaState(PRISMA_TABLE, DIRS, rows).migrations.map((m) => [m.id, m.state]);

describe('prisma plan without prisma migrate status', () => {
  it('takes the directories one level down, by name, with their migration.sql (migration_lock.toml is not one)', () => {
    const files = new Map([
      ['b_second/migration.sql', sql('2')],
      ['a_first/migration.sql', sql('1')],
      ['a_first/README.md', sql('x')],
      ['c_empty/notes.txt', sql('x')],
      ['migration_lock.toml', sql('x')],
    ]);
    expect(prismaMigrationDirs(files)).toEqual([
      { name: 'a_first', sql: sql('1') },
      { name: 'b_second', sql: sql('2') },
      { name: 'c_empty', sql: undefined },
    ]);
  });

  it('matches checksums as prisma does: sha256 hex of migration.sql, LF and CRLF alike', () => {
    expect(prismaChecksumMatches(sql('SELECT 1;\n'), sha('SELECT 1;\n'))).toBe(true);
    expect(prismaChecksumMatches(sql('SELECT 1;\r\n'), sha('SELECT 1;\n'))).toBe(true);
    expect(prismaChecksumMatches(sql('SELECT 1;\n'), sha('SELECT 1;\r\n'))).toBe(true);
    expect(prismaChecksumMatches(sql('SELECT 2;\n'), sha('SELECT 1;\n'))).toBe(false);
  });

  it.each<[string, PrismaRow[] | undefined, [string, string][], number, number]>([
    ['no _prisma_migrations yet: all pending', undefined, [['20240101120000_init', 'pending'], ['20240102120000_add_email', 'pending'], ['20240103120000_add_posts', 'pending']], 0, 1],
    ['empty table: all pending', [], [['20240101120000_init', 'pending'], ['20240102120000_add_email', 'pending'], ['20240103120000_add_posts', 'pending']], 0, 0],
    ['two applied', [row('20240101120000_init'), row('20240102120000_add_email')], [['20240101120000_init', 'applied'], ['20240102120000_add_email', 'applied'], ['20240103120000_add_posts', 'pending']], 2, 0],
    [
      'a failed one (not finished, not rolled back)',
      [row('20240101120000_init'), row('20240102120000_add_email', { finished_at: null, logs: 'Database error code: 42P01\nrelation "User" does not exist' })],
      [['20240101120000_init', 'applied'], ['20240102120000_add_email', 'failed'], ['20240103120000_add_posts', 'pending']],
      1,
      0,
    ],
    [
      'failed, resolved --rolled-back, then applied again',
      [row('20240101120000_init'), row('20240102120000_add_email', { finished_at: null, rolled_back_at: new Date() }), row('20240102120000_add_email')],
      [['20240101120000_init', 'applied'], ['20240102120000_add_email', 'applied'], ['20240103120000_add_posts', 'pending']],
      2,
      0,
    ],
    [
      'failed and resolved --rolled-back only: pending again',
      [row('20240101120000_init'), row('20240102120000_add_email', { finished_at: null, rolled_back_at: new Date() })],
      [['20240101120000_init', 'applied'], ['20240102120000_add_email', 'pending'], ['20240103120000_add_posts', 'pending']],
      1,
      0,
    ],
    [
      'modified after it was applied: drifted, still counted as applied',
      [row('20240101120000_init', { checksum: sha('something else') })],
      [['20240101120000_init', 'drifted'], ['20240102120000_add_email', 'pending'], ['20240103120000_add_posts', 'pending']],
      1,
      0,
    ],
    [
      'applied in the database but gone from the image',
      [row('20231201000000_old', { checksum: sha('x') }), row('20240101120000_init')],
      [['20240101120000_init', 'applied'], ['20240102120000_add_email', 'pending'], ['20240103120000_add_posts', 'pending'], ['20231201000000_old', 'applied']],
      2,
      1,
    ],
  ])('%s', (_, rows, expected, applied, notes) => {
    const state = prismaState(PRISMA_TABLE, DIRS, rows);
    expect(state).toMatchObject({ readable: true, pending_known: true, applied_count: applied });
    expect(states(rows)).toEqual(expected);
    expect(state.notes).toHaveLength(notes);
  });

  it('carries when it was applied, why it failed, what drifted and which file is missing', () => {
    const state = prismaState(PRISMA_TABLE, DIRS, [
      row('20231201000000_old'),
      row('20240101120000_init', { checksum: sha('changed') }),
      row('20240102120000_add_email', { finished_at: null, logs: 'Database error code: 42P01\n\nrelation "User" does not exist\n' }),
    ]);
    expect(state.migrations).toEqual([
      { id: '20240101120000_init', file: '20240101120000_init/migration.sql', state: 'drifted', applied_at: '2024-05-01T10:00:00.000Z', error: 'migration.sql was modified after it was applied (checksum differs)' },
      { id: '20240102120000_add_email', file: '20240102120000_add_email/migration.sql', state: 'failed', error: 'Database error code: 42P01 / relation "User" does not exist' },
      { id: '20240103120000_add_posts', file: '20240103120000_add_posts/migration.sql', state: 'pending' },
      { id: '20231201000000_old', state: 'applied', missing_file: true },
    ]);
    expect(state.notes).toEqual(["in _prisma_migrations but not in the image's migrations directory: 20231201000000_old"]);
  });

  it('names the table that does not exist, and directories without migration.sql', () => {
    const dirs = prismaMigrationDirs(new Map([['a/migration.sql', sql('1')], ['b/down.sql', sql('2')]]));
    expect(prismaState({ schema: 'app', table: '_prisma_migrations' }, dirs, undefined).notes).toEqual([
      '"app"."_prisma_migrations" does not exist yet: nothing applied',
      'no migration.sql in: b (prisma cannot apply them)',
    ]);
  });
});
