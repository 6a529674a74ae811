/** The raw engine's state: migration files compared with the rows of stagecraft_migrations. */
import type { DatabaseState, MigrationEntry } from '../types.js';
import type { RawMigrationFile } from './files.js';
import type { TrackingRow } from './tracking.js';

export interface RawStateOptions {
  /**
   * True when another session holds the migration advisory lock: a `running` row is then being
   * applied now. False (the default): nobody is applying, so a `running` row was left by a process
   * that died — the database is dirty.
   */
  lockHeld?: boolean;
}

export function rawState(files: readonly RawMigrationFile[], rows: readonly TrackingRow[], options: RawStateOptions = {}): DatabaseState {
  const lockHeld = options.lockHeld === true;
  const rowById = new Map(rows.map((row) => [row.id, row]));
  const migrations: MigrationEntry[] = files.map((file) => entryFor(file, rowById.get(file.id), lockHeld));
  const fileIds = new Set(files.map((file) => file.id));
  const notes: string[] = [];
  for (const row of rows) {
    if (fileIds.has(row.id)) continue;
    if (row.status === 'running') {
      migrations.push({ ...runningEntry({ id: row.id }, row, lockHeld), missing_file: true });
      continue;
    }
    if (row.status !== 'completed') continue;
    migrations.push({ id: row.id, state: 'applied', missing_file: true, ...timing(row) });
    notes.push(`${row.id} is applied but its file is gone`);
  }
  const dirty = migrations.filter((m) => m.dirty);
  for (const entry of dirty) notes.push(`${entry.id} is dirty: ${entry.error ?? 'left running'}`);
  return {
    readable: true,
    migrations,
    applied_count: migrations.filter((m) => m.state === 'applied' || m.state === 'drifted').length,
    pending_known: true,
    ...(dirty.length > 0 ? { dirty: true } : {}),
    notes,
  };
}

/** Command an operator runs once they checked what a dirty migration did. */
export function resolveCommand(environment: string, database: string, id: string): string {
  return `stagecraft migrate resolve --env ${environment} --database ${database} ${id} --applied|--rolled-back`;
}

function runningEntry(base: { id: string; file?: string }, row: TrackingRow, lockHeld: boolean): MigrationEntry {
  if (lockHeld) return { ...base, state: 'failed', running: true, error: `being applied by ${row.executed_by} (the migration lock is held)` };
  return {
    ...base,
    state: 'failed',
    dirty: true,
    ...timing(row),
    error: `dirty: left "running" by ${row.executed_by}${row.started_at ? ` since ${row.started_at.toISOString()}` : ''} and nobody holds the migration lock (the process died?)`,
  };
}

/** What the file says about itself: checksum, and dependencies and metadata where it declares any. */
function fileFacts(file: RawMigrationFile): Pick<MigrationEntry, 'checksum' | 'down_file' | 'post_deploy' | 'depends_on' | 'metadata'> {
  return {
    checksum: file.checksum,
    ...(file.post_deploy ? { post_deploy: true as const } : {}),
    ...(file.down ? { down_file: file.down.file } : {}),
    ...(file.depends_on.length > 0 ? { depends_on: file.depends_on } : {}),
    ...(Object.keys(file.metadata).length > 0 ? { metadata: file.metadata } : {}),
  };
}

function entryFor(file: RawMigrationFile, row: TrackingRow | undefined, lockHeld: boolean): MigrationEntry {
  const base = { id: file.id, file: file.file, ...fileFacts(file) };
  if (!row) return { ...base, state: 'pending' };
  switch (row.status) {
    case 'completed':
      return row.checksum === file.checksum
        ? { ...base, state: 'applied', ...timing(row) }
        : { ...base, state: 'drifted', ...timing(row), error: `${file.file} changed after it was applied (sha256 ${row.checksum.slice(0, 12)}… applied, ${file.checksum.slice(0, 12)}… now)` };
    case 'failed':
      return { ...base, state: 'failed', ...timing(row), ...(row.error ? { error: row.error } : {}) };
    case 'running':
      return runningEntry(base, row, lockHeld);
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
