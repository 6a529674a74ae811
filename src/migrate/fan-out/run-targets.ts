/**
 * `migrate run` over targets (issue 11): each target (a database, or one of its `targets`) is
 * planned, linted, executed and recorded with the per-database machinery, one session, under the
 * deploy lock taken once; `fanOut` decides what runs when. `--rollback-on-failure` reverts the
 * targets this run completed with the engine's rollback, newest first.
 */
import type { Session } from '../../apply/session.js';
import { describeRun, summaryLine } from '../../apply/migration-commands.js';
import { ExitCode, StagecraftError, UserError } from '../../errors.js';
import { MigrationError } from '../errors.js';
import { executeMigrationPlan } from '../orchestrate/execute.js';
import type { DatabaseRun, ExecuteOptions } from '../orchestrate/execute.js';
import { assembleMigrationPlan, planDatabaseRollback, planDatabaseRun } from '../orchestrate/migration-plan.js';
import type { DatabaseRunPlan, MigrationPlan } from '../orchestrate/migration-plan.js';
import { recordToolRun } from '../orchestrate/record.js';
import { readStates } from '../orchestrate/read-states.js';
import { engineFor } from '../registry.js';
import { lintPlan } from '../risk/guard.js';
import type { DatabaseState, EngineTarget } from '../types.js';
import { targetKey } from '../types.js';
import { FAN_OUT_STRATEGIES, anyFailed, byPriority, fanOut, rollBackCompleted } from './fan-out.js';
import type { FanOutOptions, FanOutStrategy, TargetOutcome, TargetResult } from './fan-out.js';
import { fanOutJson, fanOutSummary, formatFanOutTable } from './format-results.js';

export interface FanOutFlags {
  fanOut?: string | undefined;
  maxConcurrent?: string | undefined;
  batchSize?: string | undefined;
  canaryPercent?: string | undefined;
  rollbackOnFailure?: boolean | undefined;
}

/** Any fan-out flag given: `migrate run` goes through the fan-out even for single targets. */
export function fanOutRequested(flags: FanOutFlags): boolean {
  return flags.fanOut !== undefined || flags.maxConcurrent !== undefined || flags.batchSize !== undefined || flags.canaryPercent !== undefined || flags.rollbackOnFailure === true;
}

function whole(flag: string, value: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!/^\d+$/.test(value.trim()) || number < min || number > max) {
    throw new UserError(`${flag} ${value}: expected a whole number${max === Number.MAX_SAFE_INTEGER ? ` of at least ${min}` : ` from ${min} to ${max}`}`);
  }
  return number;
}

/** The strategy and its numbers from the flags (default sequential); exit 1 on a bad one. */
export function fanOutOptionsOf(flags: FanOutFlags): Omit<FanOutOptions, 'signal'> {
  const strategy = flags.fanOut ?? 'sequential';
  if (!(FAN_OUT_STRATEGIES as readonly string[]).includes(strategy)) {
    throw new UserError(`--fan-out ${strategy}: expected one of ${FAN_OUT_STRATEGIES.join(', ')}`);
  }
  const maxConcurrent = whole('--max-concurrent', flags.maxConcurrent, 1);
  const batchSize = whole('--batch-size', flags.batchSize, 1);
  const canaryPercent = whole('--canary-percent', flags.canaryPercent, 1, 100);
  return {
    strategy: strategy as FanOutStrategy,
    ...(maxConcurrent !== undefined ? { maxConcurrent } : {}),
    ...(batchSize !== undefined ? { batchSize } : {}),
    ...(canaryPercent !== undefined ? { canaryPercent } : {}),
  };
}

/** Pure: why `--rollback-on-failure` cannot promise a revert of these plans (nothing started yet). */
export function rollbackRefusals(plans: readonly { key: string; plan: DatabaseRunPlan; state: DatabaseState }[]): string[] {
  const refusals: string[] = [];
  for (const { key, plan, state } of plans) {
    const engine = engineFor(plan.engine as EngineTarget['migrations']['engine']);
    if (!engine.rollback) {
      refusals.push(`${key}: engine ${plan.engine} has no rollback`);
      continue;
    }
    if (plan.engine !== 'raw') continue;
    const byId = new Map(state.migrations.map((entry) => [entry.id, entry]));
    const noDown = (plan.steps ?? []).filter((step) => byId.get(step.id)?.down_file === undefined).map((step) => `${step.id}.down.sql`);
    if (noDown.length > 0) refusals.push(`${key}: ${noDown.join(', ')} missing`);
  }
  return refusals;
}

