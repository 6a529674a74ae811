/**
 * An engine backed by a migration tool in the app image: `plan()` runs the tool's status command
 * and parses it; `run()` runs its apply command, and reads the status before and after to know
 * exactly which migrations this run applied.
 */
import type { MigrationEngine as EngineName } from '../../config/index.js';
import { UserError } from '../../errors.js';
import { MigrationError } from '../errors.js';
import type { DatabaseState, EngineTarget, MigrationEngine, MigrationOutcome, RunOptions, RunOutcome } from '../types.js';
import { pendingOf, unreadable } from '../types.js';
import { runStatusTool, runTool } from './container-tool.js';
import type { ToolRun } from './container-tool.js';
import { lastMeaningfulLines } from './tool-output.js';

export interface ToolSpec {
  name: EngineName;
  /** What applies migrations when `migrations.command` is not set. */
  applyCommand(target: EngineTarget): string[];
  /** Apply up to and including one migration (`before`: the state read before the run); engines without it refuse `--to`. */
  applyToCommand?(target: EngineTarget, to: string, before: DatabaseState | undefined): string[];
  /** What prints the status when `migrations.plan_command` is not set; absent when the tool has none. */
  statusCommand?(target: EngineTarget): string[];
  /** Why there is no status without `plan_command`. */
  noStatusReason?: string;
  /**
   * Reads the state without starting the tool (its table, read-only, and the files in the image):
   * used by plan and around runs unless `plan_command` names the user's own status command.
   */
  readState?(target: EngineTarget): Promise<DatabaseState>;
  /** A drifted migration in the state before a run refuses it before the tool starts (the tool would apply the rest regardless). */
  refusesDrift?: boolean;
  parseStatus(run: ToolRun): DatabaseState;
  /** The migration a failed apply run names, when its output says. */
  failedMigration?(run: ToolRun): string | undefined;
  /** Variables the tool needs besides DATABASE_URL. */
  env?(target: EngineTarget): Record<string, string>;
}

export function describeToolFailure(run: ToolRun, timeoutMs?: number): string {
  const command = run.argv.join(' ');
  if (run.timedOut) return `${command} timed out${timeoutMs ? ` after ${Math.round(timeoutMs / 1000)}s` : ''}; the container was stopped`;
  const output = lastMeaningfulLines(`${run.stdout}\n${run.stderr}`);
  return `${command} exited with code ${run.exitCode}${output ? `: ${output}` : ''}`;
}

/** Reads the status with the tool, or without it (`readState`); never throws for a status that cannot be read. */
export async function readToolStatus(spec: ToolSpec, target: EngineTarget, signal?: AbortSignal): Promise<DatabaseState> {
  if (spec.readState && target.migrations.plan_command === undefined) return spec.readState(target);
  if ('missing' in target.image) return unreadable(`no app image to run ${spec.name} in: ${target.image.missing}`);
  const argv = target.migrations.plan_command ?? spec.statusCommand?.(target);
  if (!argv) return unreadable(spec.noStatusReason ?? `${spec.name} has no status command; set migrations.plan_command`);
  let run: ToolRun;
  try {
    run = await runStatusTool(target, argv, spec.env?.(target), signal);
  } catch (error) {
    return unreadable(`could not run ${argv.join(' ')}: ${target.scrub(error instanceof Error ? error.message : String(error))}`);
  }
  if (run.timedOut) return unreadable(describeToolFailure(run));
  return spec.parseStatus(run);
}

/** Per-migration outcome of an apply run, from the status read before and after it. */
export function outcomesFromStatus(
  before: DatabaseState | undefined,
  after: DatabaseState | undefined,
  failedId: string | undefined,
): { migrations: MigrationOutcome[]; notes: string[] } {
  if (!before?.readable || !before.pending_known) {
    return { migrations: failedId ? [{ id: failedId, outcome: 'failed' }] : [], notes: ['the status before the run could not be read: which migrations ran is not known'] };
  }
  const afterState = new Map(after?.readable ? after.migrations.map((m) => [m.id, m.state]) : []);
  const stillPending = (id: string) => {
    const state = afterState.get(id);
    return state === 'pending' || state === 'failed' || (state === undefined && !after?.readable);
  };
  const migrations: MigrationOutcome[] = pendingOf(before).map((m) => {
    if (m.id === failedId) return { id: m.id, outcome: 'failed' };
    if (afterState.get(m.id) === 'failed') return { id: m.id, outcome: 'failed' };
    return { id: m.id, outcome: stillPending(m.id) ? 'skipped' : 'applied' };
  });
  const notes = after?.readable ? [] : [`the status after the run could not be read${after?.reason ? ` (${after.reason})` : ''}: which migrations ran is not known`];
  return { migrations, notes };
}

