/**
 * sqitch: `sqitch check` first (a deployed change whose script changed is divergence: plan shows
 * it drifted and run refuses), `sqitch status --show-changes` + `sqitch plan` for the state,
 * `sqitch deploy` to apply. The target reaches sqitch through SQITCH_TARGET, never argv.
 */
import { UserError } from '../../errors.js';
import { DriftError, MigrationError } from '../errors.js';
import type { DatabaseState, EngineTarget, MigrationEngine, MigrationEntry, RunOptions, RunOutcome } from '../types.js';
import { unreadable } from '../types.js';
import { runStatusTool, runTool } from './container-tool.js';
import type { ToolRun } from './container-tool.js';
import { describeToolFailure, interruptedOutcome, outcomesFromStatus } from './tool-engine.js';
import { outputLines } from './tool-output.js';

export type SqitchCheck = { kind: 'ok' } | { kind: 'undeployed' } | { kind: 'diverged'; changes: string[] } | { kind: 'error'; message: string };

export function parseSqitchCheck(run: ToolRun): SqitchCheck {
  const lines = outputLines(`${run.stdout}\n${run.stderr}`).map((line) => line.trim());
  const diverged = lines.flatMap((line) => /^Script signatures diverge at change (\S+)/.exec(line)?.[1] ?? []);
  if (diverged.length > 0) return { kind: 'diverged', changes: diverged };
  if (run.exitCode === 0 && lines.includes('Check successful')) return { kind: 'ok' };
  if (lines.some((line) => /^No registry found in .*Have you ever deployed\?$/.test(line))) return { kind: 'undeployed' };
  return { kind: 'error', message: describeToolFailure(run) };
}

export interface SqitchStatus {
  deployed: string[];
  undeployed: string[];
}

/** Parses `sqitch status --show-changes`: deployed changes (oldest first) and undeployed ones. */
export function parseSqitchStatus(run: ToolRun): SqitchStatus | { error: string } {
  const lines = outputLines(`${run.stdout}\n${run.stderr}`);
  const deployed: string[] = [];
  const undeployed: string[] = [];
  let section: 'changes' | 'undeployed' | undefined;
  let recognised = false;
  for (const line of lines) {
    const text = line.trim();
    if (text === 'No changes deployed' || text === 'Nothing to deploy (up-to-date)') recognised = true;
    if (/^# Changes:$/.test(text)) {
      section = 'changes';
      recognised = true;
      continue;
    }
    if (/^Undeployed changes?:$/.test(text)) {
      section = 'undeployed';
      recognised = true;
      continue;
    }
    if (section === 'changes') {
      const match = /^#\s+(\S+?)(?:\s+@\S+)*\s+- /.exec(text);
      if (match) deployed.push(match[1]!);
      else if (text === '#' || text === '') section = undefined;
      continue;
    }
    if (section === 'undeployed') {
      const match = /^\*\s+(\S+)/.exec(text);
      if (match) undeployed.push(match[1]!);
      else section = undefined;
    }
  }
  // sqitch exits 1 for "No changes deployed"; anything else unrecognised is an error.
  if (!recognised) return { error: describeToolFailure(run) };
  return { deployed: deployed.reverse(), undeployed };
}

/** Parses `sqitch plan --oneline --no-headers`: `<id> deploy <name>` per change, in plan order. */
export function parseSqitchPlan(run: ToolRun): string[] | { error: string } {
  if (run.exitCode !== 0) return { error: describeToolFailure(run) };
  const names: string[] = [];
  for (const line of outputLines(run.stdout)) {
    const match = /^\S+\s+deploy\s+(\S+)/.exec(line.trim());
    if (match && !names.includes(match[1]!)) names.push(match[1]!);
  }
  return names;
}

export function sqitchState(check: SqitchCheck, status: SqitchStatus, planned: readonly string[]): DatabaseState {
  const deployed = new Set(status.deployed);
  const diverged = new Set(check.kind === 'diverged' ? check.changes : []);
  const migrations: MigrationEntry[] = planned.map((id): MigrationEntry => {
    if (diverged.has(id)) return { id, state: 'drifted', error: 'script changed after it was deployed (sqitch check)' };
    return { id, state: deployed.has(id) ? 'applied' : 'pending' };
  });
  for (const id of status.deployed) {
    if (!planned.includes(id)) migrations.push({ id, state: 'applied', missing_file: true });
  }
  return {
    readable: true,
    migrations,
    applied_count: status.deployed.length,
    pending_known: true,
    notes: [],
  };
}

