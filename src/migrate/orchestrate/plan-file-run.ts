/**
 * `orchestration.plan` applied: the state of each entry, where a rerun resumes, the MigrationPlan
 * that applies one migration per entry in the file's order (the executor runs it as it runs any
 * plan, one database run per entry, stopping at the first failure), and the error naming the line.
 * Pure: the caller reads the states and runs the plan.
 */
import { ExitCode, StagecraftError, UserError } from '../../errors.js';
import { MigrationError } from '../errors.js';
import type { MigrationEntry, RunOutcome } from '../types.js';
import type { DatabaseRunPlan, MigrationPlan } from './migration-plan.js';
import { formatPlanFileProblems, validatePlanFile } from './plan-file.js';
import type { KnownDatabase, PlanFileEntry, PlanFileProblem } from './plan-file.js';

/** A plan file as read: its entries and the problems of its lines (see parsePlanFile). */
export interface LoadedPlanFile {
  /** As shown in messages: `migrations/orchestration.plan`. */
  file: string;
  entries: PlanFileEntry[];
  problems: PlanFileProblem[];
}

/**
 * Engines that can apply one chosen migration: raw (the executor's steps) and the tools with
 * `--to`. The others apply whatever they find, so a plan file cannot order them.
 */
export const PLAN_FILE_ENGINES: readonly string[] = ['raw', 'sqitch', 'golang-migrate', 'node-pg-migrate'];

export type EntryState = 'applied' | 'pending' | 'failed' | 'drifted' | 'dirty' | 'running' | 'unknown';

export interface PlanFileEntryState {
  line: number;
  target: string;
  migration: string;
  state: EntryState;
}

/** A database's migrations as its engine read them, or undefined when its state could not be read. */
export type MigrationsOf = (database: string) => readonly MigrationEntry[] | undefined;

function stateOf(entry: MigrationEntry | undefined): EntryState {
  if (!entry) return 'unknown';
  if (entry.dirty) return 'dirty';
  if (entry.running) return 'running';
  return entry.state;
}

/** Pure: every entry with the state of its migration in its database. */
export function planFileEntryStates(entries: readonly PlanFileEntry[], migrationsOf: MigrationsOf): PlanFileEntryState[] {
  return entries.map((entry) => ({
    line: entry.line,
    target: entry.target,
    migration: entry.migration,
    state: stateOf(migrationsOf(entry.database)?.find((m) => m.id === entry.migration)),
  }));
}

/** Applied, also when its file changed since (drift refuses the run of its database on its own). */
function isApplied(state: EntryState): boolean {
  return state === 'applied' || state === 'drifted';
}

/** Pure: the index of the first entry not applied (a rerun starts there), or -1 when all are. */
export function resumeIndex(states: readonly PlanFileEntryState[]): number {
  return states.findIndex((entry) => !isApplied(entry.state));
}

/** Pure: what validatePlanFile knows of one database, from its migrations in the engine's order. */
export function knownDatabase(targets: readonly string[], migrations: readonly { id: string; depends_on?: readonly string[] | undefined; missing_file?: boolean | undefined }[]): KnownDatabase {
  const present = migrations.filter((m) => m.missing_file !== true);
  const declared = present.some((m) => (m.depends_on?.length ?? 0) > 0);
  return {
    targets: [...targets],
    migrations: present.map((m) => m.id),
    ...(declared ? { dependsOn: new Map(present.map((m) => [m.id, [...(m.depends_on ?? [])]])) } : {}),
  };
}

/** Pure: the engine problems of a plan file: a listed database whose engine cannot apply one chosen migration. */
export function enginePlanFileProblems(entries: readonly PlanFileEntry[], engineOf: (database: string) => string | undefined): PlanFileProblem[] {
  const problems: PlanFileProblem[] = [];
  const reported = new Set<string>();
  for (const entry of entries) {
    const engine = engineOf(entry.database);
    if (engine === undefined || PLAN_FILE_ENGINES.includes(engine) || reported.has(entry.database)) continue;
    reported.add(entry.database);
    problems.push({
      line: entry.line,
      message: `${entry.database}: engine ${engine} cannot apply one chosen migration (no --to), so a plan file cannot order it (engines that can: ${PLAN_FILE_ENGINES.join(', ')})`,
    });
  }
  return problems;
}

export interface OrderedPlan {
  plan: MigrationPlan;
  /** Parallel to plan.databases: the entry each database run applies (undefined: a database the file does not list). */
  entries: (PlanFileEntry | undefined)[];
  /** The entry a run starts at (null: every entry is applied). */
  resume: PlanFileEntryState | null;
}

