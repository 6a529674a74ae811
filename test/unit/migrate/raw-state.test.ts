import { describe, expect, it } from 'vitest';
import { checksumOf } from '../../../src/migrate/raw/files.js';
import type { RawMigrationFile } from '../../../src/migrate/raw/files.js';
import { rawState } from '../../../src/migrate/raw/state.js';
import type { TrackingRow, TrackingStatus } from '../../../src/migrate/raw/tracking.js';

function file(id: string, sql = `-- ${id}`): RawMigrationFile {
  return { id, file: `${id}.sql`, number: BigInt(id.split('_')[0]!), path: `/db/${id}.sql`, checksum: checksumOf(sql), sql, depends_on: [], metadata: {}, post_deploy: false };
}

function row(id: string, status: TrackingStatus, sql = `-- ${id}`, error: string | null = null): TrackingRow {
  return {
    id,
    checksum: checksumOf(sql),
    status,
    started_at: new Date('2026-11-22T10:00:00Z'),
    finished_at: new Date('2026-11-22T10:00:01Z'),
    duration_ms: 12,
    executed_by: 'ada@laptop',
    environment: 'prod',
    error,
  };
}

describe('raw state: files compared with stagecraft_migrations', () => {
  it('no rows: everything pending', () => {
    const state = rawState([file('0001_a'), file('0002_b')], []);
    expect(state.migrations.map((m) => m.state)).toEqual(['pending', 'pending']);
    expect(state.applied_count).toBe(0);
  });

  it('applied, failed (with its error), interrupted, rolled back', () => {
    const state = rawState(
      [file('0001_a'), file('0002_b'), file('0003_c'), file('0004_d')],
      [row('0001_a', 'completed'), row('0002_b', 'failed', '-- 0002_b', 'boom'), row('0003_c', 'running'), row('0004_d', 'rolled_back')],
    );
    expect(state.migrations.map((m) => [m.id, m.state])).toEqual([
      ['0001_a', 'applied'],
      ['0002_b', 'failed'],
      ['0003_c', 'failed'],
      ['0004_d', 'pending'],
    ]);
    expect(state.migrations[0]).toMatchObject({ applied_at: '2026-11-22T10:00:01.000Z', duration_ms: 12 });
    expect(state.migrations[1]!.error).toBe('boom');
    expect(state.migrations[2]!.error).toContain('left "running" by ada@laptop');
    expect(state.applied_count).toBe(1);
  });

  it('an applied file whose checksum changed is drifted, naming the file', () => {
    const state = rawState([file('0001_a', 'CREATE TABLE a (x int);')], [row('0001_a', 'completed', 'CREATE TABLE a (x bigint);')]);
    expect(state.migrations[0]).toMatchObject({ id: '0001_a', state: 'drifted', file: '0001_a.sql' });
    expect(state.migrations[0]!.error).toContain('0001_a.sql changed after it was applied');
  });

  it('an applied migration whose file is gone stays listed, flagged', () => {
    const state = rawState([file('0002_b')], [row('0001_a', 'completed'), row('0009_z', 'failed')]);
    expect(state.migrations).toEqual([
      { id: '0002_b', file: '0002_b.sql', state: 'pending', checksum: file('0002_b').checksum },
      expect.objectContaining({ id: '0001_a', state: 'applied', missing_file: true }),
    ]);
    expect(state.notes).toEqual(['0001_a is applied but its file is gone']);
  });
});
