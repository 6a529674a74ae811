/**
 * A deploy's migrate phase with `orchestration.plan`: the phase's databases' entries, in the file's
 * order (entries of databases the other phase migrates wait for it: a deploy cannot interleave
 * across the rollout), and the phase failure naming the file's line.
 */
import type { LoadedConfig } from '../config/index.js';
import { StagecraftError } from '../errors.js';
import type { ExitCode } from '../errors.js';
import { readPlanFile, targetNames } from '../migrate/orchestrate/plan-file-load.js';
import type { DatabaseRun } from '../migrate/orchestrate/execute.js';
import type { MigrationPlan } from '../migrate/orchestrate/migration-plan.js';
import type { KnownDatabase } from '../migrate/orchestrate/plan-file.js';
import { knownDatabase, orderByPlanFile, planFileFailure } from '../migrate/orchestrate/plan-file-run.js';
import type { LoadedPlanFile, OrderedPlan } from '../migrate/orchestrate/plan-file-run.js';
import type { ReadState } from '../migrate/orchestrate/read-states.js';

export interface DeployPlanFile {
  planFile: LoadedPlanFile;
  /** `databases.X.targets`' names. */
  targets: (database: string) => string[];
}

/** The phase's plan reordered by the file, or a StagecraftError (exit 1) naming its problems. */
export function orderPhaseByPlanFile(deploy: DeployPlanFile, plan: MigrationPlan, states: ReadonlyMap<string, ReadState>): OrderedPlan | StagecraftError {
  const known = new Map<string, KnownDatabase>();
  for (const [database, read] of states) if (read.state.readable) known.set(database, knownDatabase(deploy.targets(database), read.state.migrations));
  const migrationsOf = (name: string) => {
    const read = states.get(name);
    return read?.state.readable ? read.state.migrations : undefined;
  };
  try {
    return orderByPlanFile(deploy.planFile, plan, known, migrationsOf, new Set(plan.databases.map((database) => database.database)));
  } catch (error) {
    if (error instanceof StagecraftError) return error;
    throw error;
  }
}

/** The failed run's error naming its plan-file line: message and exit code for the PhaseFailure. */
export function phaseFailureOf(deploy: DeployPlanFile, ordered: OrderedPlan, runs: readonly DatabaseRun[], failed: DatabaseRun): { message: string; exitCode: ExitCode } {
  const error = planFileFailure(deploy.planFile.file, ordered.entries[runs.indexOf(failed)], failed, failed.plan.database);
  return { message: error.message, exitCode: error.exitCode };
}

/** The deploy's plan file, when stagecraft.yml sets one. */
export async function deployPlanFile(loaded: LoadedConfig): Promise<DeployPlanFile | undefined> {
  const planFile = await readPlanFile(loaded);
  return planFile ? { planFile, targets: (database) => targetNames(loaded, database) } : undefined;
}
