/**
 * Understanding migration SQL with the real PostgreSQL parser (libpg-query): splitting a file into
 * statements (for files run outside a transaction) and finding transaction control in a file that
 * stagecraft wraps in its own transaction.
 */
import { parse } from 'libpg-query';
import type { Node, RawStmt } from 'libpg-query';

export interface SqlStatement {
  text: string;
  /** Character offset of the statement in the file (for line numbers in errors). */
  offset: number;
  /** The statement's node type, e.g. `IndexStmt`. */
  kind: string;
}

export class SqlParseError extends Error {
  constructor(
    message: string,
    /** Character offset of the error in the file, when the parser gave one. */
    readonly offset: number | undefined,
  ) {
    super(message);
  }
}

/** A statement with its syntax tree (for the risk lint, which reads the tree). */
export interface ParsedStatement extends SqlStatement {
  /** The statement's node, e.g. `{ IndexStmt: {...} }`. */
  node: Node;
  /** Character offset just past the statement's last character (before its `;`). */
  end: number;
}

/** Statements of a SQL text, in order; throws SqlParseError when the text does not parse. */
export async function splitStatements(sql: string): Promise<SqlStatement[]> {
  return (await parseStatements(sql)).map(({ text, offset, kind }) => ({ text, offset, kind }));
}

/** Statements of a SQL text with their syntax trees, in order; throws SqlParseError when the text does not parse. */
export async function parseStatements(sql: string): Promise<ParsedStatement[]> {
  const bytes = Buffer.from(sql, 'utf8');
  let stmts: RawStmt[];
  try {
    stmts = (await parse(sql)).stmts ?? [];
  } catch (error) {
    const details = (error as { sqlDetails?: { cursorPosition?: number } }).sqlDetails;
    const cursor = details?.cursorPosition;
    throw new SqlParseError((error as Error).message, cursor === undefined ? undefined : charOffset(bytes, cursor));
  }
  // Locations are byte offsets into the UTF-8 text (the first token's, comments before it not
  // included); a length of 0 means "to the end".
  return stmts.map((raw) => {
    const start = raw.stmt_location ?? 0;
    const end = raw.stmt_len ? start + raw.stmt_len : bytes.length;
    return {
      text: bytes.subarray(start, end).toString('utf8').trim(),
      offset: charOffset(bytes, start),
      end: charOffset(bytes, end),
      kind: Object.keys(raw.stmt ?? {})[0] ?? 'unknown',
      node: raw.stmt ?? ({} as Node),
    };
  });
}

/** BEGIN/COMMIT/ROLLBACK/SAVEPOINT… statements in the text (they break stagecraft's per-file transaction). */
export async function transactionControl(sql: string): Promise<SqlStatement[]> {
  return (await splitStatements(sql)).filter((statement) => statement.kind === 'TransactionStmt');
}

/** 1-based line of a character offset. */
export function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

function charOffset(bytes: Buffer, byteOffset: number): number {
  return bytes.subarray(0, Math.max(0, Math.min(byteOffset, bytes.length))).toString('utf8').length;
}
