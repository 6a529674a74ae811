import { describe, expect, it } from 'vitest';
import { checksumOf } from '../../../src/migrate/raw/files.js';
import type { RawMigrationFile } from '../../../src/migrate/raw/files.js';
import { rawState } from '../../../src/migrate/raw/state.js';
import type { HistoryRow, TrackingRow, TrackingStatus } from '../../../src/migrate/raw/tracking.js';
import { databasePlan } from '../../../src/migrate/plan.js';
import { pendingOf } from '../../../src/migrate/types.js';
import { databaseStatus, formatHistory, formatStatus, lastExecution } from '../../../src/migrate/status.js';

function file(id: string): RawMigrationFile {
  const sql = `-- ${id}`;
  return { id, file: `${id}.sql`, number: BigInt(id.split('_')[0]!), path: `/db/${id}.sql`, checksum: checksumOf(sql), sql, depends_on: [], metadata: {}, post_deploy: false };
}

function row(id: string, status: TrackingStatus, at = '2026-11-22T10:00:00Z', extra: Partial<TrackingRow> = {}): TrackingRow {
  return {
    id,
    checksum: checksumOf(`-- ${id}`),
    status,
    started_at: new Date(at),
    finished_at: status === 'running' ? null : new Date(at),
    duration_ms: status === 'running' ? null : 5,
    executed_by: 'ada@laptop',
    environment: 'prod',
    error: null,
    ...extra,
  };
}

const files = [file('0001_a'), file('0002_b'), file('0003_c')];

describe('dirty state: a row left running while nobody holds the migration lock', () => {
  it('is dirty (flag on the entry and the database) and never retried by a run', () => {
    const state = rawState(files, [row('0001_a', 'completed'), row('0002_b', 'running')]);
    expect(state.dirty).toBe(true);
    const entry = state.migrations.find((m) => m.id === '0002_b')!;
    expect(entry).toMatchObject({ state: 'failed', dirty: true });
    expect(entry.error).toContain('nobody holds the migration lock');
    expect(pendingOf(state).map((m) => m.id)).toEqual(['0003_c']);
  });

  it('is not dirty while another session holds the lock (it is being applied)', () => {
    const state = rawState(files, [row('0001_a', 'completed'), row('0002_b', 'running')], { lockHeld: true });
    expect(state.dirty).toBeUndefined();
    expect(state.migrations.find((m) => m.id === '0002_b')).toMatchObject({ running: true });
    expect(state.migrations.some((m) => m.dirty)).toBe(false);
  });

  it('a running row whose file is gone is dirty too', () => {
    const state = rawState([file('0001_a')], [row('0001_a', 'completed'), row('0009_gone', 'running')]);
    expect(state.migrations.find((m) => m.id === '0009_gone')).toMatchObject({ dirty: true, missing_file: true });
  });

  it('the plan blocks the run, flags the database and names the resolve command', () => {
    const plan = databasePlan('main', 'raw', 'pre_deploy', rawState(files, [row('0002_b', 'running')]));
    expect(plan.dirty).toBe(true);
    expect(plan.would_run).toEqual([]);
    expect(plan.blocked).toContain('dirty: 0002_b');
    expect(plan.blocked).toContain('stagecraft migrate resolve --database main ID --applied|--rolled-back');
  });

  it('rows of the previous stagecraft (no dependencies/metadata columns) read the same', () => {
    const state = rawState(files, [row('0001_a', 'completed'), row('0002_b', 'completed')]);
    expect(state.migrations.map((m) => m.state)).toEqual(['applied', 'applied', 'pending']);
  });
});

describe('migrate status summary', () => {
  const event: HistoryRow = {
    id: '7',
    migration_id: '0002_b',
    environment: 'prod',
    event: 'completed',
    at: new Date('2026-11-23T08:00:00Z'),
    executed_by: 'bob@ci',
    release_id: 'r-123',
    duration_ms: 42,
    error: null,
  };

  it('counts applied, pending, failed, drifted and dirty; lock holder and tables', () => {
    const rows = [row('0001_a', 'completed'), row('0002_b', 'failed', undefined, { error: 'boom' }), row('0003_c', 'running')];
    const state = rawState(files, rows);
    const status = databaseStatus('main', 'raw', state, {
      tables: { tracking: true, history: true },
      rows,
      lastEvent: event,
      holder: { pid: 99, application_name: 'psql', usename: null, client_addr: null, backend_start: null },
    });
    expect(status.counts).toEqual({ applied: 1, pending: 0, failed: 1, drifted: 0, dirty: 1 });
    expect(status.dirty).toBe(true);
    expect(status.history_tracked).toBe(true);
    expect(status.last_execution).toEqual({ migration: '0002_b', event: 'completed', at: '2026-11-23T08:00:00.000Z', executed_by: 'bob@ci', release_id: 'r-123', duration_ms: 42 });
    expect(status.lock_holder).toEqual({ pid: 99, application_name: 'psql' });
    const text = formatStatus('prod', [status]);
    expect(text).toContain('dirty 1');
    expect(text).toContain('held by pid 99');
  });

  it('without a history table the last execution comes from the newest row', () => {
    const rows = [row('0001_a', 'completed', '2026-11-20T00:00:00Z'), row('0002_b', 'completed', '2026-11-21T00:00:00Z')];
    expect(lastExecution(rows, undefined)).toMatchObject({ migration: '0002_b', event: 'completed', release_id: null });
    expect(lastExecution([], undefined)).toBeNull();
  });

  it('other engines: what plan() reports, and where stagecraft lists their runs', () => {
    const status = databaseStatus('analytics', 'knex', { readable: true, migrations: [{ id: 'x', state: 'applied' }, { id: 'y', state: 'pending' }], applied_count: 1, pending_known: true, notes: [] });
    expect(status.counts).toEqual({ applied: 1, pending: 1, failed: 0, drifted: 0, dirty: 0 });
    expect(status.history_tracked).toBe(false);
    expect(status.tables).toBeNull();
    expect(status.notes.join(' ')).toContain('knex keeps its own table; `migrate history` lists the runs stagecraft made');
    expect(status.pending).toEqual([{ id: 'y' }]);
  });

  it('history: a clear message when the table does not exist yet', () => {
    expect(formatHistory('main', null)).toContain('stagecraft_migration_history does not exist');
    expect(formatHistory('main', [event])).toContain('completed   0002_b  by bob@ci, release r-123, 42 ms');
  });
});
