/**
 * golang-migrate's plan without starting `migrate`:
 *   - the migrations are the `<version>_<title>.up.<ext>` / `.down.<ext>` files directly in
 *     `migrations.path` in the app image (what `migrate -path` reads), read from a created, never
 *     started container;
 *   - the database's version comes from golang-migrate's table `schema_migrations`
 *     (`version bigint, dirty boolean`, one row at most), read through the primary host's SSH
 *     tunnel; no table or no row means nothing is applied.
 * golang-migrate keeps one version, not a list: every file version up to it counts as applied and
 * every later one as pending; a dirty version failed part-way. Ids are the versions as
 * `migrate version` prints them (`1`, `20240101120000`), so `--to` takes them too.
 */
import { posix } from 'node:path';
import { bookkeepingTable, qualifiedTable, tableExists, withReadOnlyDatabase } from '../database/read-only.js';
import type { BookkeepingTable } from '../database/read-only.js';
import type { DatabaseClient } from '../database/connect.js';
import type { DatabaseState, EngineTarget, MigrationEntry } from '../types.js';
import { unreadable } from '../types.js';
import { readMigrationTree } from './image-files.js';

export const GOLANG_MIGRATE_TABLE: BookkeepingTable = { schema: null, table: 'schema_migrations' };

/** golang-migrate's file name pattern: version digits, `_`, a title, `.up.` or `.down.`, an extension. */
const FILE = /^([0-9]+)_(.*)\.(up|down)\.(.*)$/;
const UINT64_MAX = 2n ** 64n - 1n;

export interface GolangMigration {
  /** The version as `migrate version` prints it (no leading zeros). */
  version: string;
  up?: string;
  down?: string;
}

export interface GolangMigrationFiles {
  migrations: GolangMigration[];
  /** Two files for one version and direction: golang-migrate refuses the directory. */
  duplicates: string[];
}

/** The migrations in a directory listing, by version (numerically). Other files are ignored, as golang-migrate does. */
export function golangMigrationFiles(paths: Iterable<string>): GolangMigrationFiles {
  const byVersion = new Map<bigint, GolangMigration>();
  const duplicates: string[] = [];
  for (const path of [...paths].sort()) {
    if (path.includes('/')) continue;
    const match = FILE.exec(path);
    if (!match) continue;
    const number = BigInt(match[1]!);
    if (number > UINT64_MAX) continue;
    const direction = match[3] as 'up' | 'down';
    const migration = byVersion.get(number) ?? { version: number.toString() };
    if (migration[direction] !== undefined) duplicates.push(`${migration[direction]} and ${path}`);
    else migration[direction] = path;
    byVersion.set(number, migration);
  }
  const migrations = [...byVersion.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, migration]) => migration);
  return { migrations, duplicates };
}

/** The one row of `schema_migrations`; null when the table has none, undefined when there is no table. */
export interface GolangVersionRow {
  version: string;
  dirty: boolean;
}

export function golangMigrateState(table: BookkeepingTable, files: GolangMigrationFiles, row: GolangVersionRow | null | undefined): DatabaseState {
  const name = qualifiedTable(table.table, table.schema);
  if (files.duplicates.length > 0) {
    return unreadable(`golang-migrate refuses duplicate migration files in the image: ${files.duplicates.join('; ')}`);
  }
  const current = row ? BigInt(row.version) : undefined;
  const migrations: MigrationEntry[] = [];
  let currentHasFile = false;
  for (const migration of files.migrations) {
    const version = BigInt(migration.version);
    const file = migration.up ?? migration.down;
    const base: Pick<MigrationEntry, 'id' | 'file'> = { id: migration.version, ...(file ? { file } : {}) };
    if (current === undefined || version > current) {
      migrations.push({ ...base, state: 'pending' });
      continue;
    }
    if (version === current) currentHasFile = true;
    if (version === current && row?.dirty) {
      migrations.push({ ...base, state: 'failed', error: 'dirty: this version failed part-way; fix the database, then `migrate force` it' });
    } else {
      migrations.push({ ...base, state: 'applied' });
    }
  }
  const notes: string[] = [];
  if (row === undefined) notes.push(`${name} does not exist yet: nothing applied`);
  else if (row === null) notes.push(`${name} holds no version: nothing applied`);
  else notes.push(`current version ${row.version}${row.dirty ? ' (dirty)' : ''}`);
  if (row && !currentHasFile) {
    migrations.push(
      row.dirty
        ? { id: row.version, state: 'failed', missing_file: true, error: 'dirty, and no file for this version in the image' }
        : { id: row.version, state: 'applied', missing_file: true },
    );
    notes.push(`version ${row.version} has no file in the image's migrations directory (golang-migrate cannot migrate from it)`);
  }
  const withoutUp = files.migrations.filter((migration) => migration.up === undefined).map((migration) => migration.version);
  if (withoutUp.length > 0) notes.push(`no .up file for version(s) ${withoutUp.join(', ')}`);
  notes.push('golang-migrate records only the current version: every file version up to it counts as applied');
  const appliedCount = migrations.filter((m) => m.state === 'applied').length;
  return { readable: true, migrations, applied_count: appliedCount, pending_known: true, notes };
}

/** The version row, null when the table is empty, undefined when there is no table. Reads only. */
export async function readGolangVersion(client: DatabaseClient, table: BookkeepingTable): Promise<GolangVersionRow | null | undefined> {
  if (!(await tableExists(client, table.table, table.schema))) return undefined;
  const result = await client.query<{ version: string; dirty: boolean }>(`SELECT version::text AS version, dirty FROM ${qualifiedTable(table.table, table.schema)} LIMIT 1`);
  const row = result.rows[0];
  return row ? { version: row.version, dirty: row.dirty } : null;
}

export async function readGolangMigratePlan(target: EngineTarget): Promise<DatabaseState> {
  const path = target.migrations.path ?? 'migrations';
  const table = bookkeepingTable(target.migrations.table, GOLANG_MIGRATE_TABLE);
  const message = (error: unknown) => target.scrub(error instanceof Error ? error.message : String(error));
  let files: GolangMigrationFiles;
  try {
    // Names are enough: the listing, not the SQL, says which versions exist.
    const tree = await readMigrationTree(target, path, { include: (file) => !file.includes('/') && FILE.test(posix.basename(file)) });
    if ('missing' in tree) return unreadable(`cannot list golang-migrate migrations: ${tree.missing} (migrations.path must be the directory given to migrate -path)`);
    files = golangMigrationFiles(tree.files.keys());
  } catch (error) {
    return unreadable(`could not read ${path} from the app image: ${message(error)}`);
  }
  try {
    return golangMigrateState(table, files, await withReadOnlyDatabase(target, (client) => readGolangVersion(client, table)));
  } catch (error) {
    return unreadable(`cannot read ${qualifiedTable(table.table, table.schema)}: ${message(error)}`);
  }
}
