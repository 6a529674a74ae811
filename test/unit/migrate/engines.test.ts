import { describe, expect, it } from 'vitest';
import { MIGRATION_ENGINES } from '../../../src/config/index.js';
import { engineFor } from '../../../src/migrate/registry.js';
import { parseStatusLines } from '../../../src/migrate/engines/status-lines.js';
import { outcomesFromStatus } from '../../../src/migrate/engines/tool-engine.js';
import { applyCommand, describeApply, golangMigrateArgv } from '../../../src/migrate/engine-commands.js';
import { UserError } from '../../../src/errors.js';
import { textRun } from './helpers.js';
import type { DatabaseState } from '../../../src/migrate/types.js';

describe('engine registry', () => {
  it('has an engine for every engine name the config accepts', () => {
    for (const name of MIGRATION_ENGINES) expect(engineFor(name).name).toBe(name);
    expect(engineFor('raw').builtin).toBe(true);
    expect(engineFor('knex').builtin).toBe(false);
  });

  it('an unknown engine is a user error listing the known ones', () => {
    expect(() => engineFor('flyway')).toThrow(UserError);
    expect(() => engineFor('flyway')).toThrow(/unknown migration engine "flyway" \(known engines: raw, knex, prisma, drizzle, golang-migrate, sqitch, node-pg-migrate, command\)/);
  });
});

describe('default and overridden commands', () => {
  it('defaults per tool; migrations.command replaces them', () => {
    expect(applyCommand({ engine: 'knex' })).toEqual(['node_modules/.bin/knex', 'migrate:latest']);
    expect(applyCommand({ engine: 'prisma' })).toEqual(['node_modules/.bin/prisma', 'migrate', 'deploy']);
    expect(applyCommand({ engine: 'sqitch' })).toEqual(['sqitch', '--chdir', '.', 'deploy', '--verify']);
    expect(applyCommand({ engine: 'sqitch', path: 'db' })).toEqual(['sqitch', '--chdir', 'db', 'deploy', '--verify']);
    expect(applyCommand({ engine: 'knex', command: ['npx', 'knex', 'migrate:latest', '--knexfile', 'db/knexfile.js'] })).toEqual([
      'npx', 'knex', 'migrate:latest', '--knexfile', 'db/knexfile.js',
    ]);
    expect(applyCommand({ engine: 'raw', path: 'db' })).toEqual([]);
    expect(describeApply({ engine: 'raw', path: 'db/app' })).toContain('db/app/NNNN_*.sql');
  });

  it('golang-migrate never puts the database URL in argv; the path arrives as an argument', () => {
    const argv = golangMigrateArgv("it's; $(rm -rf)", 'goto', '7');
    expect(argv.slice(0, 2)).toEqual(['sh', '-c']);
    expect(argv[2]).toBe('exec migrate -path "$1" -database "$DATABASE_URL" "$2" "$3"');
    expect(argv.slice(3)).toEqual(['migrate', "it's; $(rm -rf)", 'goto', '7']);
  });
});

describe('plan_command status lines (command engine)', () => {
  it('reads "<state> <id>" lines, skipping comments and blanks', () => {
    const state = parseStatusLines(textRun('# status\napplied 0001_init\n\npending 0002 add users\nFAILED 0003_x\n'));
    expect(state.migrations).toEqual([
      { id: '0001_init', state: 'applied' },
      { id: '0002 add users', state: 'pending' },
      { id: '0003_x', state: 'failed' },
    ]);
    expect(state.applied_count).toBe(1);
  });

  it('refuses to guess from anything else', () => {
    const bad = parseStatusLines(textRun('applied 0001\nrunning 0002\n', 0, '', ['./status.sh']));
    expect(bad.readable).toBe(false);
    expect(bad.reason).toContain('./status.sh line 2 is not "<state> <id>": "running 0002"');
    expect(parseStatusLines(textRun('', 3, 'no db')).readable).toBe(false);
  });
});

describe('which migrations an apply run applied, from the status before and after', () => {
  const state = (entries: [string, 'applied' | 'pending' | 'failed'][]): DatabaseState => ({
    readable: true,
    migrations: entries.map(([id, s]) => ({ id, state: s })),
    applied_count: 0,
    pending_known: true,
    notes: [],
  });

  it('pending before and applied after = applied; still pending = skipped; the named one failed', () => {
    const before = state([['a', 'applied'], ['b', 'pending'], ['c', 'pending'], ['d', 'pending']]);
    const after = state([['a', 'applied'], ['b', 'applied'], ['c', 'pending'], ['d', 'pending']]);
    expect(outcomesFromStatus(before, after, 'c').migrations).toEqual([
      { id: 'b', outcome: 'applied' },
      { id: 'c', outcome: 'failed' },
      { id: 'd', outcome: 'skipped' },
    ]);
  });

  it('tools that list only unapplied migrations (prisma): gone from the list = applied', () => {
    const before = state([['x', 'pending'], ['y', 'pending']]);
    const after = state([]);
    expect(outcomesFromStatus(before, after, undefined).migrations).toEqual([
      { id: 'x', outcome: 'applied' },
      { id: 'y', outcome: 'applied' },
    ]);
  });

  it('an unreadable status makes the applied list unknown, and says so', () => {
    const result = outcomesFromStatus({ readable: false, migrations: [], applied_count: 0, pending_known: false, notes: [] }, undefined, undefined);
    expect(result.migrations).toEqual([]);
    expect(result.notes[0]).toContain('not known');
  });
});
