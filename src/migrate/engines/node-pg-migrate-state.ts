/**
 * node-pg-migrate's state as its runner decides it (9.x, default options): every file directly in
 * the migrations directory whose name does not start with a dot is one migration, named by the
 * file name without its extension, ordered by the name's numeric prefix (17 digits: a UTC
 * timestamp) then by name; its table (`pgmigrations` in the first schema, `public`) holds the names
 * run, in `run_on, id` order. `up` refuses when a migration not run precedes one that ran (its
 * order check). Pure.
 */
import { posix } from 'node:path';
import type { BookkeepingTable } from '../database/read-only.js';
import { qualifiedTable } from '../database/read-only.js';
import type { DatabaseState, MigrationEntry } from '../types.js';

export const NODE_PG_MIGRATE_TABLE: BookkeepingTable = { schema: 'public', table: 'pgmigrations' };

export interface NodePgMigrateFile {
  /** The migration's name, as node-pg-migrate records it. */
  name: string;
  /** The file name in the directory. */
  file: string;
}

/** The number node-pg-migrate sorts by, or undefined when the name has no numeric prefix (it then refuses to run). */
export function numericPrefix(name: string): number | undefined {
  const prefix = /^\d+/.exec(name)?.[0];
  if (prefix === undefined) return undefined;
  if (prefix.length === 17) {
    const [year, month, day, hours, minutes, seconds, ms] = [prefix.slice(0, 4), prefix.slice(4, 6), prefix.slice(6, 8), prefix.slice(8, 10), prefix.slice(10, 12), prefix.slice(12, 14), prefix.slice(14, 17)];
    return new Date(`${year}-${month}-${day}T${hours}:${minutes}:${seconds}.${ms}Z`).valueOf();
  }
  return Number(prefix);
}

function compareNames(a: string, b: string): number {
  return numericPrefix(a)! - numericPrefix(b)! || a.localeCompare(b, undefined, { usage: 'sort', numeric: true, sensitivity: 'variant', ignorePunctuation: true });
}

/** The migrations in the directory in node-pg-migrate's order, or why it would refuse to load them. */
export function nodePgMigrateFiles(paths: Iterable<string>): NodePgMigrateFile[] | { error: string } {
  const files = [...paths].filter((path) => !path.includes('/') && !path.startsWith('.'));
  const unnumbered = files.find((file) => numericPrefix(file) === undefined);
  if (unnumbered !== undefined) return { error: `node-pg-migrate cannot order ${unnumbered}: "Cannot determine numeric prefix" (every migration file needs one)` };
  return files.sort(compareNames).map((file) => ({ name: posix.basename(file, posix.extname(file)), file }));
}

export interface NodePgMigrateInput {
  path: string;
  table: BookkeepingTable;
  files: readonly NodePgMigrateFile[];
  /** Names run, in `run_on, id` order; undefined when the table does not exist. */
  run: readonly { name: string; run_on?: string }[] | undefined;
}

export function nodePgMigrateState(input: NodePgMigrateInput): DatabaseState {
  const { path, files } = input;
  const run = input.run ?? [];
  const table = qualifiedTable(input.table.table, input.table.schema);
  const byName = new Map(files.map((file) => [file.name, file]));
  const runNames = new Set(run.map((row) => row.name));
  // node-pg-migrate's order check: position i of what ran must be position i of the files.
  const outOfOrder = new Map<string, string>();
  for (let i = 0; i < Math.min(run.length, files.length); i += 1) {
    if (run[i]!.name !== files[i]!.name && !runNames.has(files[i]!.name)) outOfOrder.set(files[i]!.name, run[i]!.name);
  }
  const firstMismatch = run.findIndex((row, i) => i < files.length && row.name !== files[i]!.name);

  const migrations: MigrationEntry[] = run.map((row): MigrationEntry => {
    const file = byName.get(row.name);
    return { id: row.name, state: 'applied', ...(file ? { file: `${path}/${file.file}` } : { missing_file: true }), ...(row.run_on ? { applied_at: row.run_on } : {}) };
  });
  for (const file of files) {
    if (runNames.has(file.name)) continue;
    const precedes = outOfOrder.get(file.name);
    migrations.push(
      precedes === undefined
        ? { id: file.name, state: 'pending', file: `${path}/${file.file}` }
        : { id: file.name, state: 'drifted', file: `${path}/${file.file}`, error: `not run, but ordered before ${precedes}, which ran: node-pg-migrate up refuses ("Not run migration ${file.name} is preceding already run migration ${precedes}")` },
    );
  }
  const missing = run.filter((row) => !byName.has(row.name)).map((row) => row.name);
  const notes = [
    ...(input.run === undefined ? [`${table} does not exist yet: nothing applied`] : []),
    ...(missing.length > 0 ? [`run but not in the image's ${path}: ${missing.join(', ')} (node-pg-migrate up refuses the order check; down cannot revert them)`] : []),
    ...(firstMismatch >= 0 && outOfOrder.size === 0 ? [`${table} lists ${run[firstMismatch]!.name} where the files have ${files[firstMismatch]!.name}: node-pg-migrate up refuses its order check`] : []),
  ];
  return { readable: true, migrations, applied_count: run.length, pending_known: true, notes };
}
