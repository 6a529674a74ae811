/**
 * How a raw migrations directory names its files. Two layouts, never mixed in one directory:
 *   plain    NNNN_name.sql     + optional NNNN_name.down.sql
 *   up-down  NNNN_name.up.sql  + optional NNNN_name.down.sql   (golang-migrate's layout)
 * The id is `NNNN_name` in both; NNNN may be any number of digits (timestamps work too).
 */

export type RawLayout = 'plain' | 'up-down';

const FILE_NAME = /^(\d+)_([A-Za-z0-9][A-Za-z0-9_.-]*?)(\.up|\.down)?\.sql$/;

export type NamedFile =
  | { kind: 'up'; id: string; number: bigint; digits: string; layout: RawLayout }
  | { kind: 'down'; id: string; number: bigint; digits: string }
  | { kind: 'bad' };

export function classifyFileName(name: string): NamedFile {
  const match = FILE_NAME.exec(name);
  if (!match) return { kind: 'bad' };
  const digits = match[1]!;
  const id = `${digits}_${match[2]}`;
  const number = BigInt(digits);
  if (match[3] === '.down') return { kind: 'down', id, number, digits };
  return { kind: 'up', id, number, digits, layout: match[3] === '.up' ? 'up-down' : 'plain' };
}

/** The file names of migration `id` in `layout`. */
export function fileNamesFor(id: string, layout: RawLayout): { up: string; down: string } {
  return { up: layout === 'up-down' ? `${id}.up.sql` : `${id}.sql`, down: `${id}.down.sql` };
}

export const EXPECTED_NAMES = 'expected NNNN_name.sql or NNNN_name.up.sql (with an optional NNNN_name.down.sql)';
