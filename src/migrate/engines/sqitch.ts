/**
 * sqitch. `plan` never starts sqitch: it reads sqitch.conf, sqitch.plan and the deploy scripts from
 * the app image (a created, never started container) and the registry's `changes` table through
 * the primary's tunnel, read-only (see sqitch-plan.ts, sqitch-state.ts). `run` uses sqitch itself in
 * a one-off container: `sqitch check` first (diverged scripts are drift: refused), then
 * `sqitch deploy --verify` (each change's verify script runs right after it). `rollback` runs
 * `sqitch revert -y --to <the change before the oldest one reverted>`. The target reaches sqitch
 * through SQITCH_TARGET, never argv; sqitch runs in `migrations.path` (`--chdir`).
 */
import { ConfigError } from '../../config/index.js';
import { RefusedError, UserError } from '../../errors.js';
import { DriftError, MigrationError } from '../errors.js';
import { sqitchDeployArgv } from '../engine-commands.js';
import type { DatabaseState, EngineTarget, MigrationEngine, MigrationEntry, MigrationOutcome, RollbackOptions, RunOptions, RunOutcome } from '../types.js';
import { unreadable } from '../types.js';
import { qualifiedTable, tableExists, withReadOnlyDatabase } from '../database/read-only.js';
import type { DatabaseClient } from '../database/connect.js';
import { runStatusTool, runTool } from './container-tool.js';
import type { ToolRun } from './container-tool.js';
import { readMigrationTree } from './image-files.js';
import { parseSqitchConf, sqitchLayout } from './sqitch-conf.js';
import type { SqitchLayout } from './sqitch-conf.js';
import { SqitchPlanError, changeSpec, parseSqitchPlan, withKeys } from './sqitch-plan.js';
import type { SqitchChange, SqitchPlan } from './sqitch-plan.js';
import { sqitchPlanState } from './sqitch-state.js';
import type { SqitchDeployedRow } from './sqitch-state.js';
import { describeToolFailure, interruptedOutcome, outcomesFromStatus } from './tool-engine.js';
import { outputLines } from './tool-output.js';

export type SqitchCheck = { kind: 'ok' } | { kind: 'undeployed' } | { kind: 'diverged'; changes: string[] } | { kind: 'error'; message: string };

/** `sqitch check`: "Script signatures diverge at change users @v1.0" names the change with its tags. */
export function parseSqitchCheck(run: ToolRun): SqitchCheck {
  const lines = outputLines(`${run.stdout}\n${run.stderr}`).map((line) => line.trim());
  const diverged = lines.flatMap((line) => /^Script signatures diverge at change (.+?)\s*$/.exec(line)?.[1] ?? []);
  if (diverged.length > 0) return { kind: 'diverged', changes: diverged };
  if (run.exitCode === 0 && lines.includes('Check successful')) return { kind: 'ok' };
  if (lines.some((line) => /^No registry found in .*Have you ever deployed\?$/.test(line))) return { kind: 'undeployed' };
  return { kind: 'error', message: describeToolFailure(run) };
}

export interface SqitchStatus {
  /** Deployed change names, oldest first. */
  deployed: string[];
  /** Undeployed changes as sqitch prints them (`users @v2.0`). */
  undeployed: string[];
}

/**
 * Parses `sqitch status --show-changes`: deployed changes (oldest first) and undeployed ones.
 * With one deployed change sqitch heads the list `# Change:`, with more `# Changes:`.
 */
export function parseSqitchStatus(run: ToolRun): SqitchStatus | { error: string } {
  const lines = outputLines(`${run.stdout}\n${run.stderr}`);
  const deployed: string[] = [];
  const undeployed: string[] = [];
  let section: 'changes' | 'undeployed' | undefined;
  let recognised = false;
  for (const line of lines) {
    const text = line.trim();
    if (text === 'No changes deployed' || text === 'Nothing to deploy (up-to-date)') recognised = true;
    if (/^# Changes?:$/.test(text)) {
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
      const match = /^\*\s+(.+?)\s*$/.exec(text);
      if (match) undeployed.push(match[1]!);
      else section = undefined;
    }
  }
  // sqitch exits 1 for "No changes deployed"; anything else unrecognised is an error.
  if (!recognised) return { error: describeToolFailure(run) };
  return { deployed: deployed.reverse(), undeployed };
}

/** `postgres://…` as a sqitch target URI (`db:pg://…`). */
export function sqitchTarget(url: string): string {
  return `db:${url.replace(/^postgres(?:ql)?:/, 'pg:')}`;
}

