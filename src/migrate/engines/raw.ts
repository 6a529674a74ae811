/**
 * The built-in raw SQL engine: stagecraft applies `NNNN_name.sql` files itself with the pg driver,
 * through the primary host, under an advisory lock, recording each in stagecraft_migrations.
 */
import { readFile } from 'node:fs/promises';
import { RefusedError, UserError } from '../../errors.js';
import { closeClient, connectDatabase } from '../database/connect.js';
import type { DatabaseClient } from '../database/connect.js';
import { DirtyError, DriftError } from '../errors.js';
import { acquireAdvisoryLock, lockHolder, releaseAdvisoryLock } from '../raw/advisory-lock.js';
import { ApplyError, applySql } from '../raw/apply-sql.js';
import type { LockRetry } from '../raw/apply-sql.js';
import { parseDuration } from '../../config/index.js';
import { DEFAULT_LOCK_RETRIES, DEFAULT_STATEMENT_LOCK_TIMEOUT } from '../engine-commands.js';
import { isNoTransaction, migrationsDir, readMigrationFiles } from '../raw/files.js';
import type { RawMigrationFile } from '../raw/files.js';
import { rawState } from '../raw/state.js';
import { ensureTrackingTable, historyTableExists, markFailed, markFinished, markResolved, markRunning, readHistory, readTrackingRows, trackingTableExists } from '../raw/tracking.js';
import type { HistoryRow, MigrationFacts, RunBy } from '../raw/tracking.js';
import type { RawStatusFacts } from '../status.js';
import type { DatabaseState, EngineTarget, MigrationEngine, MigrationOutcome, RollbackOptions, RunOptions, RunOutcome } from '../types.js';
import { planDatabaseRollback } from '../orchestrate/migration-plan.js';

export async function readFiles(target: EngineTarget): Promise<RawMigrationFile[]> {
  const { dir, display } = migrationsDir(target.configDir, target.migrations.path ?? '.');
  return readMigrationFiles(dir, display, { environment: target.environment });
}