/**
 * Pure: the plan a `migrate run` with a plan file applies. Refuses (exit 1, `file:line` each) a plan
 * file with problems; then one database run per entry not applied, in the file's order, each
 * applying that one migration (raw: the step; tool engines: `to` it), then the databases the file
 * does not list, as they would run without it.
 */
export function orderByPlanFile(planFile: LoadedPlanFile, plan: MigrationPlan, known: ReadonlyMap<string, KnownDatabase>, migrationsOf: MigrationsOf, scope?: ReadonlySet<string>): OrderedPlan {
  // A deploy phase orders its own databases' entries (scope); the file as a whole is migrate validate's.
  const inScope = scope ? planFile.entries.filter((entry) => scope.has(entry.database)) : planFile.entries;
  const engines = new Map(plan.databases.map((database) => [database.database, database.engine]));
  // A database whose state could not be read is refused as a whole later (nothing runs blind).
  const unreadable = new Set(plan.databases.filter((database) => database.unreadable !== undefined).map((database) => database.database));
  const checked = inScope.filter((entry) => !unreadable.has(entry.database));
  const problems = [...planFile.problems, ...validatePlanFile(checked, known), ...enginePlanFileProblems(inScope, (name) => engines.get(name))];
  const withTargets = inScope.find((entry) => entry.subtarget !== undefined || (known.get(entry.database)?.targets.length ?? 0) > 0);
  if (problems.length === 0 && withTargets) {
    problems.push({ line: withTargets.line, message: `${withTargets.target}: a plan file over a database with targets cannot be run yet (only databases without targets)` });
  }
  if (problems.length > 0) {
    throw new UserError(`${planFile.file} has ${problems.length} problem(s); nothing was run:\n  ${formatPlanFileProblems(planFile.file, problems.sort((a, b) => a.line - b.line)).join('\n  ')}`);
  }
  const states = planFileEntryStates(inScope, migrationsOf);
  const byDatabase = new Map(plan.databases.map((database) => [database.database, database]));
  const databases: DatabaseRunPlan[] = [];
  const entries: (PlanFileEntry | undefined)[] = [];
  inScope.forEach((entry, index) => {
    if (isApplied(states[index]!.state)) return;
    const databasePlan = byDatabase.get(entry.database)!;
    const step = databasePlan.steps?.find((s) => s.id === entry.migration);
    // Not this run's to apply (a deploy phase's share of a split database); a blocked database still goes to its engine to refuse.
    if (databasePlan.steps !== null && !step && databasePlan.blocked === undefined) return;
    const steps = databasePlan.steps === null ? null : step ? [step] : [];
    databases.push({ ...databasePlan, steps, ...(databasePlan.engine === 'raw' ? {} : { to: entry.migration }), notes: [...databasePlan.notes, `${planFile.file}:${entry.line}`] });
    entries.push(entry);
  });
  const listed = new Set(inScope.map((entry) => entry.database));
  for (const databasePlan of plan.databases) {
    if (listed.has(databasePlan.database)) continue;
    databases.push(databasePlan);
    entries.push(undefined);
  }
  const resume = resumeIndex(states);
  return { plan: { ...plan, databases }, entries, resume: resume < 0 ? null : states[resume]! };
}

/** `main: ` / `0002_subscriber.sql: ` at the start of an engine's message, already said by the caller. */
function withoutPrefix(message: string, ...prefixes: string[]): string {
  let text = message;
  for (const prefix of prefixes) if (text.startsWith(`${prefix}: `)) text = text.slice(prefix.length + 2);
  return text;
}

export interface EntryRun {
  outcome: RunOutcome;
  failure?: StagecraftError | undefined;
}

/**
 * Pure: the error a plan-file run exits with when run `index` of the ordered plan failed:
 * `migrations/orchestration.plan:3: replica: 0002_subscriber failed: …` (exit 4; a refusal keeps its
 * own exit code, e.g. a lock timeout's).
 */
export function planFileFailure(file: string, entry: PlanFileEntry | undefined, run: EntryRun, database: string): StagecraftError {
  const failed = run.outcome.migrations.find((m) => m.outcome === 'failed');
  const reason = withoutPrefix(failed?.error ?? run.outcome.error ?? run.failure?.message ?? 'failed', database, ...(entry ? [entry.migration] : []));
  const hint = `entries before it stay applied and the ones after it were not run; fix it and run \`stagecraft migrate run\` again: it resumes at ${entry ? `line ${entry.line}` : 'the first entry not applied'}`;
  if (!entry) return run.failure ?? new MigrationError(`${database}: ${reason}`);
  const message = `${file}:${entry.line}: ${entry.target}: ${entry.migration} failed: ${reason}`;
  if (run.failure && run.failure.exitCode !== ExitCode.migration) return new StagecraftError(message, run.failure.exitCode, { hint });
  return new MigrationError(message, { hint });
}