/** `postgres://…` as a sqitch target URI (`db:pg://…`). */
export function sqitchTarget(url: string): string {
  return `db:${url.replace(/^postgres(?:ql)?:/, 'pg:')}`;
}

function env(target: EngineTarget): Record<string, string> {
  return { SQITCH_TARGET: sqitchTarget(target.url) };
}

async function check(target: EngineTarget): Promise<SqitchCheck> {
  return parseSqitchCheck(await runStatusTool(target, ['sqitch', 'check'], env(target)));
}

/** What a command already read. The plan lists the image's changes, which a deploy leaves as they are: read once. */
interface Known {
  checked?: SqitchCheck;
  planned?: string[];
}

async function readState(target: EngineTarget, known: Known = {}): Promise<DatabaseState> {
  if ('missing' in target.image) return unreadable(`no app image to run sqitch in: ${target.image.missing}`);
  try {
    const checkResult = known.checked ?? (await check(target));
    if (checkResult.kind === 'error') return unreadable(`sqitch check: ${checkResult.message}`);
    const status = parseSqitchStatus(await runStatusTool(target, target.migrations.plan_command ?? ['sqitch', 'status', '--show-changes'], env(target)));
    if ('error' in status) return unreadable(status.error);
    const planned = known.planned ?? parseSqitchPlan(await runStatusTool(target, ['sqitch', 'plan', '--oneline', '--no-headers'], env(target)));
    if ('error' in planned) return unreadable(planned.error);
    known.planned = planned;
    return sqitchState(checkResult, status, planned);
  } catch (error) {
    return unreadable(`could not run sqitch: ${target.scrub(error instanceof Error ? error.message : String(error))}`);
  }
}

/** The change whose deploy printed "not ok". */
export function sqitchFailedChange(run: ToolRun): string | undefined {
  let current: string | undefined;
  for (const line of outputLines(`${run.stdout}\n${run.stderr}`)) {
    const started = /^\s*\+ (\S+) \.+/.exec(line);
    if (started) current = started[1];
    if (/\bnot ok$/.test(line.trim())) return current;
  }
  return undefined;
}

export const sqitchEngine: MigrationEngine = {
  name: 'sqitch',
  builtin: false,
  plan: (target) => readState(target),
  async run(target: EngineTarget, options: RunOptions): Promise<RunOutcome> {
    if (options.to !== undefined && target.migrations.command) throw new UserError('--to cannot be combined with a custom migrations.command');
    const checked = await check(target);
    if (checked.kind === 'diverged') throw new DriftError(target.database, checked.changes);
    if (checked.kind === 'error') throw new MigrationError(`${target.database}: sqitch check failed: ${checked.message}`);
    const known: Known = { checked };
    const before = await readState(target, known);
    const argv = target.migrations.command ? [...target.migrations.command] : ['sqitch', 'deploy', ...(options.to ? ['--to', options.to] : [])];
    target.log(`running ${argv.join(' ')} in ${target.containerName}`);
    const run = await runTool(target, argv, { purpose: 'apply', timeoutMs: options.timeoutMs, env: env(target), signal: options.signal });
    if (run.interrupted) return interruptedOutcome(target, argv, options.signal);
    const after = await readState(target, { ...(known.planned ? { planned: known.planned } : {}) });
    const failed = run.exitCode !== 0 || run.timedOut;
    const failedId = failed ? sqitchFailedChange(run) : undefined;
    const { migrations, notes } = outcomesFromStatus(before, after, failedId);
    if (!failed) return { status: 'completed', migrations, notes };
    const error = `${failedId ? `${failedId}: ` : ''}${describeToolFailure(run, options.timeoutMs)}`;
    return { status: 'failed', migrations: migrations.map((m) => (m.outcome === 'failed' ? { ...m, error } : m)), error, notes };
  },
};
