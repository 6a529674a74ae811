/**
 * knex's plan without starting knex (`knex migrate:list` creates `knex_migrations` and
 * `knex_migrations_lock` on a database that has none, so `migrate plan` would write):
 *   - the migration files are the ones under `migrations.path` in the app image (knexfile's
 *     `migrations.directory`), read from a created, never started container;
 *   - the applied ones come from knex's own table (`migrations.table`, default knex_migrations),
 *     read through the primary host's SSH tunnel; a table that does not exist means nothing is applied.
 */
import { posix } from 'node:path';
import { bookkeepingTable, qualifiedTable, tableExists, withReadOnlyDatabase } from '../database/read-only.js';
import type { BookkeepingTable } from '../database/read-only.js';
import type { DatabaseClient } from '../database/connect.js';
import type { DatabaseState, EngineTarget, MigrationEntry } from '../types.js';
import { unreadable } from '../types.js';
import { readMigrationTree } from './image-files.js';

/** What knex loads from its migrations directory unless the knexfile's loadExtensions says otherwise. */
export const KNEX_EXTENSIONS = ['.co', '.coffee', '.eg', '.iced', '.js', '.cjs', '.litcoffee', '.ls', '.ts'];

export const KNEX_TABLE: BookkeepingTable = { schema: null, table: 'knex_migrations' };

/** Migration file names directly in the directory, in knex's order (by name). */
export function knexMigrationFiles(paths: Iterable<string>): string[] {
  return [...paths].filter((path) => !path.includes('/') && KNEX_EXTENSIONS.includes(posix.extname(path))).sort();
}

/** knex's view of the state: every applied name, then the files not applied, as `migrate:list` shows them. */
export function knexState(table: BookkeepingTable, files: readonly string[], applied: readonly string[] | undefined): DatabaseState {
  const done = new Set(applied ?? []);
  const migrations: MigrationEntry[] = [
    ...(applied ?? []).map((id): MigrationEntry => ({ id, state: 'applied' })),
    ...files.filter((file) => !done.has(file)).map((id): MigrationEntry => ({ id, state: 'pending' })),
  ];
  const missing = (applied ?? []).filter((id) => !files.includes(id));
  const notes = [
    ...(applied === undefined ? [`${qualifiedTable(table.table, table.schema)} does not exist yet: nothing applied`] : []),
    ...(missing.length > 0 ? [`applied but not in the image's migrations directory: ${missing.join(', ')} (knex refuses to migrate until they are back)`] : []),
  ];
  return { readable: true, migrations, applied_count: done.size, pending_known: true, notes };
}

/** Names in knex's table in applied order, or undefined when the table does not exist. Reads only. */
export async function readKnexApplied(client: DatabaseClient, table: BookkeepingTable): Promise<string[] | undefined> {
  if (!(await tableExists(client, table.table, table.schema))) return undefined;
  return (await client.query<{ name: string }>(`SELECT name FROM ${qualifiedTable(table.table, table.schema)} ORDER BY id`)).rows.map((row) => row.name);
}

export async function readKnexPlan(target: EngineTarget): Promise<DatabaseState> {
  const path = target.migrations.path ?? 'migrations';
  const table = bookkeepingTable(target.migrations.table, KNEX_TABLE);
  const message = (error: unknown) => target.scrub(error instanceof Error ? error.message : String(error));
  let files: string[];
  try {
    const tree = await readMigrationTree(target, path, { include: (file) => !file.includes('/') && KNEX_EXTENSIONS.includes(posix.extname(file)) });
    if ('missing' in tree) return unreadable(`cannot list knex migrations: ${tree.missing} (migrations.path must be the knexfile's migrations.directory)`);
    files = knexMigrationFiles(tree.files.keys());
  } catch (error) {
    return unreadable(`could not read ${path} from the app image: ${message(error)}`);
  }
  try {
    return knexState(table, files, await withReadOnlyDatabase(target, (client) => readKnexApplied(client, table)));
  } catch (error) {
    return unreadable(`cannot read ${qualifiedTable(table.table, table.schema)}: ${message(error)}`);
  }
}
