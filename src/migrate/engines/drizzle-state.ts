/**
 * drizzle's state as `drizzle-kit migrate` (drizzle-orm's PostgreSQL migrator) decides it, from the
 * journal (`<out>/meta/_journal.json`), the `<tag>.sql` files and the rows of its table
 * (`drizzle.__drizzle_migrations`: id, hash, created_at). The migrator takes the row with the
 * largest created_at and applies, in journal order, every entry whose `when` is larger; it records
 * each with hash = sha256 of the file and created_at = the entry's `when`. Pure.
 */
import { createHash } from 'node:crypto';
import type { BookkeepingTable } from '../database/read-only.js';
import { qualifiedTable } from '../database/read-only.js';
import type { DatabaseState, MigrationEntry } from '../types.js';
import { unreadable } from '../types.js';

export const DRIZZLE_TABLE: BookkeepingTable = { schema: 'drizzle', table: '__drizzle_migrations' };
export const DRIZZLE_JOURNAL = 'meta/_journal.json';

export interface DrizzleJournalEntry {
  tag: string;
  /** Milliseconds: what the migrator compares with created_at and records. */
  when: number;
}

export interface DrizzleRow {
  id: number;
  hash: string;
  /** bigint in the table; null only when written by hand. */
  created_at: number | null;
}

/** The journal's entries in order, or why drizzle-kit could not use it. */
export function parseDrizzleJournal(text: string): DrizzleJournalEntry[] | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { error: `${DRIZZLE_JOURNAL} is not JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  const entries = (value as { entries?: unknown } | null)?.entries;
  if (!Array.isArray(entries)) return { error: `${DRIZZLE_JOURNAL} has no "entries" list` };
  const parsed: DrizzleJournalEntry[] = [];
  for (const [index, entry] of entries.entries()) {
    const { tag, when } = (entry ?? {}) as { tag?: unknown; when?: unknown };
    if (typeof tag !== 'string' || tag === '' || typeof when !== 'number' || !Number.isFinite(when)) {
      return { error: `${DRIZZLE_JOURNAL}: entry ${index} needs a "tag" string and a "when" number` };
    }
    parsed.push({ tag, when });
  }
  return parsed;
}

/** drizzle-orm reads the file as a string and hashes that string (UTF-8). */
export function drizzleHash(content: Buffer): string {
  return createHash('sha256').update(content.toString('utf8')).digest('hex');
}

export interface DrizzleInput {
  /** `migrations.path` as written (shown in file names). */
  path: string;
  table: BookkeepingTable;
  journal: readonly DrizzleJournalEntry[];
  /** `<tag>.sql` → content, for the files the image holds. */
  files: ReadonlyMap<string, Buffer>;
  /** The table's rows, or undefined when the table does not exist. */
  rows: readonly DrizzleRow[] | undefined;
}

export function drizzleState(input: DrizzleInput): DatabaseState {
  const { path, journal, files, rows } = input;
  const table = qualifiedTable(input.table.table, input.table.schema);
  const tags = new Set<string>();
  for (const entry of journal) {
    if (tags.has(entry.tag)) return unreadable(`${DRIZZLE_JOURNAL} lists ${entry.tag} twice`);
    tags.add(entry.tag);
  }
  const applied = rows ?? [];
  const last = applied.reduce<number | undefined>((max, row) => (row.created_at !== null && (max === undefined || row.created_at > max) ? row.created_at : max), undefined);
  const rowsByWhen = new Map<number, DrizzleRow>();
  for (const row of applied) if (row.created_at !== null && !rowsByWhen.has(row.created_at)) rowsByWhen.set(row.created_at, row);
  const matched = new Set<DrizzleRow>();
  const missingFiles: string[] = [];

  const migrations: MigrationEntry[] = journal.map((entry): MigrationEntry => {
    const file = `${path}/${entry.tag}.sql`;
    const content = files.get(`${entry.tag}.sql`);
    if (!content) missingFiles.push(`${entry.tag}.sql`);
    const checksum = content ? drizzleHash(content) : undefined;
    const base: MigrationEntry = { id: entry.tag, state: 'pending', file, ...(checksum ? { checksum } : {}) };
    if (last === undefined || last < entry.when) return base;
    const row = rowsByWhen.get(entry.when);
    if (!row) {
      return {
        ...base,
        state: 'drifted',
        error: `not applied, and drizzle-kit migrate never will: its journal "when" (${entry.when}) is not after the newest applied migration's (${last}); regenerate it with drizzle-kit generate`,
      };
    }
    matched.add(row);
    if (!content) return { ...base, state: 'applied', missing_file: true };
    if (checksum !== row.hash) return { ...base, state: 'drifted', error: `${entry.tag}.sql changed after it was applied (sha256 differs from ${table})` };
    return { ...base, state: 'applied' };
  });
  for (const row of applied) {
    if (!matched.has(row)) migrations.push({ id: `${table}#${row.id}`, state: 'applied', missing_file: true, checksum: row.hash, error: `no journal entry has "when" ${row.created_at ?? 'null'}` });
  }
  const notes = [
    ...(rows === undefined ? [`${table} does not exist yet: nothing applied`] : []),
    ...(missingFiles.length > 0 ? [`${missingFiles.join(', ')} listed in ${DRIZZLE_JOURNAL} but not in the image: drizzle-kit migrate fails until they are back`] : []),
  ];
  return { readable: true, migrations, applied_count: applied.length, pending_known: true, notes };
}
