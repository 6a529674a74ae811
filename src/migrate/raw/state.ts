/** The raw engine's state: migration files compared with the rows of stagecraft_migrations. */
import type { DatabaseState, MigrationEntry } from '../types.js';
import type { RawMigrationFile } from './files.js';
import type { TrackingRow } from './tracking.js';

export function rawState(files: readonly RawMigrationFile[], rows: readonly TrackingRow[]): DatabaseState {
  const rowById = new Map(rows.map((row) => [row.id, row]));
  const migrations: MigrationEntry[] = files.map((file) => entryFor(file, rowById.get(file.id)));
  const fileIds = new Set(files.map((file) => file.id));
  const notes: string[] = [];
  for (const row of rows) {
    if (fileIds.has(row.id) || row.status !== 'completed') continue;
    migrations.push({ id: row.id, state: 'applied', missing_file: true, ...timing(row) });
    notes.push(`${row.id} is applied but its file is gone`);
  }
  return {
    readable: true,
    migrations,
    applied_count: migrations.filter((m) => m.state === 'applied' || m.state === 'drifted').length,
    pending_known: true,
    notes,
  };
}

function entryFor(file: RawMigrationFile, row: TrackingRow | undefined): MigrationEntry {
  const base = { id: file.id, file: file.file };
  if (!row) return { ...base, state: 'pending' };
  switch (row.status) {
    case 'completed':
      return row.checksum === file.checksum
        ? { ...base, state: 'applied', ...timing(row) }
        : { ...base, state: 'drifted', ...timing(row), error: `${file.file} changed after it was applied (sha256 ${row.checksum.slice(0, 12)}… applied, ${file.checksum.slice(0, 12)}… now)` };
    case 'failed':
      return { ...base, state: 'failed', ...timing(row), ...(row.error ? { error: row.error } : {}) };
    case 'running':
      return { ...base, state: 'failed', ...timing(row), error: `left "running" by ${row.executed_by} (interrupted?)` };
    case 'pending':
    case 'rolled_back':
      return { ...base, state: 'pending' };
  }
}

function timing(row: TrackingRow): Pick<MigrationEntry, 'applied_at' | 'duration_ms'> {
  return {
    ...(row.finished_at ? { applied_at: row.finished_at.toISOString() } : {}),
    ...(row.duration_ms !== null ? { duration_ms: row.duration_ms } : {}),
  };
}
