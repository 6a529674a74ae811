/**
 * Runs one migration file's SQL: in a transaction together with its bookkeeping, or, for files
 * marked `-- stagecraft:no-transaction`, statement by statement (split by the Postgres parser).
 * Errors carry the file name and the line the server (or parser) pointed at.
 */
import type { DatabaseClient } from '../database/connect.js';
import { NO_TRANSACTION_MARKER, isNoTransaction } from './files.js';
import { SqlParseError, lineOf, splitStatements, transactionControl } from './sql-statements.js';

export class ApplyError extends Error {}

/** SQLSTATE of a statement that waited longer than lock_timeout for a lock. */
export const LOCK_NOT_AVAILABLE = '55P03';

/** What to do when a statement hits lock_timeout: try it again a few times, after a growing pause. */
export interface LockRetry {
  retries: number;
  /** Said before each new try. */
  onRetry: (attempt: number, delayMs: number, message: string) => void;
  /** True once the run was interrupted or timed out: no more tries. */
  stopped: () => boolean;
}

/** Pause before retry `attempt` (1-based): 1s, 2s, 4s, … at most 10s. */
export function retryDelayMs(attempt: number): number {
  return Math.min(1000 * 2 ** (attempt - 1), 10_000);
}

function isLockTimeout(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === LOCK_NOT_AVAILABLE;
}

/** Runs `work`, again after a pause each time it fails on lock_timeout, up to `retry.retries` more times. */
async function withLockRetry<T>(retry: LockRetry | undefined, work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!retry || !isLockTimeout(error) || attempt > retry.retries || retry.stopped()) {
        if (retry && isLockTimeout(error) && attempt > 1) (error as PgErrorLike).message += ` (gave up after ${attempt} tries)`;
        throw error;
      }
      const delay = retryDelayMs(attempt);
      retry.onRetry(attempt, delay, (error as PgErrorLike).message);
      await new Promise((resolve) => setTimeout(resolve, delay));
      if (retry.stopped()) throw error;
    }
  }
}

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
  retry?: LockRetry,
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
        // Each statement commits on its own: only the one that hit the lock timeout runs again.
        await withLockRetry(retry, () => client.query(statement.text));
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
  try {
    // A lock timeout rolls the whole transaction back: the file runs again from its start.
    await withLockRetry(retry, async () => {
      await client.query('BEGIN');
      try {
        await start(client);
        await client.query(sql);
        await bookkeeping(client);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  } catch (error) {
    throw located(file, sql, error);
  }
}