export interface RunTargetsRequest {
  session: Session;
  /** Already expanded (engineTargets), in config order. */
  targets: readonly EngineTarget[];
  flags: FanOutFlags;
  /** The environment's `priority` (targets are ordered by it, then by config order). */
  priority: number;
  to?: string | undefined;
  image: string | null;
  version?: string | undefined;
  dryRun: boolean;
  json: boolean;
  lockWaitMs: number;
  limits: ExecuteOptions['limits'];
  /** Progress and the table (stderr with --json). */
  out: NodeJS.WritableStream;
  /** The command's approvals (risk findings, require_approval), given the plan with targets as `main/tenant_a`. */
  confirm: (plan: MigrationPlan) => Promise<void>;
  /** Prints the plan (`--dry-run`). */
  printPlan: (plan: MigrationPlan) => void;
}

interface Planned {
  key: string;
  target: EngineTarget;
  /** `database` is the config key: the executor finds the target by it. */
  plan: DatabaseRunPlan;
  state: DatabaseState;
}

const shown = (planned: Planned): DatabaseRunPlan => ({ ...planned.plan, database: planned.key });

function header(request: RunTargetsRequest, kind: MigrationPlan['kind']) {
  const { loaded } = request.session;
  return { kind, service: loaded.config.service, environment: loaded.environment, image: request.image, to: kind === 'run' ? request.to : undefined };
}

/** The failed migration's error, or the run's. */
function errorOf(run: DatabaseRun): string | undefined {
  if (run.outcome.status !== 'failed') return undefined;
  return run.outcome.migrations.find((m) => m.outcome === 'failed')?.error ?? run.outcome.error ?? 'failed';
}

