import { describe, expect, it } from 'vitest';
import { knexFailedMigration, parseKnexList } from '../../../src/migrate/engines/knex.js';
import { fixtureRun, textRun } from './helpers.js';

const ALL = ['0001_create_greetings.js', '0002_seed_greetings.js', '0003_add_greeting_language.js'];

describe('knex migrate:list parsing (captured from knex 3.3.0)', () => {
  it('a fresh database: every migration pending', () => {
    const state = parseKnexList(fixtureRun('knex/list-fresh.out'));
    expect(state.readable).toBe(true);
    expect(state.migrations).toEqual(ALL.map((id) => ({ id, state: 'pending' })));
    expect(state.applied_count).toBe(0);
    expect(state.pending_known).toBe(true);
  });

  it('partly applied: completed first, then pending', () => {
    const state = parseKnexList(fixtureRun('knex/list-partial.out'));
    expect(state.migrations.map((m) => [m.id, m.state])).toEqual([
      [ALL[0], 'applied'],
      [ALL[1], 'pending'],
      [ALL[2], 'pending'],
    ]);
    expect(state.applied_count).toBe(1);
  });

  it('everything applied', () => {
    const state = parseKnexList(fixtureRun('knex/list-applied.out'));
    expect(state.migrations.every((m) => m.state === 'applied')).toBe(true);
    expect(state.applied_count).toBe(3);
  });

  it('reads colored output (FORCE_COLOR) the same as plain', () => {
    expect(parseKnexList(fixtureRun('knex/list-color.out'))).toEqual(parseKnexList(fixtureRun('knex/list-partial.out')));
  });

  it('says why when knex fails instead of guessing (corrupt directory, no connection)', () => {
    const corrupt = parseKnexList(fixtureRun('knex/list-corrupt.out', 1, ['node_modules/.bin/knex', 'migrate:list']));
    expect(corrupt.readable).toBe(false);
    expect(corrupt.reason).toContain('the following files are missing: 0000_gone.js');
    expect(corrupt.migrations).toEqual([]);
    const noConnection = parseKnexList(fixtureRun('knex/list-noconn.out', 1));
    expect(noConnection.readable).toBe(false);
    expect(noConnection.reason).toContain('ECONNREFUSED');
  });

  it('refuses output that is not a migrate:list listing', () => {
    expect(parseKnexList(textRun('hello world\n')).readable).toBe(false);
    expect(parseKnexList(textRun('')).readable).toBe(false);
    // The announced count must match the names listed.
    expect(parseKnexList(textRun('Found 2 Completed Migration file/files.\na.js\nNo Pending Migration files Found.\n')).readable).toBe(false);
  });

  it('names the failed migration of a migrate:latest run', () => {
    expect(knexFailedMigration(fixtureRun('knex/latest-fail.out', 1))).toBe('0004_bad.js');
    expect(knexFailedMigration(fixtureRun('knex/latest.out'))).toBeUndefined();
  });
});