/**
 * An apply run stopped by SIGINT/SIGTERM. No status container runs after it: the user asked to
 * stop, not to wait for another tool run.
 */
export function interruptedOutcome(target: EngineTarget, argv: readonly string[], signal: AbortSignal | undefined): RunOutcome {
  const reason = signal?.reason instanceof Error ? signal.reason.message : 'interrupted';
  const error = `${reason}: ${argv.join(' ')} was stopped and its container ${target.containerName} removed; which migrations it applied before that is not known (see \`stagecraft migrate plan\`)`;
  target.log(error);
  return { status: 'failed', migrations: [], error, notes: [] };
}

/** Exit 4 naming every drifted migration and why: nothing runs. */
export function refuseDrifted(target: EngineTarget, state: DatabaseState): void {
  const drifted = state.migrations.filter((m) => m.state === 'drifted');
  if (drifted.length === 0) return;
  throw new MigrationError(`${target.database}: drift: ${drifted.map((m) => `${m.file ?? m.id}: ${m.error ?? 'changed after being applied'}`).join('; ')}; nothing was run`, {
    hint: 'restore the applied migration(s) as they were and put the change in a new migration',
  });
}

export function toolEngine(spec: ToolSpec): MigrationEngine {
  const hasStatus = (target: EngineTarget) => target.migrations.plan_command !== undefined || spec.statusCommand !== undefined || spec.readState !== undefined;
  return {
    name: spec.name,
    builtin: false,
    plan: (target) => readToolStatus(spec, target),
    async run(target: EngineTarget, options: RunOptions): Promise<RunOutcome> {
      if (options.to !== undefined) {
        if (!spec.applyToCommand) throw new UserError(`engine ${spec.name} cannot apply up to one migration: --to is not supported`);
        if (target.migrations.command) throw new UserError('--to cannot be combined with a custom migrations.command');
      }
      const before = options.before ?? (hasStatus(target) ? await readToolStatus(spec, target, options.signal) : undefined);
      let argv: string[];
      if (options.to !== undefined) argv = spec.applyToCommand!(target, options.to, before);
      else argv = target.migrations.command ? [...target.migrations.command] : spec.applyCommand(target);
      if (before && !before.readable) target.log(`status before the run not readable: ${before.reason ?? 'unknown reason'}`);
      if (spec.refusesDrift && before?.readable) refuseDrifted(target, before);
      target.log(`running ${argv.join(' ')} in ${target.containerName}`);
      const run = await runTool(target, argv, { purpose: 'apply', timeoutMs: options.timeoutMs, signal: options.signal, ...(spec.env ? { env: spec.env(target) } : {}) });
      if (run.interrupted) return interruptedOutcome(target, argv, options.signal);
      const failed = run.exitCode !== 0 || run.timedOut;
      const after = hasStatus(target) ? await readToolStatus(spec, target) : undefined;
      const failedId = failed ? spec.failedMigration?.(run) : undefined;
      const { migrations, notes } = outcomesFromStatus(before, after, failedId);
      if (!failed) return { status: 'completed', migrations, notes };
      const error = `${failedId ? `${failedId}: ` : ''}${describeToolFailure(run, options.timeoutMs)}`;
      if (failedId && !migrations.some((m) => m.id === failedId)) migrations.push({ id: failedId, outcome: 'failed' });
      return { status: 'failed', migrations: migrations.map((m) => (m.outcome === 'failed' ? { ...m, error } : m)), error, notes };
    },
  };
}
