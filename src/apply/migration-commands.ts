/**
 * `migrate run` and `migrate rollback` after planning: under the deploy lock, the executor applies
 * the MigrationPlan, the recorder records it, and the primary's audit log gets its line, also when
 * it failed or was interrupted.
 */
import { ExitCode, StagecraftError } from '../errors.js';
import { MigrationError } from '../migrate/errors.js';
import { describeBackup, runBackups, timeStamp } from '../migrate/backup.js';
import type { BackupNeed } from '../migrate/backup.js';
import { executeMigrationPlan } from '../migrate/orchestrate/execute.js';
import type { DatabaseRun, ExecuteOptions, ExecutionResult } from '../migrate/orchestrate/execute.js';
import type { MigrationPlan } from '../migrate/orchestrate/migration-plan.js';
import { recordToolRun } from '../migrate/orchestrate/record.js';
import type { EngineTarget } from '../migrate/types.js';
import type { Session } from './session.js';

export interface MigrationCommand {
  plan: MigrationPlan;
  targets: readonly EngineTarget[];
  /** For the lock file and the audit line. */
  command: 'migrate run' | 'migrate rollback';
  version?: string | undefined;
  lockWaitMs: number;
  limits: ExecuteOptions['limits'];
  states?: ExecuteOptions['states'];
  /** Progress and summary lines (stderr with --json). */
  out: NodeJS.WritableStream;
  /** `databases.X.backup` to run first, under the lock (see backupsFor); a failure applies nothing (exit 4). */
  backups?: readonly BackupNeed[] | undefined;
}

function verbs(plan: MigrationPlan): { done: string; again: string } {
  return plan.kind === 'run' ? { done: 'applied', again: 'stagecraft migrate run' } : { done: 'rolled back', again: 'stagecraft migrate rollback' };
}

/** `main: applied 0001, 0002; 0003.sql: syntax error…; not run: 0004`. */
export function describeRun(run: DatabaseRun, done: string): string {
  const { outcome } = run;
  const applied = outcome.migrations.filter((m) => m.outcome === 'applied').map((m) => m.id);
  const stopped = outcome.migrations.find((m) => m.outcome === 'failed');
  const skipped = outcome.migrations.filter((m) => m.outcome === 'skipped').map((m) => m.id);
  const parts = [applied.length ? `${done} ${applied.join(', ')}` : `nothing ${done}`];
  if (stopped) parts.push(`${stopped.error ?? `${stopped.id} stopped`}`);
  else if (outcome.status === 'failed' && outcome.error) parts.push(outcome.error);
  if (skipped.length) parts.push(`not run: ${skipped.join(', ')}`);
  return `${run.plan.database}: ${parts.join('; ')}`;
}

/** The line printed after each database: `main: completed; 2 applied (0001, 0002)`. */
export function summaryLine(run: DatabaseRun, plan: MigrationPlan): string {
  const { outcome } = run;
  const done = outcome.migrations.filter((m) => m.outcome === 'applied').map((m) => m.id);
  if (plan.kind === 'rollback') return `${run.plan.database}: ${outcome.status}; ${done.length ? `rolled back ${done.join(', ')}` : 'nothing rolled back'}`;
  const failed = outcome.migrations.find((m) => m.outcome === 'failed');
  const skipped = outcome.migrations.filter((m) => m.outcome === 'skipped').length;
  const parts = [`${run.plan.database}: ${outcome.status}`, done.length ? `${done.length} applied (${done.join(', ')})` : 'nothing applied'];
  if (failed) parts.push(`failed ${failed.id}`);
  if (skipped) parts.push(`${skipped} not run`);
  return parts.join('; ');
}