export async function open(target: EngineTarget, purpose: string): Promise<DatabaseClient> {
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
export async function underLock<T>(
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
    // A migration waiting for a table lock queues every later query of that table behind it: it
    // gives up after lock_timeout instead, and is retried (applySteps).
    await client.query("SELECT set_config('lock_timeout', $1, false)", [`${statementLockTimeoutMs(target)}ms`]);
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

function statementLockTimeoutMs(target: EngineTarget): number {
  return parseDuration(target.migrations.statement_lock_timeout ?? DEFAULT_STATEMENT_LOCK_TIMEOUT);
}

/** Retries of a step that hit lock_timeout, each said in the log; none once the run is stopping. */
function lockRetry(target: EngineTarget, file: string, stop: Stop): LockRetry {
  const retries = target.migrations.lock_retries ?? DEFAULT_LOCK_RETRIES;
  const waited = Math.round(statementLockTimeoutMs(target) / 100) / 10;
  return {
    retries,
    onRetry: (attempt, delayMs, message) =>
      target.log(`${file}: ${message} after waiting ${waited}s for a lock another session holds; try ${attempt + 1} of ${retries + 1} in ${delayMs / 1000}s`),
    stopped: () => stop.timedOut() || stop.interrupted() !== undefined,
  };
}

export function runBy(target: EngineTarget): RunBy {
  return { executedBy: target.actor, environment: target.environment, releaseId: target.releaseId };
}

function factsOf(file: RawMigrationFile): MigrationFacts {
  const { description, affects_tables, risk_level } = file.metadata;
  return {
    checksum: file.checksum,
    dependencies: file.depends_on,
    metadata: {
      ...(description !== undefined ? { description } : {}),
      ...(affects_tables !== undefined ? { affects_tables } : {}),
      ...(risk_level !== undefined ? { risk_level } : {}),
    },
  };
}

/** Refuses (exit 4) while a migration is dirty, naming it and the command that resolves it. */
export function refuseDirty(target: EngineTarget, state: DatabaseState): void {
  const dirty = state.migrations.filter((m) => m.dirty);
  if (dirty.length > 0) throw new DirtyError(target.environment, target.database, dirty.map((m) => m.id));
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
  facts?: MigrationFacts;
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
    const by = runBy(target);
    const { facts } = step;
    try {
      // The running mark is part of a transactional file's transaction (a crash leaves nothing);
      // a no-transaction file's is committed before its first statement (a crash leaves it dirty).
      await applySql(
        client,
        step.file,
        step.sql,
        (c) => markFinished(c, step.id, status, performance.now() - started, by),
        facts ? (c) => markRunning(c, step.id, facts, by) : undefined,
        lockRetry(target, step.file, stop),
      );
    } catch (error) {
      const duration = Math.round(performance.now() - started);
      const message = target.scrub(failureMessage(error, stop, timeoutMs, step));
      if (facts) await markFailed(client, step.id, facts, duration, message, by).catch(() => undefined);
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

/**
 * The planned ids, in plan order, that are still to apply now that the lock is held; says what
 * changed since the plan was read (applied by another run meanwhile, or new files).
 */
function plannedSteps(target: EngineTarget, runnable: readonly RawMigrationFile[], planned: readonly string[]): RawMigrationFile[] {
  const byId = new Map(runnable.map((file) => [file.id, file]));
  const gone = planned.filter((id) => !byId.has(id));
  if (gone.length > 0) target.log(`note: ${gone.join(', ')} no longer pending (applied since the plan was read): skipped`);
  const listed = new Set(planned);
  // A deploy's migrate_pre leaves the post-deploy migrations for migrate_post: no news.
  const unplanned = runnable.filter((file) => !listed.has(file.id) && !file.post_deploy).map((file) => file.id);
  if (unplanned.length > 0) target.log(`note: ${unplanned.join(', ')} not in the plan: left pending`);
  return planned.flatMap((id) => byId.get(id) ?? []);
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
      const lockHeld = rows.some((row) => row.status === 'running') && (await lockHolder(client)) !== undefined;
      await client.query('COMMIT');
      return rawState(files, rows, { lockHeld });
    } finally {
      await closeClient(client);
    }
  },

  async run(target: EngineTarget, options: RunOptions): Promise<RunOutcome> {
    const files = await readFiles(target);
    const lastIndex = findTarget(files, options.to, migrationsDir(target.configDir, target.migrations.path ?? '.').display);
    return underLock(target, options, async (client, stop) => {
      await ensureTrackingTable(client);
      // This run holds the migration lock: a row left running is nobody's run but a dead one's.
      const state = rawState(files, await readTrackingRows(client));
      refuseDirty(target, state);
      const drifted = state.migrations.filter((m) => m.state === 'drifted');
      if (drifted.length > 0) throw new DriftError(target.database, drifted.map((m) => m.file ?? m.id));

      const stateById = new Map(state.migrations.map((m) => [m.id, m.state]));
      const runnable = files.slice(0, lastIndex + 1).filter((file) => {
        const current = stateById.get(file.id);
        return current === 'pending' || current === 'failed';
      });
      const todo = options.steps === undefined ? runnable : plannedSteps(target, runnable, options.steps);
      if (todo.length === 0) target.log('nothing to apply: every migration is applied');
      const steps = todo.map((file) => ({
        id: file.id,
        migration: file.file,
        file: file.file,
        sql: file.sql,
        starting: `applying ${file.file}${isNoTransaction(file.sql) ? ' (no transaction)' : ''}`,
        facts: factsOf(file),
      }));
      return applySteps(target, client, steps, 'completed', options.timeoutMs, stop);
    });
  },

  async rollback(target: EngineTarget, options: RollbackOptions): Promise<RunOutcome> {
    const files = await readFiles(target);
    return underLock(target, options, async (client, stop) => {
      await ensureTrackingTable(client);
      // The plan is made again under the lock: what is applied, and what depends on it, is what counts now.
      const state = rawState(files, await readTrackingRows(client));
      refuseDirty(target, state);
      const input = { database: target.database, engine: 'raw', strategy: 'manual' as const, state };
      const planned = planDatabaseRollback(input, target.environment, options.selection, options.cascade ?? false);
      const notes = planned.notes.filter((note) => !state.notes.includes(note));
      const byId = new Map(state.migrations.map((m) => [m.id, m]));
      const chosen = (planned.steps ?? []).map((step) => byId.get(step.id)!);
      if (chosen.length === 0) {
        target.log('nothing to roll back: no migration is applied');
        return { status: 'completed', migrations: [], notes };
      }
      for (const note of notes) target.log(note);
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
      const outcome = await applySteps(target, client, steps, 'rolled_back', options.timeoutMs, stop);
      return { ...outcome, notes: [...notes, ...outcome.notes] };
    });
  },
};

/** `migrate status` (raw): the state and what else the summary needs, in a read-only transaction. */
export async function readRawStatus(target: EngineTarget): Promise<{ state: DatabaseState; facts: RawStatusFacts }> {
  const files = await readFiles(target);
  const client = await open(target, 'migrate status');
  try {
    await client.query('BEGIN READ ONLY');
    const tables = { tracking: await trackingTableExists(client), history: await historyTableExists(client) };
    const rows = tables.tracking ? await readTrackingRows(client) : [];
    const lastEvent = tables.history ? (await readHistory(client, 1))[0] : undefined;
    const holder = await lockHolder(client);
    await client.query('COMMIT');
    return { state: rawState(files, rows, { lockHeld: holder !== undefined }), facts: { tables, rows, lastEvent, holder } };
  } finally {
    await closeClient(client);
  }
}

/** `migrate history` (raw): newest events first; null when the history table does not exist yet. */
export async function readRawHistory(target: EngineTarget, limit: number): Promise<HistoryRow[] | null> {
  const client = await open(target, 'migrate history');
  try {
    await client.query('BEGIN READ ONLY');
    const rows = (await historyTableExists(client)) ? await readHistory(client, limit) : null;
    await client.query('COMMIT');
    return rows;
  } finally {
    await closeClient(client);
  }
}

export type ResolveOutcome = 'completed' | 'rolled_back';

/**
 * `migrate resolve`: under the migration lock (so nothing is applying), records what the operator
 * found for a migration left running: applied (completed) or rolled back. Only a dirty row is resolved.
 */
export async function resolveRaw(target: EngineTarget, id: string, outcome: ResolveOutcome, options: { lockTimeoutMs: number; signal?: AbortSignal | undefined }): Promise<void> {
  await underLock(target, { ...options, timeoutMs: 60_000 }, async (client) => {
    if (!(await trackingTableExists(client))) throw new UserError(`${target.database}: nothing to resolve: stagecraft_migrations does not exist`);
    const rows = await readTrackingRows(client);
    const row = rows.find((r) => r.id === id);
    if (!row) throw new UserError(`${target.database}: no migration ${id} in stagecraft_migrations`);
    if (row.status !== 'running') {
      throw new UserError(`${target.database}: ${id} is not dirty (its status is ${row.status}); only a migration left running is resolved`);
    }
    await ensureTrackingTable(client);
    await client.query('BEGIN');
    try {
      await markResolved(client, id, outcome, runBy(target));
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
    target.log(`${id}: resolved as ${outcome === 'completed' ? 'applied' : 'rolled back'} by ${target.actor}`);
  });
}
