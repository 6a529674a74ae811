import { describe, expect, it } from 'vitest';
import { rollbackSet, type AppliedMigration } from '../../../src/migrate/graph/rollback-set.js';

// Applied in this (dependency) order: 0002 needs 0001; 0004 needs 0002; 0003 stands alone.
const applied: AppliedMigration[] = [
  { id: '0001_users', dependsOn: [] },
  { id: '0002_orgs', dependsOn: ['0001_users'] },
  { id: '0003_audit', dependsOn: [] },
  { id: '0004_members', dependsOn: ['0002_orgs', '0001_users'] },
];

describe('rollbackSet', () => {
  it('--steps N reverts the last N applied, newest first', () => {
    expect(rollbackSet(applied, { steps: 2 })).toEqual({ ok: true, revert: ['0004_members', '0003_audit'], cascaded: [] });
    expect(rollbackSet(applied, { steps: 10 })).toMatchObject({ ok: true, revert: ['0004_members', '0003_audit', '0002_orgs', '0001_users'] });
  });

  it('--to ID reverts everything applied after ID and keeps ID', () => {
    expect(rollbackSet(applied, { to: '0002_orgs' })).toEqual({ ok: true, revert: ['0004_members', '0003_audit'], cascaded: [] });
    expect(rollbackSet(applied, { to: '0004_members' })).toEqual({ ok: true, revert: [], cascaded: [] });
  });

  it('named ids that nothing applied depends on are reverted alone', () => {
    expect(rollbackSet(applied, { ids: ['0003_audit'] })).toEqual({ ok: true, revert: ['0003_audit'], cascaded: [] });
  });

  it('refuses when an applied migration outside the set depends on one inside it, naming each dependent', () => {
    expect(rollbackSet(applied, { ids: ['0001_users'] })).toEqual({
      ok: false,
      dependents: [
        { id: '0001_users', dependent: '0002_orgs' },
        { id: '0001_users', dependent: '0004_members' },
      ],
    });
  });

  it('--cascade adds the dependents (transitively) and reverts in reverse dependency order', () => {
    expect(rollbackSet(applied, { ids: ['0001_users'] }, true)).toEqual({
      ok: true,
      revert: ['0004_members', '0002_orgs', '0001_users'],
      cascaded: ['0004_members', '0002_orgs'],
    });
    expect(rollbackSet(applied, { ids: ['0002_orgs'] }, true)).toEqual({ ok: true, revert: ['0004_members', '0002_orgs'], cascaded: ['0004_members'] });
  });

  it('names ids that are not applied', () => {
    expect(rollbackSet(applied, { ids: ['0003_audit', '0009_nope'] })).toEqual({ ok: false, unknown: ['0009_nope'] });
    expect(rollbackSet(applied, { to: '0009_nope' })).toEqual({ ok: false, unknown: ['0009_nope'] });
  });
});
