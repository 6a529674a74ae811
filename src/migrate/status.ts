/**
 * `migrate status` and `migrate history`: what each database's engine reports, summarised, and the
 * raw engine's execution history. Read-only: nothing is created, no lock is taken.
 */
import type { DatabaseState } from './types.js';
import { pendingOf } from './types.js';
import type { RiskLevel } from './raw/dependencies.js';
import { describeStep } from './orchestrate/format-migration-plan.js';
import type { HistoryRow, TrackingRow } from './raw/tracking.js';
import type { LockHolder } from './raw/advisory-lock.js';

export interface LastExecution {
  migration: string;
  /** The history event (raw with history), or the row's status (older tables). */
  event: string;
  at: string | null;
  executed_by: string;
  release_id: string | null;
  duration_ms: number | null;
}

export interface DatabaseStatus {
  database: string;
  engine: string;
  readable: boolean;
  reason?: string;
  counts: { applied: number; pending: number | null; failed: number; drifted: number; dirty: number };
  dirty: boolean;
  /** False for engines whose execution history stagecraft does not record. */
  history_tracked: boolean;
  /** Raw only: whether stagecraft_migrations / stagecraft_migration_history exist. */
  tables: { tracking: boolean; history: boolean } | null;
  last_execution: LastExecution | null;
  lock_holder: { pid: number; application_name: string | null } | null;
  /** What a run would apply next, with what dependencies.json says of each. */
  pending: PendingMigration[];
  notes: string[];
}

export interface PendingMigration {
  id: string;
  description?: string;
  affects_tables?: string[];
  risk_level?: string;
  estimated_duration?: string;
}

/** What the raw engine reads besides the state, for the summary. */
export interface RawStatusFacts {
  tables: { tracking: boolean; history: boolean };
  rows: readonly TrackingRow[];
  lastEvent: HistoryRow | undefined;
  holder: LockHolder | undefined;
}

/** Pure: the newest execution, from the history when there is one, else from the rows' times. */
export function lastExecution(rows: readonly TrackingRow[], lastEvent: HistoryRow | undefined): LastExecution | null {
  if (lastEvent) {
    return {
      migration: lastEvent.migration_id,
      event: lastEvent.event,
      at: lastEvent.at.toISOString(),
      executed_by: lastEvent.executed_by,
      release_id: lastEvent.release_id,
      duration_ms: lastEvent.duration_ms,
    };
  }
  const time = (row: TrackingRow) => (row.finished_at ?? row.started_at)?.getTime() ?? -Infinity;
  const newest = [...rows].sort((a, b) => time(b) - time(a))[0];
  if (!newest) return null;
  const at = newest.finished_at ?? newest.started_at;
  return {
    migration: newest.id,
    event: newest.status,
    at: at ? at.toISOString() : null,
    executed_by: newest.executed_by,
    release_id: newest.metadata?.release_id ?? null,
    duration_ms: newest.duration_ms,
  };
}

/** Pure: one database's status from its engine's state (and, for raw, what else was read). */
export function databaseStatus(database: string, engine: string, state: DatabaseState, raw?: RawStatusFacts): DatabaseStatus {
  const count = (predicate: (m: DatabaseState['migrations'][number]) => boolean) => state.migrations.filter(predicate).length;
  const dirty = count((m) => m.dirty === true);
  return {
    database,
    engine,
    readable: state.readable,
    ...(state.reason !== undefined ? { reason: state.reason } : {}),
    counts: {
      applied: state.applied_count,
      pending: state.readable && state.pending_known ? count((m) => m.state === 'pending') : null,
      failed: count((m) => m.state === 'failed' && m.dirty !== true && m.running !== true),
      drifted: count((m) => m.state === 'drifted'),
      dirty,
    },
    dirty: dirty > 0,
    history_tracked: raw !== undefined,
    tables: raw ? raw.tables : null,
    last_execution: raw ? lastExecution(raw.rows, raw.lastEvent) : null,
    lock_holder: raw?.holder ? { pid: raw.holder.pid, application_name: raw.holder.application_name } : null,
    pending: state.readable ? pendingOf(state).map((m) => ({ id: m.id, ...m.metadata })) : [],
    notes: [...state.notes, ...(raw ? [] : [`${engine} keeps its own table; \`migrate history\` lists the runs stagecraft made`])],
  };
}

export function formatStatus(environment: string, statuses: readonly DatabaseStatus[]): string {
  const lines = [`migrate status: ${environment}`];
  for (const s of statuses) {
    lines.push('', `${s.database} [${s.engine}]${s.readable ? '' : `: status unknown: ${s.reason ?? 'not readable'}`}`);
    if (s.readable) {
      const c = s.counts;
      lines.push(`  applied ${c.applied}, pending ${c.pending ?? 'unknown'}, failed ${c.failed}, drifted ${c.drifted}, dirty ${c.dirty}${s.dirty ? '  ✖ DIRTY' : ''}`);
    }
    for (const pending of s.pending) {
      const about = describeStep({ ...pending, risk_level: (pending.risk_level as RiskLevel | undefined) ?? null, depends_on: [] });
      lines.push(`  ${pending.risk_level === 'high' ? '⚠' : ' '}pending ${pending.id}${about ? `  ${about}` : ''}`);
    }
    if (s.tables) lines.push(`  tracking tables: stagecraft_migrations ${s.tables.tracking ? 'exists' : 'missing'}, stagecraft_migration_history ${s.tables.history ? 'exists' : 'missing'}`);
    if (s.history_tracked) {
      const last = s.last_execution;
      lines.push(
        last
          ? `  last execution: ${last.event} ${last.migration} at ${last.at ?? 'unknown time'} by ${last.executed_by}${last.release_id ? `, release ${last.release_id}` : ''}${last.duration_ms !== null ? `, ${last.duration_ms} ms` : ''}`
          : '  last execution: none',
      );
      lines.push(`  migration lock: ${s.lock_holder ? `held by pid ${s.lock_holder.pid}${s.lock_holder.application_name ? ` ("${s.lock_holder.application_name}")` : ''}` : 'free'}`);
    }
    for (const note of s.notes) lines.push(`  note: ${note}`);
  }
  return lines.join('\n');
}

export function formatHistory(database: string, rows: readonly HistoryRow[] | null): string {
  if (rows === null) return `${database}: no history yet (stagecraft_migration_history does not exist; the first \`migrate run\` creates it)`;
  if (rows.length === 0) return `${database}: no events`;
  return [
    `${database}:`,
    ...rows.map(
      (r) =>
        `  ${r.at.toISOString()}  ${r.event.padEnd(11)} ${r.migration_id}  by ${r.executed_by}${r.release_id ? `, release ${r.release_id}` : ''}${r.duration_ms !== null ? `, ${r.duration_ms} ms` : ''}${r.error ? `  (${r.error})` : ''}`,
    ),
  ].join('\n');
}
