import { describe, expect, it } from 'vitest';
import { formatMigratePlan } from '../../../src/migrate/format-plan.js';
import { assemblePlan, databasePlan } from '../../../src/migrate/plan.js';
import type { DatabaseState } from '../../../src/migrate/types.js';
import { unreadable } from '../../../src/migrate/types.js';

const readable = (migrations: DatabaseState['migrations'], pendingKnown = true): DatabaseState => ({
  readable: true,
  migrations,
  applied_count: migrations.filter((m) => m.state === 'applied' || m.state === 'drifted').length,
  pending_known: pendingKnown,
  notes: [],
});

describe('migrate plan as data', () => {
  it('per database: phase, counts, and what would run (failed ones are retried)', () => {
    const plan = databasePlan('main', 'raw', 'pre_deploy', readable([
      { id: '0001_a', state: 'applied' },
      { id: '0002_b', state: 'failed', error: 'boom' },
      { id: '0003_c', state: 'pending' },
    ]));
    expect(plan).toMatchObject({ deploy_phase: 'migrate_pre', applied_count: 1, pending_count: 1, would_run: ['0002_b', '0003_c'] });
    expect(plan.blocked).toBeUndefined();
    expect(databasePlan('events', 'raw', 'post_deploy', readable([])).deploy_phase).toBe('migrate_post');
    expect(databasePlan('reports', 'raw', 'manual', readable([])).deploy_phase).toBeNull();
  });

  it('drift blocks the run and nothing would run', () => {
    const plan = databasePlan('main', 'raw', 'pre_deploy', readable([
      { id: '0001_a', file: '0001_a.sql', state: 'drifted' },
      { id: '0002_b', state: 'pending' },
    ]));
    expect(plan.would_run).toEqual([]);
    expect(plan.blocked).toContain('0001_a.sql');
  });

  it('an unreadable status is unknown, never zero pending', () => {
    const plan = databasePlan('main', 'command', 'pre_deploy', unreadable('engine command has no plan_command'));
    expect(plan).toMatchObject({ readable: false, pending_count: null, reason: 'engine command has no plan_command' });
    const assembled = assemblePlan({ service: 's', environment: 'prod', image: null }, [plan]);
    expect(assembled.deploy.migrate_pre).toEqual([{ database: 'main', would_run: null }]);
    expect(databasePlan('m', 'golang-migrate', 'pre_deploy', readable([{ id: '3', state: 'applied' }], false)).pending_count).toBeNull();
  });

  it('groups databases by the deploy phase that runs them; manual ones are not run', () => {
    const plan = assemblePlan({ service: 'shop', environment: 'prod', image: 'r/shop@sha256:1' }, [
      databasePlan('main', 'raw', 'pre_deploy', readable([{ id: '0001_a', state: 'pending' }])),
      databasePlan('events', 'knex', 'post_deploy', readable([{ id: 'x.js', state: 'applied' }])),
      databasePlan('reports', 'raw', 'manual', readable([{ id: '0001_r', state: 'pending' }])),
    ]);
    expect(plan.deploy).toEqual({
      migrate_pre: [{ database: 'main', would_run: ['0001_a'] }],
      migrate_post: [{ database: 'events', would_run: [] }],
      not_run: [{ database: 'reports', reason: expect.stringContaining('migrate run --database reports') }],
    });
    const text = formatMigratePlan(plan);
    expect(text).toContain('main [raw, pre_deploy → migrate_pre]: 0 applied, 1 pending');
    expect(text).toContain('  pending  0001_a');
    expect(text).toContain('events: nothing pending');
    expect(text).toContain('not run: reports');
    expect(text).toContain('read-only');
  });
});