function interruptedError(signal: AbortSignal, result: ExecutionResult, plan: MigrationPlan): StagecraftError {
  const { done, again } = verbs(plan);
  const reason = signal.reason instanceof Error ? signal.reason.message : 'interrupted';
  const parts = [...result.runs.map((run) => describeRun(run, done)), ...(result.not_started.length ? [`not started: ${result.not_started.join(', ')}`] : [])];
  return new StagecraftError(`${reason}: ${parts.join(' | ') || 'nothing was started'}`, ExitCode.interrupted, {
    hint: `the deploy lock was released; what was ${done} stays ${done}. Run \`${again}\` again for the rest (\`stagecraft migrate plan\` shows the state)`,
  });
}

/** Applies the plan under the deploy lock and returns what happened (see failureOf); throws when interrupted (exit 130). */
export async function applyMigrationCommand(session: Session, request: MigrationCommand): Promise<ExecutionResult> {
  const { plan, out } = request;
  const { done } = verbs(plan);
  const lockRequest = { command: request.command, version: request.version, waitMs: request.lockWaitMs };
  const result = await session.underDeployLock(lockRequest, async (signal) => {
    if (request.backups?.length) await backUpFirst(session, request, request.backups, signal);
    const executed = await executeMigrationPlan(plan, request.targets, { signal, limits: request.limits, ...(request.states ? { states: request.states } : {}) });
    for (const run of executed.runs) {
      for (const note of run.outcome.notes) out.write(`[${run.plan.database}] note: ${note}\n`);
      out.write(`${summaryLine(run, plan)}\n`);
      const target = request.targets.find((t) => t.database === run.plan.database)!;
      const warning = await recordToolRun(target, run);
      if (warning) out.write(`warning: ${warning}\n`);
    }
    const detail = [executed.interrupted ? 'interrupted' : '', ...executed.runs.map((run) => describeRun(run, done))].filter(Boolean).join(' | ');
    for (const failure of await session.audit([session.primary], [request.version ?? '-', request.command, detail || 'nothing run'])) {
      out.write(`warning: ${failure.address}: could not append to ~/.stagecraft/audit.log: ${failure.error}\n`);
    }
    if (executed.interrupted) throw interruptedError(signal, executed, plan);
    return executed;
  });
  return result;
}

/** Runs the backups before anything applies; a failed one (or an interruption) stops the command with nothing applied. */
async function backUpFirst(session: Session, request: MigrationCommand, needs: readonly BackupNeed[], signal: AbortSignal): Promise<void> {
  const { out } = request;
  const stamp = timeStamp(new Date());
  const backups = await runBackups(needs, (database) => request.targets.find((t) => t.database === database)!, {
    signal,
    suffix: () => stamp,
    onDone: (backup) => out.write(`${describeBackup(backup)}\n`),
  });
  if (!backups.failed) return;
  const detail = `${describeBackup(backups.failed)}; nothing applied`;
  for (const failure of await session.audit([session.primary], [request.version ?? '-', request.command, detail])) {
    out.write(`warning: ${failure.address}: could not append to ~/.stagecraft/audit.log: ${failure.error}\n`);
  }
  if (signal.aborted) {
    throw new StagecraftError(`interrupted during the backup of ${backups.failed.database}: nothing was applied`, ExitCode.interrupted, {
      hint: 'the deploy lock was released; run `stagecraft migrate run` again',
    });
  }
  throw new MigrationError(`${describeBackup(backups.failed)}; no migration was run`, {
    hint: `see the backup's output above; fix databases.${backups.failed.database}.backup and run \`stagecraft migrate run\` again`,
  });
}

/** The error a failed run exits with (its own, e.g. drift: exit 4; lock timeout: exit 2), if any database failed. */
export function failureOf(result: ExecutionResult, plan: MigrationPlan): StagecraftError | undefined {
  const failed = result.runs.find((run) => run.outcome.status === 'failed');
  if (!failed) return undefined;
  if (failed.failure) return failed.failure;
  return new MigrationError(`${failed.plan.database}: ${failed.outcome.error ?? `${plan.kind === 'run' ? 'migration' : 'rollback'} failed`}`, {
    ...(plan.kind === 'run' ? { hint: 'earlier migrations stay applied; fix the failing one and run `stagecraft migrate run` again' } : {}),
  });
}
