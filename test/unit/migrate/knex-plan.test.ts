import { describe, expect, it } from 'vitest';
import { knexState, parseKnexLayout } from '../../../src/migrate/engines/knex-plan.js';

const LAYOUT = { tableName: 'knex_migrations', schemaName: null, files: ['0001_a.js', '0002_b.js', '0003_c.js'] };

describe('knex plan without knex migrate:list', () => {
  it.each<[string, string, ReturnType<typeof parseKnexLayout>]>([
    ['the marker line', 'noise\nSTAGECRAFT_KNEX_LAYOUT {"tableName":"t","schemaName":"s","files":["1.js"]}\n', { tableName: 't', schemaName: 's', files: ['1.js'] }],
    ['no schema', 'STAGECRAFT_KNEX_LAYOUT {"tableName":"knex_migrations","schemaName":null,"files":[]}', { tableName: 'knex_migrations', schemaName: null, files: [] }],
    ['no marker', '{"tableName":"t","files":[]}', undefined],
    ['bad JSON', 'STAGECRAFT_KNEX_LAYOUT {', undefined],
    ['files not strings', 'STAGECRAFT_KNEX_LAYOUT {"tableName":"t","files":[1]}', undefined],
  ])('parses %s', (_, stdout, expected) => {
    expect(parseKnexLayout(stdout)).toEqual(expected);
  });

  it.each<[string, string[] | undefined, { applied: string[]; pending: string[]; notes: number }]>([
    ['no table yet', undefined, { applied: [], pending: ['0001_a.js', '0002_b.js', '0003_c.js'], notes: 1 }],
    ['empty table', [], { applied: [], pending: ['0001_a.js', '0002_b.js', '0003_c.js'], notes: 0 }],
    ['two applied', ['0001_a.js', '0002_b.js'], { applied: ['0001_a.js', '0002_b.js'], pending: ['0003_c.js'], notes: 0 }],
    ['applied file gone from the image', ['0001_a.js', '0000_gone.js'], { applied: ['0001_a.js', '0000_gone.js'], pending: ['0002_b.js', '0003_c.js'], notes: 1 }],
  ])('%s', (_, applied, expected) => {
    const state = knexState(LAYOUT, applied);
    expect(state.readable && state.pending_known).toBe(true);
    expect(state.migrations.filter((m) => m.state === 'applied').map((m) => m.id)).toEqual(expected.applied);
    expect(state.migrations.filter((m) => m.state === 'pending').map((m) => m.id)).toEqual(expected.pending);
    expect(state.applied_count).toBe(expected.applied.length);
    expect(state.notes).toHaveLength(expected.notes);
  });
});
