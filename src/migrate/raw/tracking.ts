/**
 * The raw engine's record of what it applied: one row per migration in `stagecraft_migrations`,
 * and every start, completion, failure, rollback and resolution appended to
 * `stagecraft_migration_history`, in the database being migrated (the default schema of the
 * connection's search_path). Tables written by an older stagecraft are upgraded in place: columns
 * are only ever added (`ADD COLUMN IF NOT EXISTS`), never dropped or rewritten.
 */
import type { DatabaseClient } from '../database/connect.js';

export const TRACKING_TABLE = 'stagecraft_migrations';
export const HISTORY_TABLE = 'stagecraft_migration_history';

export const TRACKING_STATUSES = ['pending', 'running', 'completed', 'failed', 'rolled_back'] as const;
export type TrackingStatus = (typeof TRACKING_STATUSES)[number];

export const HISTORY_EVENTS = ['started', 'completed', 'failed', 'rolled_back', 'resolved'] as const;
export type HistoryEvent = (typeof HISTORY_EVENTS)[number];

export interface TrackingRow {
  id: string;
  checksum: string;
  status: TrackingStatus;
  started_at: Date | null;
  /** When it completed (or failed, or was rolled back). */
  finished_at: Date | null;
  duration_ms: number | null;
  executed_by: string;
  environment: string;
  error: string | null;
  /** Null in rows written by stagecraft before execution tracking. */
  dependencies?: string[] | null;
  metadata?: TrackingMetadata | null;
  rolled_back_at?: Date | null;
  /** The release that rolled it back, when a deploy did. */
  rollback_version?: string | null;
}

export interface TrackingMetadata {
  description?: string;
  affects_tables?: string[];
  risk_level?: string;
  /** The deploy's release id; null when run by `migrate run`. */
  release_id: string | null;
}

export interface HistoryRow {
  id: string;
  migration_id: string;
  environment: string;
  event: HistoryEvent;
  at: Date;
  executed_by: string;
  release_id: string | null;
  duration_ms: number | null;
  error: string | null;
}

const CREATE_TABLE = `
CREATE TABLE IF NOT EXISTS ${TRACKING_TABLE} (
  id text PRIMARY KEY,
  checksum text NOT NULL,
  status text NOT NULL CHECK (status IN (${TRACKING_STATUSES.map((s) => `'${s}'`).join(', ')})),
  started_at timestamptz,
  finished_at timestamptz,
  duration_ms integer,
  executed_by text NOT NULL,
  environment text NOT NULL,
  error text
)`;

/** Columns added by execution tracking: added to an older table in place. */
const UPGRADE_TABLE = `
ALTER TABLE ${TRACKING_TABLE}
  ADD COLUMN IF NOT EXISTS dependencies jsonb,
  ADD COLUMN IF NOT EXISTS metadata jsonb,
  ADD COLUMN IF NOT EXISTS rolled_back_at timestamptz,
  ADD COLUMN IF NOT EXISTS rollback_version text`;

const CREATE_HISTORY = `
CREATE TABLE IF NOT EXISTS ${HISTORY_TABLE} (
  id bigserial PRIMARY KEY,
  migration_id text NOT NULL,
  environment text NOT NULL,
  event text NOT NULL CHECK (event IN (${HISTORY_EVENTS.map((s) => `'${s}'`).join(', ')})),
  at timestamptz NOT NULL DEFAULT now(),
  executed_by text NOT NULL,
  release_id text,
  duration_ms integer,
  error text
)`;

async function tableExists(client: DatabaseClient, table: string): Promise<boolean> {
  const result = await client.query<{ exists: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS exists`, [table]);
  return result.rows[0]?.exists === true;
}

export function trackingTableExists(client: DatabaseClient): Promise<boolean> {
  return tableExists(client, TRACKING_TABLE);
}

export function historyTableExists(client: DatabaseClient): Promise<boolean> {
  return tableExists(client, HISTORY_TABLE);
}

/** Creates the tables, or upgrades an older stagecraft's table in place (nothing is lost). */
export async function ensureTrackingTable(client: DatabaseClient): Promise<void> {
  await client.query(CREATE_TABLE);
  await client.query(UPGRADE_TABLE);
  await client.query(CREATE_HISTORY);
}

/** Reads the rows; works on an older table too (the new columns read as null). */
export async function readTrackingRows(client: DatabaseClient): Promise<TrackingRow[]> {
  const result = await client.query<TrackingRow>(`SELECT * FROM ${TRACKING_TABLE} ORDER BY id`);
  return result.rows;
}

export async function readHistory(client: DatabaseClient, limit: number): Promise<HistoryRow[]> {
  const result = await client.query<HistoryRow>(
    `SELECT id::text AS id, migration_id, environment, event, at, executed_by, release_id, duration_ms, error
       FROM ${HISTORY_TABLE} ORDER BY at DESC, id DESC LIMIT $1`,
    [limit],
  );
  return result.rows;
}

export interface RunBy {
  executedBy: string;
  environment: string;
  /** The deploy's release id, when a deploy runs the migration. */
  releaseId?: string | undefined;
}

/** What is recorded about the file itself when it starts. */
export interface MigrationFacts {
  checksum: string;
  dependencies: readonly string[];
  metadata: Omit<TrackingMetadata, 'release_id'>;
}

/** Only the history table: what container engines' runs are recorded in (their tool keeps its own table). */
export async function ensureHistoryTable(client: DatabaseClient): Promise<void> {
  await client.query(CREATE_HISTORY);
}

export async function appendHistory(
  client: DatabaseClient,
  id: string,
  event: HistoryEvent,
  by: RunBy,
  durationMs: number | null = null,
  error: string | null = null,
): Promise<void> {
  await client.query(
    `INSERT INTO ${HISTORY_TABLE} (migration_id, environment, event, executed_by, release_id, duration_ms, error) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [id, by.environment, event, by.executedBy, by.releaseId ?? null, durationMs === null ? null : Math.round(durationMs), error],
  );
}

