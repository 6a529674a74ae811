/**
 * A deploy's migrate_pre / migrate_post step for one database: runs its engine and turns the
 * outcome into the release's MigrationRecord (applied ids, duration, status, error, log tail).
 */
import type { MigrationRecord } from '../releases/record.js';
import { ExitCode, StagecraftError } from '../errors.js';
import { HostError } from '../remote/errors.js';
import { DirtyError, DriftError } from './errors.js';
import { engineFor } from './registry.js';
import type { EngineTarget } from './types.js';

const LOG_TAIL_LINES = 100;

export interface DeployStepInput {
  /** The target; its `log` is wrapped here to keep the tail for the record. */
  target: EngineTarget;
  strategy: 'pre_deploy' | 'post_deploy';
  timeoutMs: number;
  lockTimeoutMs: number;
  /** Aborted by SIGINT/SIGTERM: the engine stops the running migration. */
  signal?: AbortSignal;
}

export interface DeployStepResult {
  record: MigrationRecord;
  /** Exit code for a failure (4 for a failed migration or drift, 2 for a lock timeout). */
  exitCode?: ExitCode;
}

/** Throws DirtyError or DriftError when a raw database is dirty or an applied migration changed (read-only; other engines are checked when they run). */
export async function refuseDrift(target: EngineTarget): Promise<void> {
  if (target.migrations.engine !== 'raw') return;
  const state = await engineFor('raw').plan(target);
  const dirty = state.migrations.filter((m) => m.dirty);
  if (dirty.length > 0) throw new DirtyError(target.environment, target.database, dirty.map((m) => m.id));
  const drifted = state.migrations.filter((m) => m.state === 'drifted');
  if (drifted.length > 0) throw new DriftError(target.database, drifted.map((m) => m.file ?? m.id));
}

export async function runDeployMigration(input: DeployStepInput): Promise<DeployStepResult> {
  const tail: string[] = [];
  const target: EngineTarget = {
    ...input.target,
    log: (line) => {
      tail.push(line);
      if (tail.length > LOG_TAIL_LINES) tail.shift();
      input.target.log(line);
    },
  };
  const started = Date.now();
  const base = {
    database: target.database,
    engine: target.migrations.engine,
    strategy: input.strategy,
    log_tail: tail,
  };
  try {
    const outcome = await engineFor(target.migrations.engine).run(target, { timeoutMs: input.timeoutMs, lockTimeoutMs: input.lockTimeoutMs, signal: input.signal });
    for (const note of outcome.notes) target.log(`note: ${note}`);
    const applied = outcome.migrations.filter((m) => m.outcome === 'applied').map((m) => m.id);
    const record: MigrationRecord = {
      ...base,
      status: outcome.status,
      applied,
      duration_ms: Date.now() - started,
      ...(outcome.error !== undefined ? { error: target.scrub(outcome.error) } : {}),
    };
    return outcome.status === 'failed' ? { record, exitCode: ExitCode.migration } : { record };
  } catch (error) {
    const message = target.scrub(error instanceof Error ? error.message : String(error));
    target.log(`failed: ${message}`);
    return {
      record: { ...base, status: 'failed', applied: [], duration_ms: Date.now() - started, error: message },
      // A host that fails during this phase fails the migration step, not the rollout.
      exitCode: error instanceof StagecraftError && !(error instanceof HostError) ? error.exitCode : ExitCode.migration,
    };
  }
}
