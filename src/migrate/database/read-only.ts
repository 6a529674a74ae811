/**
 * Read-only access to a migration tool's bookkeeping table, through the same tunnel as the raw
 * engine: how `migrate plan` learns what a tool applied without starting the tool (which would
 * create its tables on a fresh database).
 */
import type { EngineTarget } from '../types.js';
import { closeClient, connectDatabase } from './connect.js';
import type { DatabaseClient } from './connect.js';

export type ReadOnlyTarget = Pick<EngineTarget, 'database' | 'url' | 'host' | 'actor' | 'scrub'>;

/** Runs `read` on a session whose transactions are READ ONLY: a write in it fails instead of landing. */
export async function withReadOnlyDatabase<T>(target: ReadOnlyTarget, read: (client: DatabaseClient) => Promise<T>): Promise<T> {
  let client: DatabaseClient | undefined;
  try {
    client = await connectDatabase({
      database: target.database,
      url: target.url,
      via: await target.host(),
      applicationName: `stagecraft plan (${target.actor})`.slice(0, 63),
      scrub: target.scrub,
    });
    await client.query('SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY');
    return await read(client);
  } finally {
    await closeClient(client);
  }
}

/** `"schema"."table"` with both parts quoted (the schema only when given). */
export function qualifiedTable(table: string, schema?: string | null): string {
  const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;
  return `${schema ? `${quote(schema)}.` : ''}${quote(table)}`;
}

/** Whether a table exists, without touching it (a missing table means the tool applied nothing yet). */
export async function tableExists(client: DatabaseClient, table: string, schema?: string | null): Promise<boolean> {
  const result = await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [qualifiedTable(table, schema)]);
  return result.rows[0]?.t != null;
}

export interface BookkeepingTable {
  schema: string | null;
  table: string;
}

/** `migrations.table` ("table" or "schema.table") or the tool's default. */
export function bookkeepingTable(setting: string | undefined, fallback: BookkeepingTable): BookkeepingTable {
  if (setting === undefined) return fallback;
  const dot = setting.indexOf('.');
  return dot < 0 ? { schema: fallback.schema, table: setting } : { schema: setting.slice(0, dot), table: setting.slice(dot + 1) };
}
