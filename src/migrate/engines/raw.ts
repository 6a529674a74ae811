/**
 * The built-in raw SQL engine: stagecraft applies `NNNN_name.sql` files itself with the pg driver,
 * through the primary host, under an advisory lock, recording each in stagecraft_migrations.
 */
import { readFile } from 'node:fs/promises';
import { RefusedError, UserError } from '../../errors.js';
import { closeClient, connectDatabase } from '../database/connect.js';
import type { DatabaseClient } from '../database/connect.js';
import { DriftError } from '../errors.js';
import { acquireAdvisoryLock, releaseAdvisoryLock } from '../raw/advisory-lock.js';
import { ApplyError, applySql } from '../raw/apply-sql.js';
import { isNoTransaction, migrationsDir, readMigrationFiles } from '../raw/files.js';
import type { RawMigrationFile } from '../raw/files.js';
import { rawState } from '../raw/state.js';
import { ensureTrackingTable, markFinished, markRunning, readTrackingRows, trackingTableExists } from '../raw/tracking.js';
import type { RunBy } from '../raw/tracking.js';
import type { DatabaseState, EngineTarget, MigrationEngine, MigrationOutcome, RollbackOptions, RunOptions, RunOutcome } from '../types.js';

async function readFiles(target: EngineTarget): Promise<RawMigrationFile[]> {
  const { dir, display } = migrationsDir(target.configDir, target.migrations.path ?? '.');
  return readMigrationFiles(dir, display, { environment: target.environment });
}

async function open(target: EngineTarget, purpose: string): Promise<DatabaseClient> {
  return connectDatabase({
    database: target.database,
    url: target.url,
    via: await target.host(),
    applicationName: `stagecraft ${purpose} (${target.actor})`.slice(0, 63),
    scrub: target.scrub,
  });
}

/** Why the run stopped early, as the caller knows it (timed out, or interrupted with the signal's reason). */
interface Stop {
  timedOut: () => boolean;
  /** The signal's reason once SIGINT/SIGTERM arrived ("interrupted by SIGINT"). */
  interrupted: () => string | undefined;
}

/** How long an interrupted statement gets to end after its cancel before the connection is dropped. */
const CANCEL_GRACE_MS = 5_000;

function abortReason(signal: AbortSignal | undefined): string | undefined {
  if (!signal?.aborted) return undefined;
  return signal.reason instanceof Error ? signal.reason.message : 'interrupted';
}

/**
 * Runs `work` holding the migration lock (on a connection of its own) and a second connection to
 * migrate with. The time limit and an abort both cancel the running statement from the lock
 * connection (its transaction rolls back); a statement that ignores the cancel loses its connection.
 */
async function underLock<T>(
  target: EngineTarget,
  options: { lockTimeoutMs: number; timeoutMs: number; signal?: AbortSignal | undefined },
  work: (client: DatabaseClient, stop: Stop) => Promise<T>,
): Promise<T> {
  const { lockTimeoutMs, timeoutMs, signal } = options;
  const lockClient = await open(target, 'migrate lock');
  let client: DatabaseClient | undefined;
  try {
    await acquireAdvisoryLock(lockClient, {
      database: target.database,
      timeoutMs: lockTimeoutMs,
      signal,
      onWait: (holder) => target.log(`waiting up to ${Math.round(lockTimeoutMs / 1000)}s for the migration lock, held by ${holder}`),
    });
    client = await open(target, 'migrate');
    const migrating = client;
    const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
    let timedOut = false;
    const cancel = () => void lockClient.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => undefined);
    const timer = setTimeout(() => {
      timedOut = true;
      cancel();
    }, timeoutMs);
    let dropTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      target.log('interrupted: cancelling the running statement');
      cancel();
      dropTimer = setTimeout(() => void closeClient(migrating), CANCEL_GRACE_MS);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await work(client, { timedOut: () => timedOut, interrupted: () => abortReason(signal) });
    } finally {
      clearTimeout(timer);
      clearTimeout(dropTimer);
      signal?.removeEventListener('abort', onAbort);
    }
  } finally {
    await closeClient(client);
    await releaseAdvisoryLock(lockClient).catch(() => undefined);
    await closeClient(lockClient);
  }
}

function runBy(target: EngineTarget): RunBy {
  return { executedBy: target.actor, environment: target.environment };
}

function failureMessage(error: unknown, stop: Stop, timeoutMs: number, step: { file: string; sql: string }): string {
  const interrupted = stop.interrupted();
  if (interrupted) {
    return isNoTransaction(step.sql)
      ? `${step.file}: ${interrupted}: statement cancelled; the statements before it in this no-transaction file stay applied`
      : `${step.file}: ${interrupted}: statement cancelled, its transaction rolled back`;
  }
  if (stop.timedOut()) return `${step.file}: timed out after ${Math.round(timeoutMs / 1000)}s (statement cancelled; raise migrations.timeout)`;
  if (error instanceof ApplyError) return error.message;
  return `${step.file}: ${error instanceof Error ? error.message : String(error)}`;
}

function findTarget(files: readonly RawMigrationFile[], to: string | undefined, display: string): number {
  if (to === undefined) return files.length - 1;
  const index = files.findIndex((file) => file.id === to || file.file === to);
  if (index < 0) throw new UserError(`--to ${to}: no such migration in ${display}`);
  return index;
}

/** One SQL file to apply in order: a migration going up, or its down file going down. */
interface SqlStep {
  id: string;
  /** The migration's file: "applied/reverted FILE in N ms". */
  migration: string;
  /** The file whose SQL runs, named in failure messages. */
  file: string;
  sql: string;
  /** Logged before it runs. */
  starting: string;
  /** Up only: recorded as running before it starts, failed if it fails. */
  checksum?: string;
}

