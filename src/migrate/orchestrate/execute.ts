/**
 * The one executor of MigrationPlans: `migrate run`, `migrate rollback` and deploy's migrate phases
 * all apply their plan here. It runs each database's engine with exactly the planned steps, one
 * database after another, stops at the first failure or at SIGINT/SIGTERM, and returns what
 * happened as data; the caller hands that to the recorder (record.ts).
 */
import { ExitCode, StagecraftError } from '../../errors.js';
import { HostError } from '../../remote/errors.js';
import { engineFor } from '../registry.js';
import type { DatabaseState, EngineTarget, RunOutcome } from '../types.js';
import type { DatabaseRunPlan, MigrationPlan } from './migration-plan.js';

const LOG_TAIL_LINES = 100;

export interface DatabaseRun {
  plan: DatabaseRunPlan;
  outcome: RunOutcome;
  started_at: string;
  duration_ms: number;
  /** The engine's last output lines (already scrubbed), for the release record. */
  log_tail: string[];
  /** Set when the engine refused or broke before reporting an outcome (drift, dirty, lock timeout, lost host). */
  failure?: StagecraftError;
}

export interface ExecutionResult {
  runs: DatabaseRun[];
  /** Databases of the plan that never started (an earlier one failed, or the run was interrupted). */
  not_started: string[];
  /** SIGINT/SIGTERM arrived. */
  interrupted: boolean;
}

export interface ExecuteOptions {
  signal: AbortSignal;
  limits: (database: string) => { timeoutMs: number; lockTimeoutMs: number };
  /** The states the plan was made from: tool engines use them as "before" instead of reading again. */
  states?: ReadonlyMap<string, DatabaseState>;
}

function withTail(target: EngineTarget, tail: string[]): EngineTarget {
  return {
    ...target,
    log: (line) => {
      tail.push(line);
      if (tail.length > LOG_TAIL_LINES) tail.shift();
      target.log(line);
    },
  };
}

function asFailure(error: unknown, target: EngineTarget): StagecraftError {
  if (error instanceof StagecraftError && !(error instanceof HostError)) return error;
  // A host lost during a migration fails the migration (exit 4), not the rollout.
  const message = target.scrub(error instanceof Error ? error.message : String(error));
  return new StagecraftError(message, ExitCode.migration);
}

async function runOne(plan: DatabaseRunPlan, target: EngineTarget, options: ExecuteOptions, direction: MigrationPlan['kind'], to: string | undefined): Promise<RunOutcome> {
  const engine = engineFor(target.migrations.engine);
  const { timeoutMs, lockTimeoutMs } = options.limits(plan.database);
  const ids = plan.steps?.map((step) => step.id);
  if (direction === 'rollback') {
    if (!engine.rollback) throw new StagecraftError(`engine ${engine.name} does not support \`migrate rollback\``, ExitCode.user);
    return engine.rollback(target, { selection: { ids: ids ?? [] }, cascade: false, timeoutMs, lockTimeoutMs, signal: options.signal });
  }
  const read = options.states?.get(plan.database);
  return engine.run(target, { to: plan.to ?? to, steps: ids, before: read?.readable ? read : undefined, timeoutMs, lockTimeoutMs, signal: options.signal });
}

export async function executeMigrationPlan(plan: MigrationPlan, targets: readonly EngineTarget[], options: ExecuteOptions): Promise<ExecutionResult> {
  const byDatabase = new Map(targets.map((target) => [target.database, target]));
  const runs: DatabaseRun[] = [];
  const queue = [...plan.databases];
  while (queue.length > 0 && !options.signal.aborted) {
    const databasePlan = queue[0]!;
    const target = byDatabase.get(databasePlan.database);
    if (!target) throw new Error(`no target for database ${databasePlan.database}`);
    if (plan.kind === 'rollback' && databasePlan.steps?.length === 0 && !databasePlan.blocked) {
      queue.shift();
      runs.push({ plan: databasePlan, outcome: { status: 'completed', migrations: [], notes: [] }, started_at: new Date().toISOString(), duration_ms: 0, log_tail: [] });
      continue;
    }
    const tail: string[] = [];
    const started = Date.now();
    const startedAt = new Date(started).toISOString();
    let outcome: RunOutcome;
    let failure: StagecraftError | undefined;
    try {
      outcome = await runOne(databasePlan, withTail(target, tail), options, plan.kind, plan.to);
    } catch (error) {
      // Interrupted before it changed anything (e.g. while waiting for the migration lock).
      if (options.signal.aborted) break;
      failure = asFailure(error, target);
      target.log(`failed: ${failure.message}`);
      outcome = { status: 'failed', migrations: [], error: failure.message, notes: [] };
    }
    queue.shift();
    runs.push({ plan: databasePlan, outcome, started_at: startedAt, duration_ms: Date.now() - started, log_tail: tail, ...(failure ? { failure } : {}) });
    if (outcome.status === 'failed') break;
  }
  return { runs, not_started: queue.map((p) => p.database), interrupted: options.signal.aborted };
}
