import { describe, expect, it } from 'vitest';
import { applyCommand, nodePgMigrateArgv } from '../../../src/migrate/engine-commands.js';
import { downCount, nodePgMigrateFailedMigration, upCount } from '../../../src/migrate/engines/node-pg-migrate.js';
import { NODE_PG_MIGRATE_TABLE, nodePgMigrateFiles, nodePgMigrateState, numericPrefix } from '../../../src/migrate/engines/node-pg-migrate-state.js';
import type { NodePgMigrateFile } from '../../../src/migrate/engines/node-pg-migrate-state.js';
import { refuseDrifted } from '../../../src/migrate/engines/tool-engine.js';
import type { EngineTarget } from '../../../src/migrate/types.js';
import { textRun } from './helpers.js';

const FILES = ['1796199569161_create-greetings.js', '1796199570677_add-greeting-language.js', '1796199572140_seed-greetings.js'];
const NAMES = FILES.map((file) => file.replace(/\.js$/, ''));

function files(paths: string[]): NodePgMigrateFile[] {
  const result = nodePgMigrateFiles(paths);
  if ('error' in result) throw new Error(result.error);
  return result;
}

const state = (run: string[] | undefined, paths = FILES) =>
  nodePgMigrateState({ path: 'migrations', table: NODE_PG_MIGRATE_TABLE, files: files(paths), run: run?.map((name) => ({ name })) });
const summary = (s: ReturnType<typeof state>) => s.migrations.map((m) => `${m.state} ${m.id}`);

describe('node-pg-migrate commands', () => {
  it('up with the directory from migrations.path; DATABASE_URL stays in the env, never argv', () => {
    expect(applyCommand({ engine: 'node-pg-migrate', path: 'db/migrations' })).toEqual(['node_modules/.bin/node-pg-migrate', 'up', '-m', 'db/migrations']);
    expect(applyCommand({ engine: 'node-pg-migrate', path: 'm', command: ['npm', 'run', 'migrate'] })).toEqual(['npm', 'run', 'migrate']);
  });

  it('migrations.table becomes its --migrations-table (and --migrations-schema)', () => {
    expect(nodePgMigrateArgv({ path: 'migrations', table: 'schema_history' }, 'down', '2')).toEqual(['node_modules/.bin/node-pg-migrate', 'down', '2', '-m', 'migrations', '--migrations-table', 'schema_history']);
    expect(nodePgMigrateArgv({ path: 'migrations', table: 'ops.pgmigrations' }, 'up')).toEqual(['node_modules/.bin/node-pg-migrate', 'up', '-m', 'migrations', '--migrations-table', 'pgmigrations', '--migrations-schema', 'ops']);
  });
});

describe('node-pg-migrate files', () => {
  it('names are file names without the extension, ordered by numeric prefix then name; dot files are ignored', () => {
    expect(files(['10_c.js', '2_b.sql', '.keep', '1_a.ts', '2_a.cjs']).map((f) => f.name)).toEqual(['1_a', '2_a', '2_b', '10_c']);
    expect(files([...FILES].reverse()).map((f) => f.name)).toEqual(NAMES);
  });

  it('17-digit prefixes are UTC timestamps (as node-pg-migrate reads them); files in subdirectories are not migrations', () => {
    expect(numericPrefix('20240102030405678_x')).toBe(Date.UTC(2024, 0, 2, 3, 4, 5, 678));
    expect(files(['20240102030405678_b.js', '1704164645679_a.js', 'sub/1_x.js']).map((f) => f.name)).toEqual(['20240102030405678_b', '1704164645679_a']);
  });

  it('a file without a numeric prefix: node-pg-migrate refuses to load, so the plan cannot say', () => {
    expect(nodePgMigrateFiles(['1_a.js', 'README.md'])).toEqual({ error: 'node-pg-migrate cannot order README.md: "Cannot determine numeric prefix" (every migration file needs one)' });
  });
});

