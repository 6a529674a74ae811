/**
 * `migrate new`: the name and number of a new raw migration, as pure functions.
 *
 * Numbering follows the directory's own style: the migration with the highest number decides.
 *   - 14 digits (a `YYYYMMDDHHMMSS` timestamp): a new UTC timestamp, one second past the last if the
 *     clock is not ahead of it;
 *   - otherwise a sequence: last + 1, zero-padded to the last one's width (`0007` → `0008`,
 *     `000012` → `000013`);
 *   - an empty directory starts at `0001`.
 */

export const TIMESTAMP_DIGITS = 14;
export const FIRST_NUMBER = '0001';

/** Lower case, every run of other characters as one `_`, no leading or trailing `_`; may be empty. */
export function normaliseName(raw: string): string {
  return raw
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/** Leading verbs `migrate new` strips to guess the table a migration is about. */
const VERB_PREFIXES = ['create', 'add', 'drop', 'alter', 'update', 'change', 'remove', 'rename', 'backfill', 'populate', 'seed', 'index'];

/**
 * The `{{table}}` of a migration name: the name without one leading verb (`create_`, `add_`,
 * `drop_`, `alter_`, `update_`, `change_`, `remove_`, `rename_`, `backfill_`, `populate_`, `seed_`,
 * `index_`) and without a trailing `_table`; a remaining `<columns>_to_<table>`/`_on_<table>`/`_in_<table>`
 * keeps what follows the last `_to_`/`_on_`/`_in_`. The name itself when nothing is left.
 */
export function tableName(name: string): string {
  let table = name;
  for (const verb of VERB_PREFIXES) {
    if (table.startsWith(`${verb}_`)) {
      table = table.slice(verb.length + 1);
      break;
    }
  }
  const target = /_(?:to|on|in)_([a-z0-9_]+)$/.exec(table);
  if (target?.[1]) table = target[1];
  table = table.replace(/_table$/, '');
  return table === '' ? name : table;
}

export function utcTimestamp(now: Date): string {
  const pad = (value: number, width = 2) => String(value).padStart(width, '0');
  return `${pad(now.getUTCFullYear(), 4)}${pad(now.getUTCMonth() + 1)}${pad(now.getUTCDate())}${pad(now.getUTCHours())}${pad(now.getUTCMinutes())}${pad(now.getUTCSeconds())}`;
}

/** The digits of the next migration, given the digits of every existing one (any directory). */
export function nextNumber(existing: readonly string[], now: Date): string {
  if (existing.length === 0) return FIRST_NUMBER;
  let last = existing[0]!;
  for (const digits of existing) {
    const value = BigInt(digits);
    const best = BigInt(last);
    if (value > best || (value === best && digits.length > last.length)) last = digits;
  }
  const lastValue = BigInt(last);
  if (last.length === TIMESTAMP_DIGITS) {
    const stamp = utcTimestamp(now);
    return BigInt(stamp) > lastValue ? stamp : String(lastValue + 1n).padStart(TIMESTAMP_DIGITS, '0');
  }
  return String(lastValue + 1n).padStart(last.length, '0');
}
