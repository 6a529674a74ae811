/**
 * Runs one migration file's SQL: in a transaction together with its bookkeeping, or, for files
 * marked `-- stagecraft:no-transaction`, statement by statement (split by the Postgres parser).
 * Errors carry the file name and the line the server (or parser) pointed at.
 */
import type { DatabaseClient } from '../database/connect.js';
import { NO_TRANSACTION_MARKER, isNoTransaction } from './files.js';
import { SqlParseError, lineOf, splitStatements, transactionControl } from './sql-statements.js';

export class ApplyError extends Error {}

interface PgErrorLike {
  message: string;
  position?: string;
  detail?: string;
  hint?: string;
}

function located(file: string, sql: string, error: unknown, statementOffset = 0): ApplyError {
  const pgError = error as PgErrorLike;
  const position = pgError.position === undefined ? undefined : Number(pgError.position);
  const line = position !== undefined && Number.isFinite(position) ? `:${lineOf(sql, statementOffset + position - 1)}` : '';
  const extra = [pgError.detail ? `detail: ${pgError.detail}` : '', pgError.hint ? `hint: ${pgError.hint}` : ''].filter(Boolean).join('; ');
  return new ApplyError(`${file}${line}: ${pgError.message ?? String(error)}${extra ? ` (${extra})` : ''}`);
}

/**
 * Applies `sql`. `start` runs before the SQL and `bookkeeping` after it succeeded: inside the same
 * transaction when there is one, so the migration and its record commit (or vanish) together; for
 * a no-transaction file each commits on its own.
 */
export async function applySql(
  client: DatabaseClient,
  file: string,
  sql: string,
  bookkeeping: (client: DatabaseClient) => Promise<void>,
  start: (client: DatabaseClient) => Promise<void> = async () => undefined,
): Promise<void> {
  if (isNoTransaction(sql)) {
    let statements;
    try {
      statements = await splitStatements(sql);
    } catch (error) {
      if (!(error instanceof SqlParseError)) throw error;
      const line = error.offset === undefined ? '' : `:${lineOf(sql, error.offset)}`;
      throw new ApplyError(`${file}${line}: ${error.message}`);
    }
    await start(client);
    for (const statement of statements) {
      try {
        await client.query(statement.text);
      } catch (error) {
        throw located(file, sql, error, statement.offset);
      }
    }
    await bookkeeping(client);
    return;
  }

  // A file that does not parse is left to the server, which reports the error with its position.
  const control = await transactionControl(sql).catch(() => []);
  const first = control[0];
  if (first) {
    throw new ApplyError(
      `${file}:${lineOf(sql, first.offset)}: "${first.text}": stagecraft runs each file in a transaction of its own; remove it, or start the file with "${NO_TRANSACTION_MARKER}"`,
    );
  }
  await client.query('BEGIN');
  try {
    await start(client);
    await client.query(sql);
    await bookkeeping(client);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw located(file, sql, error);
  }
}