/** The change whose deploy (or revert) printed "not ok", as sqitch names it (`users @v1.0`). */
export function sqitchFailedChange(run: ToolRun): string | undefined {
  let current: string | undefined;
  for (const line of outputLines(`${run.stdout}\n${run.stderr}`)) {
    const started = /^\s*[+-] (\S+(?: @\S+)*) \.+/.exec(line);
    if (started) current = started[1];
    if (/\bnot ok$/.test(line.trim())) return current;
  }
  return undefined;
}

/** The plan entry sqitch means by `name @tag1 @tag2` (its name with the change's tags). */
export function entryNamed(plan: SqitchPlan, printed: string): SqitchChange | undefined {
  const [name, ...tags] = printed.trim().split(/\s+/);
  const wanted = tags.map((tag) => tag.replace(/^@/, '')).join(' ');
  const named = plan.changes.filter((change) => change.name === name);
  return named.find((change) => change.tags.join(' ') === wanted) ?? (named.length === 1 ? named[0] : undefined);
}

function env(target: EngineTarget): Record<string, string> {
  return { SQITCH_TARGET: sqitchTarget(target.url) };
}

function projectDir(target: EngineTarget): string {
  return target.migrations.path ?? '.';
}

function sqitchArgv(target: EngineTarget, ...command: string[]): string[] {
  return ['sqitch', '--chdir', projectDir(target), ...command];
}

/** An error about `databases.X.migrations.path`, at its position in stagecraft.yml when known. */
function pathError(target: EngineTarget, message: string): UserError {
  const text = `databases.${target.database}.migrations.path: ${message}`;
  const at = target.settingPosition?.('path');
  return at ? new ConfigError({ ...at, message: text }) : new UserError(text);
}

interface SqitchProject {
  plan: SqitchPlan;
  layout: SqitchLayout;
  files: Map<string, Buffer>;
}

/** sqitch.conf, sqitch.plan and the scripts from the image, or why they cannot be read. */
async function readProject(target: EngineTarget): Promise<SqitchProject | { unreadable: string }> {
  if ('missing' in target.image) return { unreadable: `no app image to read the sqitch project from: ${target.image.missing}` };
  const dir = projectDir(target);
  let tree;
  try {
    tree = await readMigrationTree(target, dir);
  } catch (error) {
    return { unreadable: `could not read ${dir} from the app image: ${target.scrub(error instanceof Error ? error.message : String(error))}` };
  }
  if ('missing' in tree) throw pathError(target, `no sqitch project in the app image: ${tree.missing}`);
  const conf = tree.files.get('sqitch.conf');
  if (!conf) throw pathError(target, `no sqitch.conf in ${tree.root} of image ${target.image.ref} (migrations.path is the directory sqitch runs in, relative to the image's WORKDIR)`);
  const layout = sqitchLayout(parseSqitchConf(conf.toString('utf8')));
  if (layout.engine !== undefined && layout.engine !== 'pg') throw pathError(target, `${tree.root}/sqitch.conf sets core.engine = ${layout.engine}; stagecraft runs sqitch against PostgreSQL (pg) only`);
  const planText = tree.files.get(layout.planFile);
  if (!planText) throw pathError(target, `no ${layout.planFile} in ${tree.root} of image ${target.image.ref} (sqitch.conf's plan file)`);
  let plan: SqitchPlan;
  try {
    plan = parseSqitchPlan(planText.toString('utf8'));
  } catch (error) {
    if (error instanceof SqitchPlanError) throw new UserError(`${tree.root}/${layout.planFile}:${error.line} (in the app image): ${error.message}`);
    throw error;
  }
  const files = tree.files;
  const keyed = withKeys(plan, layout.extension, (file) => files.has(`${layout.reworkedDeployDir}/${file}`));
  return { plan: keyed, layout, files };
}

/** The registry's rows of this project in deploy order, or undefined when the registry has no changes table. Reads only. */
export async function readDeployedChanges(client: DatabaseClient, registry: string, project: string): Promise<SqitchDeployedRow[] | undefined> {
  if (!(await tableExists(client, 'changes', registry))) return undefined;
  const rows = await client.query<SqitchDeployedRow>(
    `SELECT change_id, change, script_hash, committed_at::text AS committed_at FROM ${qualifiedTable('changes', registry)} WHERE project = $1 ORDER BY committed_at, change_id`,
    [project],
  );
  return rows.rows;
}

async function readState(target: EngineTarget, project?: SqitchProject): Promise<{ state: DatabaseState; project?: SqitchProject }> {
  const read = project ?? (await readProject(target));
  if ('unreadable' in read) return { state: unreadable(read.unreadable) };
  try {
    const deployed = await withReadOnlyDatabase(target, (client) => readDeployedChanges(client, read.layout.registry, read.plan.project));
    return { state: sqitchPlanState(read.plan, read.layout, read.files, deployed), project: read };
  } catch (error) {
    return { state: unreadable(`cannot read ${read.layout.registry}.changes: ${target.scrub(error instanceof Error ? error.message : String(error))}`), project: read };
  }
}

