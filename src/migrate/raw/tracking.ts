/**
 * The raw engine's record of what it applied: one row per migration in `stagecraft_migrations`,
 * in the database being migrated (the default schema of the connection's search_path).
 */
import type { DatabaseClient } from '../database/connect.js';

export const TRACKING_TABLE = 'stagecraft_migrations';

export const TRACKING_STATUSES = ['pending', 'running', 'completed', 'failed', 'rolled_back'] as const;
export type TrackingStatus = (typeof TRACKING_STATUSES)[number];

export interface TrackingRow {
  id: string;
  checksum: string;
  status: TrackingStatus;
  started_at: Date | null;
  finished_at: Date | null;
  duration_ms: number | null;
  executed_by: string;
  environment: string;
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

export async function trackingTableExists(client: DatabaseClient): Promise<boolean> {
  const result = await client.query<{ exists: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS exists`, [TRACKING_TABLE]);
  return result.rows[0]?.exists === true;
}

export async function ensureTrackingTable(client: DatabaseClient): Promise<void> {
  await client.query(CREATE_TABLE);
}

export async function readTrackingRows(client: DatabaseClient): Promise<TrackingRow[]> {
  const result = await client.query<TrackingRow>(
    `SELECT id, checksum, status, started_at, finished_at, duration_ms, executed_by, environment, error FROM ${TRACKING_TABLE} ORDER BY id`,
  );
  return result.rows;
}

export interface RunBy {
  executedBy: string;
  environment: string;
}

/** Marks a migration running (committed at once, so a crash leaves a trace). */
export async function markRunning(client: DatabaseClient, id: string, checksum: string, by: RunBy): Promise<void> {
  await client.query(
    `INSERT INTO ${TRACKING_TABLE} (id, checksum, status, started_at, finished_at, duration_ms, executed_by, environment, error)
     VALUES ($1, $2, 'running', now(), NULL, NULL, $3, $4, NULL)
     ON CONFLICT (id) DO UPDATE SET checksum = EXCLUDED.checksum, status = 'running', started_at = now(), finished_at = NULL,
       duration_ms = NULL, executed_by = EXCLUDED.executed_by, environment = EXCLUDED.environment, error = NULL`,
    [id, checksum, by.executedBy, by.environment],
  );
}

export async function markFinished(
  client: DatabaseClient,
  id: string,
  status: Exclude<TrackingStatus, 'pending' | 'running'>,
  durationMs: number,
  error: string | null = null,
): Promise<void> {
  await client.query(`UPDATE ${TRACKING_TABLE} SET status = $2, finished_at = now(), duration_ms = $3, error = $4 WHERE id = $1`, [
    id,
    status,
    Math.round(durationMs),
    error,
  ]);
}