export async function runTargets(request: RunTargetsRequest): Promise<void> {
  const { session, out } = request;
  const { loaded } = session;
  const options = fanOutOptionsOf(request.flags);
  for (const database of new Set(request.targets.map((target) => target.database))) {
    if (loaded.config.databases[database]?.backup !== undefined) {
      throw new UserError(`databases.${database}.backup is not run by \`migrate run --fan-out\` yet: run \`stagecraft migrate run --database ${database}\` without fan-out flags on a database without targets, or back up yourself; nothing was changed`);
    }
  }
  const ordered = byPriority(request.targets.map((target) => ({ target, priority: request.priority }))).map(({ target }) => target);
  const states = await readStates(ordered);
  const planned: Planned[] = [];
  for (const target of ordered) {
    const key = targetKey(target);
    const state = states.get(key)!.state;
    const input = { database: target.database, engine: target.migrations.engine, strategy: loaded.config.databases[target.database]!.migrations.strategy, state };
    const plan = await lintPlan(planDatabaseRun(input, loaded.environment, { to: request.to }), loaded.dir, target.migrations, loaded.environment);
    planned.push({ key, target, plan, state });
  }
  const overall = assembleMigrationPlan(header(request, 'run'), planned.map(shown));
  if (request.dryRun) return request.printPlan(overall);
  const unreadable = planned.filter(({ plan }) => plan.unreadable !== undefined);
  if (unreadable.length > 0) throw new MigrationError(`could not read the state of ${unreadable.map(({ key, plan }) => `${key} (${plan.unreadable})`).join('; ')}; nothing was changed`);
  if (request.flags.rollbackOnFailure === true) {
    const refusals = rollbackRefusals(planned);
    if (refusals.length > 0) throw new UserError(`--rollback-on-failure cannot revert every target: ${refusals.join('; ')}; nothing was changed`);
  }
  await request.confirm(overall);

  const byKey = new Map(planned.map((entry) => [entry.key, entry]));
  const lockRequest = { command: 'migrate run', version: request.version, waitMs: request.lockWaitMs };
  const { results, interrupted } = await session.underDeployLock(lockRequest, async (signal) => {
    const runOne = async (key: string): Promise<TargetOutcome> => {
      const entry = byKey.get(key)!;
      if (entry.plan.steps?.length === 0 && entry.plan.blocked === undefined) return { status: 'skipped', applied: [] };
      const plan = assembleMigrationPlan(header(request, 'run'), [entry.plan]);
      const executed = await executeMigrationPlan(plan, [entry.target], { signal, limits: request.limits, states: new Map([[entry.target.database, entry.state]]) });
      const run = executed.runs[0];
      if (!run) return { status: 'failed', applied: [], error: 'interrupted before it started' };
      for (const note of run.outcome.notes) out.write(`[${key}] note: ${note}\n`);
      out.write(`${summaryLine({ ...run, plan: shown(entry) }, plan)}\n`);
      const warning = await recordToolRun(entry.target, run);
      if (warning) out.write(`warning: ${warning}\n`);
      const applied = run.outcome.migrations.filter((m) => m.outcome === 'applied').map((m) => m.id);
      const error = errorOf(run);
      return error === undefined ? { status: 'completed', applied } : { status: 'failed', applied, error: entry.target.scrub(error) };
    };
    let results = await fanOut([...byKey.keys()], { ...options, signal }, (key) => runOne(key));
    if (request.flags.rollbackOnFailure === true) {
      results = await rollBackCompleted(results, async (result) => {
        const entry = byKey.get(result.target)!;
        await revert(request, entry, result, signal);
      });
    }
    const detail = results.map((result) => `${result.target}: ${result.status}${result.applied.length ? ` (${result.applied.join(', ')})` : ''}`).join(' | ');
    for (const failure of await session.audit([session.primary], [request.version ?? '-', 'migrate run', `fan-out ${options.strategy}: ${detail}`])) {
      out.write(`warning: ${failure.address}: could not append to ~/.stagecraft/audit.log: ${failure.error}\n`);
    }
    return { results, interrupted: signal.aborted };
  });

  if (request.json) process.stdout.write(`${JSON.stringify(fanOutJson(loaded.environment, planned.map(({ key, target }) => ({ key, database: target.database, target: target.target })), results), null, 2)}\n`);
  else out.write(`${formatFanOutTable(results)}\n${fanOutSummary(results)}\n`);
  if (interrupted) {
    throw new StagecraftError(`interrupted: ${fanOutSummary(results)}`, ExitCode.interrupted, {
      hint: 'the deploy lock was released; what was applied stays applied. Run `stagecraft migrate run` again for the rest',
    });
  }
  if (anyFailed(results)) {
    const failed = results.filter((result) => result.status === 'failed');
    throw new MigrationError(`${failed.length} of ${results.length} target(s) failed: ${failed.map((result) => `${result.target}: ${result.error ?? 'failed'}`).join('; ')}`, {
      hint: request.flags.rollbackOnFailure === true ? 'the completed targets were rolled back (see the table)' : 'completed targets stay migrated; fix the failure and run `stagecraft migrate run` again for the rest',
    });
  }
}

/** Reverts exactly what `result` applied on its target; throws when that did not complete. */
async function revert(request: RunTargetsRequest, entry: Planned, result: TargetResult, signal: AbortSignal): Promise<void> {
  const { loaded } = request.session;
  const state = (await readStates([entry.target])).get(entry.key)!.state;
  const input = { database: entry.target.database, engine: entry.target.migrations.engine, strategy: loaded.config.databases[entry.target.database]!.migrations.strategy, state };
  const plan = assembleMigrationPlan(header(request, 'rollback'), [planDatabaseRollback(input, loaded.environment, { ids: result.applied }, false)]);
  const executed = await executeMigrationPlan(plan, [entry.target], { signal, limits: request.limits });
  const run = executed.runs[0];
  if (!run) throw new Error('interrupted before the rollback started');
  request.out.write(`${entry.key}: rollback ${run.outcome.status}; ${describeRun({ ...run, plan: { ...run.plan, database: entry.key } }, 'rolled back').slice(entry.key.length + 2)}\n`);
  if (run.outcome.status === 'failed') throw new Error(errorOf(run) ?? run.outcome.error ?? 'rollback failed');
}