describe('node-pg-migrate state (files + pgmigrations)', () => {
  it('no table: all pending, noted', () => {
    const s = state(undefined);
    expect(summary(s)).toEqual(NAMES.map((name) => `pending ${name}`));
    expect(s).toMatchObject({ readable: true, applied_count: 0, notes: ['"public"."pgmigrations" does not exist yet: nothing applied'] });
    expect(s.migrations[0]!.file).toBe(`migrations/${FILES[0]}`);
  });

  it('names run are applied in run order, the rest pending', () => {
    const s = state(NAMES.slice(0, 2));
    expect(summary(s)).toEqual([`applied ${NAMES[0]}`, `applied ${NAMES[1]}`, `pending ${NAMES[2]}`]);
    expect(s.applied_count).toBe(2);
    expect(s.notes).toEqual([]);
  });

  it("a file not run that sorts before one that ran fails node-pg-migrate's order check: drift, so runs refuse", () => {
    const s = state(['1_a', '3_c'], ['1_a.js', '2_b.js', '3_c.js']);
    expect(summary(s)).toEqual(['applied 1_a', 'applied 3_c', 'drifted 2_b']);
    expect(s.migrations[2]!.error).toContain('Not run migration 2_b is preceding already run migration 3_c');
    expect(s.applied_count).toBe(2);
  });

  it('a name run whose file is gone is applied without a file, and noted', () => {
    const s = state(['1_a', '2_gone'], ['1_a.js']);
    expect(s.migrations).toEqual([
      { id: '1_a', state: 'applied', file: 'migrations/1_a.js' },
      { id: '2_gone', state: 'applied', missing_file: true },
    ]);
    expect(s.notes[0]).toContain("run but not in the image's migrations: 2_gone");
  });

  it('a later file in the place of one that ran and is gone fails the order check too', () => {
    const s = state(['1_a', '2_gone'], ['1_a.js', '3_c.js']);
    expect(summary(s)).toEqual(['applied 1_a', 'applied 2_gone', 'drifted 3_c']);
    expect(s.migrations[2]!.error).toContain('Not run migration 3_c is preceding already run migration 2_gone');
  });
});

describe('node-pg-migrate counts', () => {
  it('--to X is `up N`: the pending ones up to and including X', () => {
    expect(upCount(state(NAMES.slice(0, 1)), NAMES[2]!)).toBe(2);
    expect(() => upCount(state(NAMES.slice(0, 1)), NAMES[0]!)).toThrow(/is not pending; pending: 1796199570677_add-greeting-language, 1796199572140_seed-greetings/);
  });

  it('`down N` reverts the newest N: the rollback must be those', () => {
    expect(downCount(NAMES, { ids: [NAMES[2]!, NAMES[1]!] })).toBe(2);
    expect(downCount(NAMES, { steps: 5 })).toBe(3);
    expect(downCount(NAMES, { to: NAMES[0]! })).toBe(2);
    expect(downCount(NAMES, { ids: [NAMES[0]!] })).toEqual({ error: expect.stringContaining('node-pg-migrate down reverts the newest migrations only') });
    expect(downCount(NAMES, { ids: ['9_x'] })).toEqual({ error: '9_x not applied' });
  });

  it('names the migration that was running when it failed', () => {
    const out = '### MIGRATION 1_a (UP) ###\nCREATE TABLE a ();\n### MIGRATION 2_b (UP) ###\nALTER TABLE nope ADD x int;\n> Rolling back attempted migration ...\nerror: relation "nope" does not exist\n';
    expect(nodePgMigrateFailedMigration(textRun(out, 1))).toBe('2_b');
    expect(nodePgMigrateFailedMigration(textRun('The DATABASE_URL environment variable is not set', 1))).toBeUndefined();
  });
});

describe('a drifted migration refuses the run before the tool starts', () => {
  it('exit 4 naming the file and why; a state without drift passes', () => {
    const target = { database: 'main' } as EngineTarget;
    const drifted = state(['1_a', '3_c'], ['1_a.js', '2_b.js', '3_c.js']);
    expect(() => refuseDrifted(target, drifted)).toThrow(/^main: drift: migrations\/2_b\.js: not run, but ordered before 3_c.*; nothing was run$/);
    try {
      refuseDrifted(target, drifted);
    } catch (error) {
      expect((error as { exitCode: number }).exitCode).toBe(4);
    }
    expect(() => refuseDrifted(target, state(NAMES.slice(0, 1)))).not.toThrow();
  });
});