/** `plan_command` (the user's own status command, e.g. `sqitch status`): sqitch deploys in plan order, so N deployed are the plan's first N. */
async function readStateWithCommand(target: EngineTarget, argv: readonly string[]): Promise<DatabaseState> {
  const read = await readProject(target);
  if ('unreadable' in read) return unreadable(read.unreadable);
  let run: ToolRun;
  try {
    run = await runStatusTool(target, argv, env(target));
  } catch (error) {
    return unreadable(`could not run ${argv.join(' ')}: ${target.scrub(error instanceof Error ? error.message : String(error))}`);
  }
  const status = parseSqitchStatus(run);
  if ('error' in status) return unreadable(status.error);
  const names = read.plan.changes.map((change) => change.name);
  if (status.deployed.some((name, index) => names[index] !== name)) return unreadable(`${argv.join(' ')}: the deployed changes (${status.deployed.join(', ')}) are not the start of sqitch.plan`);
  const rows = read.plan.changes.slice(0, status.deployed.length).map((change) => ({ change_id: change.changeId, change: change.name, script_hash: null, committed_at: new Date(0).toISOString() }));
  const state = sqitchPlanState(read.plan, read.layout, read.files, rows);
  return { ...state, migrations: state.migrations.map(({ applied_at: _unknown, ...entry }) => entry) };
}

function plan(target: EngineTarget): Promise<DatabaseState> {
  const argv = target.migrations.plan_command;
  return argv ? readStateWithCommand(target, argv) : readState(target).then((read) => read.state);
}

/** `--to` as sqitch reads it: a change (its newest appearance unless `name@tag`) or a tag `@tag`. */
export function toSpec(plan: SqitchPlan, to: string): string {
  if (to.startsWith('@')) {
    if (!plan.tags.some((tag) => `@${tag.name}` === to)) throw new UserError(`--to ${to}: no such tag in sqitch.plan (tags: ${plan.tags.map((t) => `@${t.name}`).join(', ') || 'none'})`);
    return to;
  }
  const change = plan.changes.find((c) => c.key === to);
  if (!change) throw new UserError(`--to ${to}: no such change in sqitch.plan (changes: ${plan.changes.map((c) => c.key).join(', ')})`);
  return changeSpec(change);
}

async function check(target: EngineTarget, signal?: AbortSignal): Promise<SqitchCheck> {
  return parseSqitchCheck(await runStatusTool(target, sqitchArgv(target, 'check'), env(target), signal));
}

function failedEntry(plan: SqitchPlan | undefined, run: ToolRun): string | undefined {
  const printed = sqitchFailedChange(run);
  if (printed === undefined) return undefined;
  return (plan ? entryNamed(plan, printed)?.key : undefined) ?? printed.split(' ')[0];
}

/** `migrations.command` unless it is the default (a deploy hands the default over as the command). */
function customCommand(target: EngineTarget): string[] | undefined {
  const command = target.migrations.command;
  if (!command) return undefined;
  const standard = sqitchDeployArgv(target.migrations.path);
  return command.length === standard.length && command.every((word, i) => word === standard[i]) ? undefined : [...command];
}

async function run(target: EngineTarget, options: RunOptions): Promise<RunOutcome> {
  const custom = customCommand(target);
  if (options.to !== undefined && custom) throw new UserError('--to cannot be combined with a custom migrations.command');
  const read = await readState(target);
  if (!read.project) throw new MigrationError(`${target.database}: ${read.state.reason ?? 'cannot read the sqitch project'}`);
  const project = read.project;
  const checked = await check(target, options.signal);
  if (checked.kind === 'error') throw new MigrationError(`${target.database}: sqitch check failed: ${checked.message}`);
  const drifted = new Set([
    ...(checked.kind === 'diverged' ? checked.changes.map((printed) => entryNamed(project.plan, printed)?.key ?? printed) : []),
    ...read.state.migrations.filter((m) => m.state === 'drifted').map((m) => m.id),
  ]);
  if (drifted.size > 0) throw new DriftError(target.database, [...drifted]);
  const before = read.state.readable ? read.state : options.before;
  const argv = custom ?? sqitchDeployArgv(target.migrations.path, ...(options.to !== undefined ? ['--to', toSpec(project.plan, options.to)] : []));
  target.log(`running ${argv.join(' ')} in ${target.containerName}`);
  const result = await runTool(target, argv, { purpose: 'apply', timeoutMs: options.timeoutMs, env: env(target), signal: options.signal });
  if (result.interrupted) return interruptedOutcome(target, argv, options.signal);
  const after = (await readState(target, project)).state;
  const failed = result.exitCode !== 0 || result.timedOut;
  const failedId = failed ? failedEntry(project.plan, result) : undefined;
  const { migrations, notes } = outcomesFromStatus(before, after, failedId);
  if (!failed) return { status: 'completed', migrations, notes };
  const error = `${failedId ? `${failedId}: ` : ''}${describeToolFailure(result, options.timeoutMs)}`;
  return { status: 'failed', migrations: migrations.map((m) => (m.outcome === 'failed' ? { ...m, error } : m)), error, notes };
}

