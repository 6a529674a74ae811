import { describe, expect, it } from 'vitest';
import { GOLANG_MIGRATE_TABLE, golangMigrateState, golangMigrationFiles } from '../../../src/migrate/engines/golang-migrate-plan.js';
import type { GolangVersionRow } from '../../../src/migrate/engines/golang-migrate-plan.js';

const LISTING = [
  '000001_create_users.up.sql',
  '000001_create_users.down.sql',
  '000002_add_email.up.sql',
  '000002_add_email.down.sql',
  '000010_add_posts.up.sql',
  'README.md',
  'sub/000003_nested.up.sql',
];
const FILES = golangMigrationFiles(LISTING);
const ids = (row: GolangVersionRow | null | undefined) => golangMigrateState(GOLANG_MIGRATE_TABLE, FILES, row).migrations.map((m) => [m.id, m.state]);

describe('golang-migrate plan without migrate version', () => {
  it('reads versions from <version>_<title>.up|down.<ext> directly in the directory, numerically', () => {
    expect(FILES).toEqual({
      migrations: [
        { version: '1', up: '000001_create_users.up.sql', down: '000001_create_users.down.sql' },
        { version: '2', up: '000002_add_email.up.sql', down: '000002_add_email.down.sql' },
        { version: '10', up: '000010_add_posts.up.sql' },
      ],
      duplicates: [],
    });
    expect(golangMigrationFiles(['9_a.up.sql', '10_b.up.sql', '20240101120000_c.up.sql']).migrations.map((m) => m.version)).toEqual(['9', '10', '20240101120000']);
    expect(golangMigrationFiles(['1_a.sql', 'x_1.up.sql', '1.up.sql', '1_a.up']).migrations).toEqual([]);
  });

  it('refuses two files for one version and direction, as golang-migrate does', () => {
    const files = golangMigrationFiles(['1_a.up.sql', '001_b.up.sql']);
    expect(files.duplicates).toEqual(['001_b.up.sql and 1_a.up.sql']);
    expect(golangMigrateState(GOLANG_MIGRATE_TABLE, files, undefined)).toMatchObject({ readable: false, reason: expect.stringContaining('duplicate') });
  });

  it.each<[string, GolangVersionRow | null | undefined, [string, string][], number]>([
    ['no schema_migrations: all pending', undefined, [['1', 'pending'], ['2', 'pending'], ['10', 'pending']], 0],
    ['no row (migrated all the way down): all pending', null, [['1', 'pending'], ['2', 'pending'], ['10', 'pending']], 0],
    ['at version 2: 1 and 2 applied, 10 pending', { version: '2', dirty: false }, [['1', 'applied'], ['2', 'applied'], ['10', 'pending']], 2],
    ['at version 10: all applied', { version: '10', dirty: false }, [['1', 'applied'], ['2', 'applied'], ['10', 'applied']], 3],
    ['version 2 dirty: failed part-way', { version: '2', dirty: true }, [['1', 'applied'], ['2', 'failed'], ['10', 'pending']], 1],
    ['at a version with no file (5): applied with missing_file', { version: '5', dirty: false }, [['1', 'applied'], ['2', 'applied'], ['10', 'pending'], ['5', 'applied']], 3],
  ])('%s', (_, row, expected, applied) => {
    const state = golangMigrateState(GOLANG_MIGRATE_TABLE, FILES, row);
    expect(state).toMatchObject({ readable: true, pending_known: true, applied_count: applied });
    expect(ids(row)).toEqual(expected);
  });

  it('says what it read, and which file each version comes from', () => {
    expect(golangMigrateState(GOLANG_MIGRATE_TABLE, FILES, undefined).notes[0]).toBe('"schema_migrations" does not exist yet: nothing applied');
    expect(golangMigrateState(GOLANG_MIGRATE_TABLE, FILES, null).notes[0]).toBe('"schema_migrations" holds no version: nothing applied');
    const dirty = golangMigrateState({ schema: 'ops', table: 'versions' }, FILES, { version: '2', dirty: true });
    expect(dirty.notes[0]).toBe('current version 2 (dirty)');
    expect(dirty.migrations[1]).toEqual({ id: '2', file: '000002_add_email.up.sql', state: 'failed', error: 'dirty: this version failed part-way; fix the database, then `migrate force` it' });
    const gone = golangMigrateState(GOLANG_MIGRATE_TABLE, FILES, { version: '5', dirty: false });
    expect(gone.migrations.at(-1)).toEqual({ id: '5', state: 'applied', missing_file: true });
    expect(gone.notes).toContain("version 5 has no file in the image's migrations directory (golang-migrate cannot migrate from it)");
  });

  it('notes versions that have only a .down file', () => {
    const state = golangMigrateState(GOLANG_MIGRATE_TABLE, golangMigrationFiles(['1_a.up.sql', '2_b.down.sql']), undefined);
    expect(state.migrations).toEqual([
      { id: '1', file: '1_a.up.sql', state: 'pending' },
      { id: '2', file: '2_b.down.sql', state: 'pending' },
    ]);
    expect(state.notes).toContain('no .up file for version(s) 2');
  });
});
