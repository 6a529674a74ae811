import { describe, expect, it } from 'vitest';
import { parseSqitchCheck, parseSqitchStatus, sqitchFailedChange, sqitchTarget } from '../../../src/migrate/engines/sqitch.js';
import { fixtureRun, textRun } from './helpers.js';

describe('sqitch output parsing (captured from sqitch 1.3.1 against PostgreSQL 15)', () => {
  it('check: successful, diverged (names the change with its tags), never deployed, other errors', () => {
    expect(parseSqitchCheck(fixtureRun('sqitch/check-ok.out'))).toEqual({ kind: 'ok' });
    expect(parseSqitchCheck(fixtureRun('sqitch/check-diverge.out', 1))).toEqual({ kind: 'diverged', changes: ['users'] });
    expect(parseSqitchCheck(fixtureRun('sqitch/check-diverge-reworked.out', 2))).toEqual({ kind: 'diverged', changes: ['users @v1.0'] });
    expect(parseSqitchCheck(fixtureRun('sqitch/check-fresh.out', 2))).toEqual({ kind: 'undeployed' });
    expect(parseSqitchCheck(textRun('', 2, 'Cannot find deploy script'))).toMatchObject({ kind: 'error' });
  });

  it('status: nothing deployed yet', () => {
    expect(parseSqitchStatus(fixtureRun('sqitch/status-fresh.out', 1))).toEqual({ deployed: [], undeployed: [] });
  });

  it('status: exactly one deployed change (sqitch heads the list "# Change:")', () => {
    expect(parseSqitchStatus(fixtureRun('sqitch/status-one.out'))).toEqual({ deployed: ['appschema'], undeployed: ['users @v1.0', 'flips', 'users @v2.0'] });
  });

  it('status: deployed changes oldest first, and the undeployed ones', () => {
    expect(parseSqitchStatus(fixtureRun('sqitch/status-partial.out'))).toEqual({ deployed: ['appschema', 'users'], undeployed: ['flips'] });
    expect(parseSqitchStatus(fixtureRun('sqitch/status-uptodate.out'))).toEqual({ deployed: ['appschema', 'users', 'flips'], undeployed: [] });
    expect(parseSqitchStatus(fixtureRun('sqitch/status-after-fail.out'))).toEqual({ deployed: ['appschema', 'users', 'flips'], undeployed: ['bad'] });
  });

  it('status: unknown output is an error, not an empty database', () => {
    expect(parseSqitchStatus(textRun('', 2, 'Plan file sqitch.plan does not exist'))).toHaveProperty('error');
  });

  it('names the change a failed deploy stopped at, with its tags', () => {
    expect(sqitchFailedChange(fixtureRun('sqitch/deploy-fail.out', 2))).toBe('bad');
    expect(sqitchFailedChange(fixtureRun('sqitch/deploy-partial.out'))).toBeUndefined();
    expect(sqitchFailedChange(textRun('Deploying changes to db:pg://x\n  + users @v1.0 .. psql: ERROR\nnot ok\n', 2))).toBe('users @v1.0');
    expect(sqitchFailedChange(textRun('Reverting changes from db:pg://x\n  - flips .. not ok\n', 2))).toBe('flips');
  });

  it('gives sqitch the database as a db:pg URI', () => {
    expect(sqitchTarget('postgres://u:p@h:5432/d')).toBe('db:pg://u:p@h:5432/d');
    expect(sqitchTarget('postgresql://u@h/d')).toBe('db:pg://u@h/d');
  });
});