/**
 * sqitch reverts from the newest deployed change back to (not including) `--to`: the ids chosen
 * must be the newest deployed ones. Returns the revert's `--to` (a change id, unambiguous), or
 * undefined to revert every change.
 */
export function revertTo(applied: readonly MigrationEntry[], ids: readonly string[], plan: SqitchPlan): { to?: { id: string; changeId: string } } | { refused: string } {
  const chosen = new Set(ids);
  const unknown = ids.filter((id) => !applied.some((m) => m.id === id));
  if (unknown.length > 0) return { refused: `${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not deployed` };
  const newest = applied.slice(applied.length - chosen.size).map((m) => m.id);
  const outside = newest.filter((id) => !chosen.has(id));
  if (outside.length > 0) return { refused: `sqitch reverts the newest changes first: reverting ${ids.join(', ')} also reverts ${outside.join(', ')} (choose them too, or use --steps)` };
  const keep = applied[applied.length - chosen.size - 1];
  if (!keep) return {};
  const change = plan.changes.find((c) => c.key === keep.id);
  if (!change || keep.missing_file) return { refused: `${keep.id} is deployed but not in sqitch.plan: sqitch cannot revert to it` };
  return { to: { id: keep.id, changeId: change.changeId } };
}

async function rollback(target: EngineTarget, options: RollbackOptions): Promise<RunOutcome> {
  if (!('ids' in options.selection)) throw new Error('the sqitch engine reverts the ids the rollback plan chose');
  const ids = options.selection.ids;
  const read = await readState(target);
  if (!read.project || !read.state.readable) throw new MigrationError(`${target.database}: ${read.state.reason ?? 'cannot read the sqitch project'}`);
  const project = read.project;
  if (ids.length === 0) {
    target.log('nothing to roll back: no change is deployed');
    return { status: 'completed', migrations: [], notes: [] };
  }
  const applied = read.state.migrations.filter((m) => m.state === 'applied' || m.state === 'drifted');
  const decided = revertTo(applied, ids, project.plan);
  if ('refused' in decided) throw new RefusedError(`${target.database}: cannot roll back: ${decided.refused}; nothing was rolled back`);
  const argv = sqitchArgv(target, 'revert', '-y', ...(decided.to ? ['--to', decided.to.changeId] : []));
  target.log(`reverting ${ids.join(', ')}: ${argv.join(' ')}${decided.to ? ` (${decided.to.id})` : ''} in ${target.containerName}`);
  const result = await runTool(target, argv, { purpose: 'apply', timeoutMs: options.timeoutMs, env: env(target), signal: options.signal });
  if (result.interrupted) return interruptedOutcome(target, argv, options.signal);
  const after = (await readState(target, project)).state;
  const stillApplied = new Set(after.migrations.filter((m) => m.state === 'applied' || m.state === 'drifted').map((m) => m.id));
  const failed = result.exitCode !== 0 || result.timedOut;
  const failedId = failed ? failedEntry(project.plan, result) : undefined;
  const migrations: MigrationOutcome[] = ids.map((id) => {
    if (!after.readable) return { id, outcome: id === failedId ? 'failed' : 'skipped' };
    if (!stillApplied.has(id)) return { id, outcome: 'applied' };
    return { id, outcome: id === failedId ? 'failed' : 'skipped' };
  });
  const notes = after.readable ? [] : ['the state after the revert could not be read: which changes were reverted is not known'];
  if (!failed) return { status: 'completed', migrations, notes };
  const error = `${failedId ? `${failedId}: ` : ''}${describeToolFailure(result, options.timeoutMs)}`;
  return { status: 'failed', migrations: migrations.map((m) => (m.outcome === 'failed' ? { ...m, error } : m)), error, notes };
}

export const sqitchEngine: MigrationEngine = {
  name: 'sqitch',
  builtin: false,
  plan,
  run,
  rollback,
};
