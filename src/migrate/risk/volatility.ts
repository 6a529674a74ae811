/**
 * Whether a column default is evaluated once (a constant, or a stable/immutable function: PostgreSQL
 * 11+ stores it without rewriting the table) or per row (a volatile function: every row is
 * rewritten under an ACCESS EXCLUSIVE lock). Read from the default's syntax tree: the function
 * calls in it, by name. A function this list does not know is treated as possibly volatile,
 * since the database decides at run time and the lint cannot ask it.
 */
import type { FuncCall, Node } from 'libpg-query';
import { findNodes, strings } from './nodes.js';

/** Volatile built-ins (and the usual extension functions) seen in column defaults. */
const VOLATILE = new Set([
  'random', 'random_normal', 'setseed', 'gen_random_uuid', 'uuidv4', 'uuidv7', 'uuid_generate_v1', 'uuid_generate_v1mc', 'uuid_generate_v4',
  'clock_timestamp', 'timeofday', 'nextval', 'setval', 'currval', 'lastval', 'txid_current', 'pg_current_xact_id', 'gen_random_bytes', 'gen_salt',
]);

/**
 * Stable or immutable built-ins that defaults commonly call (evaluated once when the column is
 * added). `now()` and CURRENT_TIMESTAMP are stable: the value of the adding transaction.
 */
const NOT_VOLATILE = new Set([
  'now', 'transaction_timestamp', 'statement_timestamp', 'current_setting', 'current_database', 'current_schema', 'version',
  'to_timestamp', 'to_date', 'to_char', 'to_number', 'make_date', 'make_time', 'make_timestamp', 'make_timestamptz', 'make_interval', 'date_trunc', 'date_part', 'extract', 'timezone', 'age',
  'lower', 'upper', 'btrim', 'ltrim', 'rtrim', 'trim', 'concat', 'concat_ws', 'format', 'replace', 'substr', 'substring', 'left', 'right', 'lpad', 'rpad', 'repeat', 'length', 'md5', 'encode', 'decode', 'sha256',
  'abs', 'round', 'ceil', 'floor', 'greatest', 'least', 'pi', 'power', 'sqrt',
  'to_json', 'to_jsonb', 'json_build_object', 'jsonb_build_object', 'json_build_array', 'jsonb_build_array', 'json_object', 'jsonb_object', 'array_fill', 'array_to_json', 'row_to_json', 'jsonb_strip_nulls',
  'int4range', 'int8range', 'numrange', 'tsrange', 'tstzrange', 'daterange', 'point', 'inet', 'cidr',
]);

export type Volatility = { volatile: false } | { volatile: true; call: string; known: boolean };

/** The first call in `expr` that is, or may be, volatile; `{ volatile: false }` when none is. */
export function defaultVolatility(expr: Node | undefined): Volatility {
  for (const call of findNodes<FuncCall>(expr, 'FuncCall')) {
    const names = strings(call.funcname);
    const name = (names[names.length - 1] ?? '').toLowerCase();
    const builtin = names.length === 1 || names[0] === 'pg_catalog';
    if (builtin && NOT_VOLATILE.has(name)) continue;
    if (VOLATILE.has(name)) return { volatile: true, call: `${names.join('.')}()`, known: true };
    return { volatile: true, call: `${names.join('.')}()`, known: false };
  }
  return { volatile: false };
}
