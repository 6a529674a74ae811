import { describe, expect, it } from 'vitest';
import { KNEX_TABLE, knexMigrationFiles, knexState } from '../../../src/migrate/engines/knex-plan.js';

const FILES = ['0001_a.js', '0002_b.js', '0003_c.js'];

describe('knex plan without knex migrate:list', () => {
  it('lists the files knex loads, directly in the directory, by name', () => {
    expect(knexMigrationFiles(['0002_b.js', 'README.md', '0001_a.ts', 'sub/0000_x.js', '0003_c.cjs', '0004_d.mjs', 'seed.json'])).toEqual(['0001_a.ts', '0002_b.js', '0003_c.cjs']);
  });

  it.each<[string, string[] | undefined, { applied: string[]; pending: string[]; notes: number }]>([
    ['no table yet', undefined, { applied: [], pending: FILES, notes: 1 }],
    ['empty table', [], { applied: [], pending: FILES, notes: 0 }],
    ['two applied', ['0001_a.js', '0002_b.js'], { applied: ['0001_a.js', '0002_b.js'], pending: ['0003_c.js'], notes: 0 }],
    ['applied file gone from the image', ['0001_a.js', '0000_gone.js'], { applied: ['0001_a.js', '0000_gone.js'], pending: ['0002_b.js', '0003_c.js'], notes: 1 }],
  ])('%s', (_, applied, expected) => {
    const state = knexState(KNEX_TABLE, FILES, applied);
    expect(state.readable && state.pending_known).toBe(true);
    expect(state.migrations.filter((m) => m.state === 'applied').map((m) => m.id)).toEqual(expected.applied);
    expect(state.migrations.filter((m) => m.state === 'pending').map((m) => m.id)).toEqual(expected.pending);
    expect(state.applied_count).toBe(expected.applied.length);
    expect(state.notes).toHaveLength(expected.notes);
  });

  it('names a moved table in its note', () => {
    expect(knexState({ schema: 'ops', table: 'knex_log' }, FILES, undefined).notes).toEqual(['"ops"."knex_log" does not exist yet: nothing applied']);
  });
});
