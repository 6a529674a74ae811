import { describe, expect, it } from 'vitest';
import {
  parseSqitchCheck,
  parseSqitchPlan,
  parseSqitchStatus,
  sqitchFailedChange,
  sqitchState,
  sqitchTarget,
} from '../../../src/migrate/engines/sqitch.js';
import { fixtureRun, textRun } from './helpers.js';

describe('sqitch output parsing (captured from sqitch 1.3.1 against PostgreSQL 15)', () => {
  it('check: successful, diverged (names the change), never deployed, other errors', () => {
    expect(parseSqitchCheck(fixtureRun('sqitch/check-ok.out'))).toEqual({ kind: 'ok' });
    expect(parseSqitchCheck(fixtureRun('sqitch/check-diverge.out', 1))).toEqual({ kind: 'diverged', changes: ['users'] });
    expect(parseSqitchCheck(fixtureRun('sqitch/check-fresh.out', 2))).toEqual({ kind: 'undeployed' });
    expect(parseSqitchCheck(textRun('', 2, 'Cannot find deploy script'))).toMatchObject({ kind: 'error' });
  });

  it('status: nothing deployed yet', () => {
    expect(parseSqitchStatus(fixtureRun('sqitch/status-fresh.out', 1))).toEqual({ deployed: [], undeployed: [] });
  });

  it('status: deployed changes oldest first, and the undeployed ones', () => {
    expect(parseSqitchStatus(fixtureRun('sqitch/status-partial.out'))).toEqual({ deployed: ['appschema', 'users'], undeployed: ['flips'] });
    expect(parseSqitchStatus(fixtureRun('sqitch/status-uptodate.out'))).toEqual({ deployed: ['appschema', 'users', 'flips'], undeployed: [] });
    expect(parseSqitchStatus(fixtureRun('sqitch/status-after-fail.out'))).toEqual({ deployed: ['appschema', 'users', 'flips'], undeployed: ['bad'] });
  });

  it('status: unknown output is an error, not an empty database', () => {
    expect(parseSqitchStatus(textRun('', 2, 'Plan file sqitch.plan does not exist'))).toHaveProperty('error');
  });

  it('plan --oneline: change names in plan order', () => {
    expect(parseSqitchPlan(fixtureRun('sqitch/plan-oneline.out'))).toEqual(['appschema', 'users', 'flips', 'bad']);
    expect(parseSqitchPlan(textRun('', 2, 'Plan file sqitch.plan does not exist'))).toHaveProperty('error');
  });

  it('combines check, status and plan into states: diverged changes are drifted', () => {
    const planned = ['appschema', 'users', 'flips', 'bad'];
    const status = { deployed: ['appschema', 'users', 'flips'], undeployed: ['bad'] };
    const state = sqitchState({ kind: 'diverged', changes: ['users'] }, status, planned);
    expect(state.migrations.map((m) => [m.id, m.state])).toEqual([
      ['appschema', 'applied'],
      ['users', 'drifted'],
      ['flips', 'applied'],
      ['bad', 'pending'],
    ]);
    expect(state.applied_count).toBe(3);
    const fresh = sqitchState({ kind: 'undeployed' }, { deployed: [], undeployed: [] }, planned);
    expect(fresh.migrations.every((m) => m.state === 'pending')).toBe(true);
    const gone = sqitchState({ kind: 'ok' }, { deployed: ['old'], undeployed: [] }, []);
    expect(gone.migrations).toEqual([{ id: 'old', state: 'applied', missing_file: true }]);
  });

  it('names the change a failed deploy stopped at', () => {
    expect(sqitchFailedChange(fixtureRun('sqitch/deploy-fail.out', 2))).toBe('bad');
    expect(sqitchFailedChange(fixtureRun('sqitch/deploy-partial.out'))).toBeUndefined();
  });

  it('turns a postgres URL into a sqitch target', () => {
    expect(sqitchTarget('postgres://u:p@db:5432/app')).toBe('db:pg://u:p@db:5432/app');
    expect(sqitchTarget('postgresql://u@db/app')).toBe('db:pg://u@db/app');
  });
});