/**
 * Applies the steps in order on `client`, recording each in stagecraft_migrations with `status`;
 * the first failure stops there and reports the rest as not run.
 */
async function applySteps(
  target: EngineTarget,
  client: DatabaseClient,
  steps: readonly SqlStep[],
  status: 'completed' | 'rolled_back',
  timeoutMs: number,
  stop: Stop,
): Promise<RunOutcome> {
  const done = status === 'completed' ? 'applied' : 'reverted';
  const outcomes: MigrationOutcome[] = [];
  for (const [index, step] of steps.entries()) {
    const interrupted = stop.interrupted();
    if (interrupted) {
      for (const rest of steps.slice(index)) outcomes.push({ id: rest.id, outcome: 'skipped' });
      return { status: 'failed', migrations: outcomes, error: `${interrupted} before ${step.migration}`, notes: [] };
    }
    target.log(step.starting);
    const started = performance.now();
    if (step.checksum !== undefined) await markRunning(client, step.id, step.checksum, runBy(target));
    try {
      await applySql(client, step.file, step.sql, (c) => markFinished(c, step.id, status, performance.now() - started));
    } catch (error) {
      const duration = Math.round(performance.now() - started);
      const message = target.scrub(failureMessage(error, stop, timeoutMs, step));
      if (step.checksum !== undefined) await markFinished(client, step.id, 'failed', duration, message).catch(() => undefined);
      target.log(`failed ${message}`);
      outcomes.push({ id: step.id, outcome: 'failed', duration_ms: duration, error: message });
      for (const rest of steps.slice(index + 1)) outcomes.push({ id: rest.id, outcome: 'skipped' });
      return { status: 'failed', migrations: outcomes, error: message, notes: [] };
    }
    const duration = Math.round(performance.now() - started);
    target.log(`${done} ${step.migration} in ${duration} ms`);
    outcomes.push({ id: step.id, outcome: 'applied', duration_ms: duration });
  }
  return { status: 'completed', migrations: outcomes, notes: [] };
}

export const rawEngine: MigrationEngine = {
  name: 'raw',
  builtin: true,

  async plan(target: EngineTarget): Promise<DatabaseState> {
    const files = await readFiles(target);
    const client = await open(target, 'migrate plan');
    try {
      // Read-only for certain: the server itself refuses any write in this transaction.
      await client.query('BEGIN READ ONLY');
      const rows = (await trackingTableExists(client)) ? await readTrackingRows(client) : [];
      await client.query('COMMIT');
      return rawState(files, rows);
    } finally {
      await closeClient(client);
    }
  },

  async run(target: EngineTarget, options: RunOptions): Promise<RunOutcome> {
    const files = await readFiles(target);
    const lastIndex = findTarget(files, options.to, migrationsDir(target.configDir, target.migrations.path ?? '.').display);
    return underLock(target, options, async (client, stop) => {
      await ensureTrackingTable(client);
      const state = rawState(files, await readTrackingRows(client));
      const drifted = state.migrations.filter((m) => m.state === 'drifted');
      if (drifted.length > 0) throw new DriftError(target.database, drifted.map((m) => m.file ?? m.id));

      const stateById = new Map(state.migrations.map((m) => [m.id, m.state]));
      const todo = files.slice(0, lastIndex + 1).filter((file) => {
        const current = stateById.get(file.id);
        return current === 'pending' || current === 'failed';
      });
      if (todo.length === 0) target.log('nothing to apply: every migration is applied');
      const steps = todo.map((file) => ({
        id: file.id,
        migration: file.file,
        file: file.file,
        sql: file.sql,
        starting: `applying ${file.file}${isNoTransaction(file.sql) ? ' (no transaction)' : ''}`,
        checksum: file.checksum,
      }));
      return applySteps(target, client, steps, 'completed', options.timeoutMs, stop);
    });
  },

  async rollback(target: EngineTarget, options: RollbackOptions): Promise<RunOutcome> {
    const files = await readFiles(target);
    return underLock(target, options, async (client, stop) => {
      await ensureTrackingTable(client);
      const state = rawState(files, await readTrackingRows(client));
      const applied = state.migrations.filter((m) => m.state === 'applied' || m.state === 'drifted').reverse();
      if (applied.length === 0) {
        target.log('nothing to roll back: no migration is applied');
        return { status: 'completed', migrations: [], notes: [] };
      }
      const chosen = applied.slice(0, options.steps);
      const fileById = new Map(files.map((file) => [file.id, file]));
      const missing = chosen.filter((m) => fileById.get(m.id)?.down === undefined).map((m) => `${m.id}.down.sql`);
      if (missing.length > 0) {
        throw new RefusedError(`${target.database}: cannot roll back: ${missing.join(', ')} missing; nothing was rolled back`, {
          hint: 'write the down file(s) next to the migration, or roll back fewer steps',
        });
      }
      const drifted = chosen.filter((m) => m.state === 'drifted');
      if (drifted.length > 0) throw new DriftError(target.database, drifted.map((m) => m.file ?? m.id));

      // Every down file is read before the first one runs: an unreadable one rolls nothing back.
      const steps: SqlStep[] = [];
      for (const entry of chosen) {
        const file = fileById.get(entry.id)!;
        const down = file.down!;
        steps.push({ id: file.id, migration: file.file, file: down.file, sql: await readFile(down.path, 'utf8'), starting: `reverting ${file.file} with ${down.file}` });
      }
      return applySteps(target, client, steps, 'rolled_back', options.timeoutMs, stop);
    });
  },
};
