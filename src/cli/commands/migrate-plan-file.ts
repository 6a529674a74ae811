/** The plan file (`orchestration.plan`) in `migrate validate`, `migrate plan` and `migrate run`: the hooks' bodies. */
import type { LoadedConfig } from '../../config/index.js';
import type { DatabasePlan } from '../../migrate/plan.js';
import type { MigrationPlan } from '../../migrate/orchestrate/migration-plan.js';
import type { ReadState } from '../../migrate/orchestrate/read-states.js';
import { formatPlanFileProblems, validatePlanFile } from '../../migrate/orchestrate/plan-file.js';
import type { KnownDatabase } from '../../migrate/orchestrate/plan-file.js';
import { enginePlanFileProblems, knownDatabase, orderByPlanFile, planFileEntryStates, resumeIndex } from '../../migrate/orchestrate/plan-file-run.js';
import type { LoadedPlanFile, OrderedPlan, PlanFileEntryState } from '../../migrate/orchestrate/plan-file-run.js';
import { knownRawDatabases, targetNames } from '../../migrate/orchestrate/plan-file-load.js';

export interface PlanFileValidation {
  file: string;
  /** `file:line: message`, in line order. */
  problems: string[];
  /** Databases whose entries were not checked, and why. */
  unchecked: { database: string; reason: string }[];
}

/** `migrate validate`: the plan file's problems with file:line (offline: raw databases' files). */
export async function validateConfiguredPlanFile(loaded: LoadedConfig, planFile: LoadedPlanFile): Promise<PlanFileValidation> {
  const databases = Object.keys(loaded.config.databases);
  const { known, unchecked } = await knownRawDatabases(loaded, databases);
  const checked = planFile.entries.filter((entry) => !unchecked.has(entry.database));
  const problems = [
    ...planFile.problems,
    ...validatePlanFile(checked, known),
    ...enginePlanFileProblems(planFile.entries, (name) => loaded.config.databases[name]?.migrations.engine),
  ].sort((a, b) => a.line - b.line);
  const listed = new Set(planFile.entries.map((entry) => entry.database));
  return {
    file: planFile.file,
    problems: formatPlanFileProblems(planFile.file, problems),
    unchecked: [...unchecked].filter(([database]) => listed.has(database)).map(([database, reason]) => ({ database, reason })),
  };
}

/** `migrate plan`: the entries in the file's order with their state. */
export interface PlanFileListing {
  file: string;
  entries: PlanFileEntryState[];
  /** The line a run starts at (null: all applied). */
  resume_line: number | null;
  problems: string[];
}

export function listPlanFile(planFile: LoadedPlanFile, databases: readonly DatabasePlan[], loaded: LoadedConfig): PlanFileListing {
  const byDatabase = new Map(databases.map((database) => [database.database, database]));
  const migrationsOf = (name: string) => {
    const database = byDatabase.get(name);
    return database?.readable ? database.migrations : undefined;
  };
  const known = new Map<string, KnownDatabase>();
  for (const database of databases) if (database.readable) known.set(database.database, knownDatabase(targetNames(loaded, database.database), database.migrations));
  const entries = planFileEntryStates(planFile.entries, migrationsOf);
  const resume = resumeIndex(entries);
  const problems = [...planFile.problems, ...validatePlanFile(planFile.entries.filter((e) => known.has(e.database) || !byDatabase.has(e.database)), known), ...enginePlanFileProblems(planFile.entries, (name) => byDatabase.get(name)?.engine)];
  return { file: planFile.file, entries, resume_line: resume < 0 ? null : entries[resume]!.line, problems: formatPlanFileProblems(planFile.file, problems.sort((a, b) => a.line - b.line)) };
}

export function formatPlanFileListing(listing: PlanFileListing): string {
  const width = Math.max(0, ...listing.entries.map((entry) => `${entry.target}:${entry.migration}`.length));
  const lines = [`${listing.file} (${listing.entries.length} entr${listing.entries.length === 1 ? 'y' : 'ies'}, in this order):`];
  for (const entry of listing.entries) {
    const here = entry.line === listing.resume_line ? '  <- a run starts here' : '';
    lines.push(`  ${String(entry.line).padStart(4)}  ${`${entry.target}:${entry.migration}`.padEnd(width)}  ${entry.state}${here}`);
  }
  if (listing.entries.length > 0 && listing.resume_line === null) lines.push('  every entry is applied');
  for (const problem of listing.problems) lines.push(`  problem: ${problem}`);
  return lines.join('\n');
}

/** `migrate run`: the plan reordered by the file (see orderByPlanFile), from the states just read. */
export function orderRunByPlanFile(planFile: LoadedPlanFile, plan: MigrationPlan, states: ReadonlyMap<string, ReadState>, loaded: LoadedConfig): OrderedPlan {
  const known = new Map<string, KnownDatabase>();
  for (const [database, read] of states) if (read.state.readable) known.set(database, knownDatabase(targetNames(loaded, database), read.state.migrations));
  const migrationsOf = (name: string) => {
    const read = states.get(name);
    return read?.state.readable ? read.state.migrations : undefined;
  };
  return orderByPlanFile(planFile, plan, known, migrationsOf);
}
