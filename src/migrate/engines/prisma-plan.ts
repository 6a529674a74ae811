/**
 * prisma's plan without starting prisma:
 *   - the migrations are the directories under `migrations.path` in the app image (prisma's
 *     `prisma/migrations`), each with its `migration.sql`, read from a created, never started container;
 *   - what is applied comes from prisma's own table `_prisma_migrations`, read through the primary
 *     host's SSH tunnel; a table that does not exist means nothing is applied.
 * The states follow `prisma migrate status`: a row finished and not rolled back is applied (drifted
 * when migration.sql no longer matches its checksum), a row neither finished nor rolled back is a
 * failed migration, a name whose rows are all rolled back is pending again.
 */
import { createHash } from 'node:crypto';
import { bookkeepingTable, qualifiedTable, tableExists, withReadOnlyDatabase } from '../database/read-only.js';
import type { BookkeepingTable } from '../database/read-only.js';
import type { DatabaseClient } from '../database/connect.js';
import type { DatabaseState, EngineTarget, MigrationEntry } from '../types.js';
import { unreadable } from '../types.js';
import { readMigrationTree } from './image-files.js';

export const PRISMA_TABLE: BookkeepingTable = { schema: null, table: '_prisma_migrations' };
export const PRISMA_MIGRATIONS_PATH = 'prisma/migrations';

/** One row of `_prisma_migrations`, as read. */
export interface PrismaRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | string | null;
  rolled_back_at: Date | string | null;
  logs: string | null;
}

export interface PrismaMigrationDir {
  name: string;
  /** migration.sql, or undefined when the directory has none. */
  sql: Buffer | undefined;
}

/** The migration directories (one level below the migrations directory) in prisma's order, by name. */
export function prismaMigrationDirs(files: ReadonlyMap<string, Buffer>): PrismaMigrationDir[] {
  const dirs = new Map<string, Buffer | undefined>();
  for (const [path, content] of files) {
    const slash = path.indexOf('/');
    if (slash <= 0) continue;
    const name = path.slice(0, slash);
    if (!dirs.has(name)) dirs.set(name, undefined);
    if (path === `${name}/migration.sql`) dirs.set(name, content);
  }
  return [...dirs.keys()].sort().map((name) => ({ name, sql: dirs.get(name) }));
}

function sha256(content: Buffer | string): string {
  return createHash('sha256').update(content).digest('hex');
}

/** sha256 hex of the script; like prisma, a script whose line endings alone changed (LF/CRLF) still matches. */
export function prismaChecksumMatches(sql: Buffer, checksum: string): boolean {
  const text = sql.toString('utf8');
  const lf = text.replace(/\r\n/g, '\n');
  return [sha256(sql), sha256(lf), sha256(lf.replace(/\n/g, '\r\n'))].includes(checksum.toLowerCase());
}

function iso(value: Date | string | null): string | undefined {
  if (value === null) return undefined;
  return value instanceof Date ? value.toISOString() : value;
}

function logSummary(text: string | null): string | undefined {
  const lines = (text ?? '').split('\n').map((line) => line.trim()).filter((line) => line !== '');
  return lines.length > 0 ? lines.slice(0, 3).join(' / ') : undefined;
}

/**
 * prisma's view of the state. `rows` is undefined when `_prisma_migrations` does not exist.
 * Migrations come in directory order; names only the database knows follow, as applied with
 * `missing_file`.
 */
export function prismaState(table: BookkeepingTable, dirs: readonly PrismaMigrationDir[], rows: readonly PrismaRow[] | undefined): DatabaseState {
  const live = (rows ?? []).filter((row) => row.rolled_back_at === null);
  const appliedRow = new Map<string, PrismaRow>();
  const failedRow = new Map<string, PrismaRow>();
  for (const row of live) {
    if (row.finished_at !== null) appliedRow.set(row.migration_name, row);
    else failedRow.set(row.migration_name, row);
  }
  const migrations: MigrationEntry[] = [];
  const noScript: string[] = [];
  for (const dir of dirs) {
    const applied = appliedRow.get(dir.name);
    const failed = failedRow.get(dir.name);
    if (dir.sql === undefined) noScript.push(dir.name);
    const file = dir.sql !== undefined ? { file: `${dir.name}/migration.sql` } : {};
    if (failed) {
      const error = logSummary(failed.logs);
      migrations.push({ id: dir.name, ...file, state: 'failed', ...(error ? { error } : {}) });
    } else if (applied) {
      const at = iso(applied.finished_at);
      const drifted = dir.sql !== undefined && !prismaChecksumMatches(dir.sql, applied.checksum);
      migrations.push({
        id: dir.name,
        ...file,
        state: drifted ? 'drifted' : 'applied',
        ...(at ? { applied_at: at } : {}),
        ...(drifted ? { error: 'migration.sql was modified after it was applied (checksum differs)' } : {}),
      });
    } else {
      migrations.push({ id: dir.name, ...file, state: 'pending' });
    }
  }
  const known = new Set(dirs.map((dir) => dir.name));
  const onlyInDatabase = [...new Set(live.map((row) => row.migration_name))].filter((name) => !known.has(name));
  for (const name of onlyInDatabase) {
    const failed = failedRow.get(name);
    migrations.push(failed ? { id: name, state: 'failed', missing_file: true } : { id: name, state: 'applied', missing_file: true });
  }
  const notes = [
    ...(rows === undefined ? [`${qualifiedTable(table.table, table.schema)} does not exist yet: nothing applied`] : []),
    ...(onlyInDatabase.length > 0 ? [`in ${table.table} but not in the image's migrations directory: ${onlyInDatabase.join(', ')}`] : []),
    ...(noScript.length > 0 ? [`no migration.sql in: ${noScript.join(', ')} (prisma cannot apply them)`] : []),
  ];
  const appliedCount = migrations.filter((m) => m.state === 'applied' || m.state === 'drifted').length;
  return { readable: true, migrations, applied_count: appliedCount, pending_known: true, notes };
}

/** Every row of `_prisma_migrations` in the order prisma started them, or undefined when it does not exist. Reads only. */
export async function readPrismaRows(client: DatabaseClient, table: BookkeepingTable): Promise<PrismaRow[] | undefined> {
  if (!(await tableExists(client, table.table, table.schema))) return undefined;
  const result = await client.query<PrismaRow>(
    `SELECT migration_name, checksum, finished_at, rolled_back_at, logs FROM ${qualifiedTable(table.table, table.schema)} ORDER BY started_at, migration_name`,
  );
  return result.rows;
}

export async function readPrismaPlan(target: EngineTarget): Promise<DatabaseState> {
  const path = target.migrations.path ?? PRISMA_MIGRATIONS_PATH;
  const table = bookkeepingTable(target.migrations.table, PRISMA_TABLE);
  const message = (error: unknown) => target.scrub(error instanceof Error ? error.message : String(error));
  let dirs: PrismaMigrationDir[];
  try {
    const tree = await readMigrationTree(target, path, { include: (file) => /^[^/]+\/[^/]+$/.test(file) });
    if ('missing' in tree) return unreadable(`cannot list prisma migrations: ${tree.missing} (migrations.path must be prisma's migrations directory)`);
    dirs = prismaMigrationDirs(tree.files);
  } catch (error) {
    return unreadable(`could not read ${path} from the app image: ${message(error)}`);
  }
  try {
    return prismaState(table, dirs, await withReadOnlyDatabase(target, (client) => readPrismaRows(client, table)));
  } catch (error) {
    return unreadable(`cannot read ${qualifiedTable(table.table, table.schema)}: ${message(error)}`);
  }
}
