/** What a database holds, to show that a command wrote nothing: every table outside the system schemas with its row count. */
import type { ScratchDatabase } from './scratch-database.js';

export type DatabaseSnapshot = Record<string, number>;

export async function snapshotDatabase(db: ScratchDatabase): Promise<DatabaseSnapshot> {
  const tables = await db.query<{ name: string }>(
    `SELECT format('%I.%I', table_schema, table_name) AS name FROM information_schema.tables
     WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
  );
  const snapshot: DatabaseSnapshot = {};
  for (const { name } of tables) {
    const [row] = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${name}`);
    snapshot[name] = Number(row?.n ?? 0);
  }
  return snapshot;
}
