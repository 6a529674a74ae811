/**
 * drizzle: `drizzle-kit migrate` applies. drizzle-kit has no status command, and plans do not start
 * it: the journal and SQL files come from `migrations.path` in the app image (drizzle.config's
 * `out`; the config is TypeScript/JavaScript and is never executed), the applied ones from drizzle's
 * table (`migrations.table`, default drizzle.__drizzle_migrations), read-only through the tunnel.
 * drizzle-kit writes no down migrations: there is no rollback.
 */
import { bookkeepingTable, qualifiedTable, tableExists, withReadOnlyDatabase } from '../database/read-only.js';
import type { BookkeepingTable } from '../database/read-only.js';
import type { DatabaseClient } from '../database/connect.js';
import type { DatabaseState, EngineTarget, MigrationEngine } from '../types.js';
import { unreadable } from '../types.js';
import { applyCommand } from '../engine-commands.js';
import { readMigrationTree } from './image-files.js';
import { DRIZZLE_JOURNAL, DRIZZLE_TABLE, drizzleState, parseDrizzleJournal } from './drizzle-state.js';
import type { DrizzleRow } from './drizzle-state.js';
import { parseStatusLines } from './status-lines.js';
import { toolEngine } from './tool-engine.js';

export const DRIZZLE_NO_ROLLBACK = 'drizzle-kit writes no down migrations, so there is nothing to roll back with; write a new migration that reverts the change (drizzle-kit generate) and deploy it';

export async function readDrizzleRows(client: DatabaseClient, table: BookkeepingTable): Promise<DrizzleRow[] | undefined> {
  if (!(await tableExists(client, table.table, table.schema))) return undefined;
  const result = await client.query<{ id: number; hash: string; created_at: string | null }>(`SELECT id, hash, created_at::text AS created_at FROM ${qualifiedTable(table.table, table.schema)} ORDER BY created_at, id`);
  return result.rows.map((row) => ({ id: Number(row.id), hash: row.hash, created_at: row.created_at === null ? null : Number(row.created_at) }));
}

export async function readDrizzlePlan(target: EngineTarget): Promise<DatabaseState> {
  const path = target.migrations.path ?? 'drizzle';
  const table = bookkeepingTable(target.migrations.table, DRIZZLE_TABLE);
  const message = (error: unknown) => target.scrub(error instanceof Error ? error.message : String(error));
  let journalText: string;
  let files: Map<string, Buffer>;
  try {
    const tree = await readMigrationTree(target, path, { include: (file) => file === DRIZZLE_JOURNAL || (!file.includes('/') && file.endsWith('.sql')) });
    if ('missing' in tree) return unreadable(`cannot read drizzle's migrations: ${tree.missing} (migrations.path must be drizzle.config's out)`);
    const journal = tree.files.get(DRIZZLE_JOURNAL);
    if (!journal) return unreadable(`${tree.root}/${DRIZZLE_JOURNAL} is not in the app image: drizzle-kit migrate fails without it (migrations.path must be drizzle.config's out)`);
    journalText = journal.toString('utf8');
    files = tree.files;
  } catch (error) {
    return unreadable(`could not read ${path} from the app image: ${message(error)}`);
  }
  const journal = parseDrizzleJournal(journalText);
  if ('error' in journal) return unreadable(journal.error);
  try {
    const rows = await withReadOnlyDatabase(target, (client) => readDrizzleRows(client, table));
    return drizzleState({ path, table, journal, files, rows });
  } catch (error) {
    return unreadable(`cannot read ${qualifiedTable(table.table, table.schema)}: ${message(error)}`);
  }
}

export const drizzleEngine: MigrationEngine = {
  ...toolEngine({
    name: 'drizzle',
    applyCommand: (target) => applyCommand({ ...target.migrations, command: undefined }),
    readState: readDrizzlePlan,
    refusesDrift: true,
    parseStatus: parseStatusLines,
  }),
  noRollback: DRIZZLE_NO_ROLLBACK,
};
