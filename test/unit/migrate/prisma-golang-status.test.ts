import { describe, expect, it } from 'vitest';
import { parseMigrateVersion } from '../../../src/migrate/engines/golang-migrate.js';
import { parsePrismaStatus, prismaFailedMigration } from '../../../src/migrate/engines/prisma.js';
import { fixtureRun } from './helpers.js';

describe('prisma migrate status parsing (transcribed prisma 5 wording)', () => {
  it('lists every not-yet-applied migration as pending', () => {
    const state = parsePrismaStatus(fixtureRun('prisma/status-behind.out', 1));
    expect(state.readable).toBe(true);
    expect(state.migrations.map((m) => [m.id, m.state])).toEqual([
      ['20240101120000_init', 'pending'],
      ['20240102120000_add_users', 'pending'],
      ['20240103120000_add_posts', 'pending'],
    ]);
    expect(state.applied_count).toBe(0);
  });

  it('counts applied migrations it does not name', () => {
    const state = parsePrismaStatus(fixtureRun('prisma/status-one-pending.out', 1));
    expect(state.migrations).toEqual([{ id: '20240103120000_add_posts', state: 'pending' }]);
    expect(state.applied_count).toBe(2);
    expect(state.notes.join(' ')).toContain('counted');
    expect(parsePrismaStatus(fixtureRun('prisma/status-uptodate.out'))).toMatchObject({ readable: true, migrations: [], applied_count: 3 });
    expect(parsePrismaStatus(fixtureRun('prisma/status-no-migrations.out'))).toMatchObject({ readable: true, migrations: [], applied_count: 0 });
  });

  it('reports failed migrations as failed, not applied', () => {
    const state = parsePrismaStatus(fixtureRun('prisma/status-failed.out', 1));
    expect(state.migrations).toEqual([{ id: '20240102120000_add_users', state: 'failed' }]);
    expect(state.applied_count).toBe(2);
  });

  it('says it cannot read the status when the database is unreachable', () => {
    const state = parsePrismaStatus(fixtureRun('prisma/status-unreachable.out', 1, ['prisma', 'migrate', 'status']));
    expect(state.readable).toBe(false);
    expect(state.reason).toContain("P1001: Can't reach database server");
  });

  it('names the migration a failed migrate deploy stopped at', () => {
    expect(prismaFailedMigration(fixtureRun('prisma/deploy-failed.out', 1))).toBe('20240102120000_add_users');
    expect(prismaFailedMigration(fixtureRun('prisma/status-uptodate.out'))).toBeUndefined();
  });
});

describe('golang-migrate version parsing (transcribed)', () => {
  it('a clean version is applied; pending cannot be listed', () => {
    const state = parseMigrateVersion(fixtureRun('golang-migrate/version-clean.out'));
    expect(state).toMatchObject({ readable: true, pending_known: false, migrations: [{ id: '3', state: 'applied' }] });
    expect(state.notes.join(' ')).toContain('pending migrations cannot be listed');
  });

  it('a dirty version is failed', () => {
    const state = parseMigrateVersion(fixtureRun('golang-migrate/version-dirty.out', 0));
    expect(state.migrations).toEqual([expect.objectContaining({ id: '4', state: 'failed' })]);
  });

  it('no migration yet, and a connection error', () => {
    expect(parseMigrateVersion(fixtureRun('golang-migrate/version-none.out', 1))).toMatchObject({ readable: true, migrations: [], applied_count: 0 });
    const broken = parseMigrateVersion(fixtureRun('golang-migrate/version-noconn.out', 1, ['migrate', 'version']));
    expect(broken.readable).toBe(false);
    expect(broken.reason).toContain('connection refused');
  });
});