/**
 * Marks a migration running and appends `started`. Inside a transactional file's transaction this
 * commits (or vanishes) with the file; for a no-transaction file it is committed at once, so a
 * crash leaves a trace (a dirty database).
 */
export async function markRunning(client: DatabaseClient, id: string, facts: MigrationFacts, by: RunBy): Promise<void> {
  const metadata = JSON.stringify({ ...facts.metadata, release_id: by.releaseId ?? null });
  await client.query(
    `INSERT INTO ${TRACKING_TABLE} (id, checksum, status, started_at, finished_at, duration_ms, executed_by, environment, error, dependencies, metadata)
     VALUES ($1, $2, 'running', now(), NULL, NULL, $3, $4, NULL, $5::jsonb, $6::jsonb)
     ON CONFLICT (id) DO UPDATE SET checksum = EXCLUDED.checksum, status = 'running', started_at = now(), finished_at = NULL,
       duration_ms = NULL, executed_by = EXCLUDED.executed_by, environment = EXCLUDED.environment, error = NULL,
       dependencies = EXCLUDED.dependencies, metadata = EXCLUDED.metadata`,
    [id, facts.checksum, by.executedBy, by.environment, JSON.stringify(facts.dependencies), metadata],
  );
  await appendHistory(client, id, 'started', by);
}

/** Records the end of a run (`completed`, or `rolled_back` after its down file ran) and its history event. */
export async function markFinished(
  client: DatabaseClient,
  id: string,
  status: 'completed' | 'rolled_back',
  durationMs: number,
  by: RunBy,
): Promise<void> {
  const rolledBack = status === 'rolled_back';
  await client.query(
    `UPDATE ${TRACKING_TABLE} SET status = $2, finished_at = now(), duration_ms = $3, error = NULL,
       rolled_back_at = CASE WHEN $4 THEN now() ELSE rolled_back_at END,
       rollback_version = CASE WHEN $4 THEN $5 ELSE rollback_version END
     WHERE id = $1`,
    [id, status, Math.round(durationMs), rolledBack, by.releaseId ?? null],
  );
  await appendHistory(client, id, status, by, durationMs);
}

/**
 * Records a failed run: the row (inserted when a rolled-back transaction took its `running` mark
 * with it) and a `failed` event.
 */
export async function markFailed(client: DatabaseClient, id: string, facts: MigrationFacts, durationMs: number, error: string, by: RunBy): Promise<void> {
  const metadata = JSON.stringify({ ...facts.metadata, release_id: by.releaseId ?? null });
  await client.query(
    `INSERT INTO ${TRACKING_TABLE} (id, checksum, status, started_at, finished_at, duration_ms, executed_by, environment, error, dependencies, metadata)
     VALUES ($1, $2, 'failed', now(), now(), $7, $3, $4, $8, $5::jsonb, $6::jsonb)
     ON CONFLICT (id) DO UPDATE SET status = 'failed', finished_at = now(), duration_ms = $7, error = $8,
       checksum = EXCLUDED.checksum, executed_by = EXCLUDED.executed_by, environment = EXCLUDED.environment,
       dependencies = EXCLUDED.dependencies, metadata = EXCLUDED.metadata,
       started_at = COALESCE(${TRACKING_TABLE}.started_at, EXCLUDED.started_at)`,
    [id, facts.checksum, by.executedBy, by.environment, JSON.stringify(facts.dependencies), metadata, Math.round(durationMs), error],
  );
  await appendHistory(client, id, 'failed', by, durationMs, error);
}

/** `migrate resolve`: the operator's verdict on a migration left running. */
export async function markResolved(client: DatabaseClient, id: string, outcome: 'completed' | 'rolled_back', by: RunBy): Promise<void> {
  const rolledBack = outcome === 'rolled_back';
  await client.query(
    `UPDATE ${TRACKING_TABLE} SET status = $2, finished_at = now(),
error = NULL,
       rolled_back_at = CASE WHEN $3 THEN now() ELSE rolled_back_at END
     WHERE id = $1`,
    [id, outcome, rolledBack],
  );
  await appendHistory(client, id, 'resolved', by, null, `marked ${rolledBack ? 'rolled back' : 'applied'}`);
}
