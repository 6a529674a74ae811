/**
 * `migrate plan`: for each database, its real state (read by its engine) and what a deploy would
 * do with it: which phase runs it, which migrations would run, or why it would refuse.
 */
import type { MigrationStrategy } from '../config/index.js';
import type { DatabaseState, EngineTarget, MigrationEntry } from './types.js';
import { pendingOf, targetKey } from './types.js';
import { readStates } from './orchestrate/read-states.js';
import { blockedReason } from './orchestrate/migration-plan.js';

export type DeployPhase = 'migrate_pre' | 'migrate_post';

export interface DatabasePlan {
  database: string;
  engine: string;
  strategy: MigrationStrategy;
  /** The deploy phase that migrates this database; null for strategy manual. */
  deploy_phase: DeployPhase | null;
  readable: boolean;
  /** Why the status could not be read. */
  reason?: string;
  applied_count: number;
  /** null when the engine cannot list pending migrations. */
  pending_count: number | null;
  migrations: MigrationEntry[];
  /** What the next run would apply (pending, and failed ones retried), in order. */
  would_run: string[];
  /** Set when a run would refuse (drift, dirty). */
  blocked?: string;
  /** Raw: a migration was left running by a process that died; runs refuse until `migrate resolve`. */
  dirty?: boolean;
  /** Reading the state failed (database unreachable, bad migrations directory): `migrate plan` exits 4. */
  read_error?: boolean;
  notes: string[];
}

export interface MigratePlan {
  service: string;
  environment: string;
  /** App image container engines read the status with; null when there is none. */
  image: string | null;
  image_note?: string;
  databases: DatabasePlan[];
  /** Pending migrations marked `risk_level: high`, flagged before a run or deploy applies them. */
  high_risk: { database: string; id: string; description?: string }[];
  deploy: {
    migrate_pre: { database: string; would_run: string[] | null }[];
    migrate_post: { database: string; would_run: string[] | null }[];
    not_run: { database: string; reason: string }[];
  };
}

export function deployPhaseOf(strategy: MigrationStrategy): DeployPhase | null {
  return strategy === 'pre_deploy' ? 'migrate_pre' : strategy === 'post_deploy' ? 'migrate_post' : null;
}

/** Pure: the plan of one database from the state its engine read. */
export function databasePlan(database: string, engine: string, strategy: MigrationStrategy, state: DatabaseState, environment?: string): DatabasePlan {
  const pending = state.migrations.filter((m) => m.state === 'pending').length;
  const dirty = state.migrations.filter((m) => m.dirty);
  const blocked = blockedReason(database, environment, state);
  return {
    database,
    engine,
    strategy,
    deploy_phase: deployPhaseOf(strategy),
    readable: state.readable,
    ...(state.reason !== undefined ? { reason: state.reason } : {}),
    applied_count: state.applied_count,
    pending_count: state.readable && state.pending_known ? pending : null,
    migrations: state.migrations,
    would_run: blocked ? [] : pendingOf(state).map((m) => m.id),
    ...(blocked ? { blocked } : {}),
    ...(dirty.length > 0 ? { dirty: true } : {}),
    notes: state.notes,
  };
}

/** Pure: assembles the per-database plans into the environment's plan. */
export function assemblePlan(
  head: { service: string; environment: string; image: string | null; image_note?: string | undefined },
  databases: DatabasePlan[],
): MigratePlan {
  const wouldRun = (plan: DatabasePlan) => (plan.readable && plan.pending_count !== null ? plan.would_run : null);
  return {
    service: head.service,
    environment: head.environment,
    image: head.image,
    ...(head.image_note !== undefined ? { image_note: head.image_note } : {}),
    databases,
    high_risk: databases.flatMap((database) =>
      database.migrations
        .filter((m) => m.metadata?.risk_level === 'high' && database.would_run.includes(m.id))
        .map((m) => ({ database: database.database, id: m.id, ...(m.metadata?.description !== undefined ? { description: m.metadata.description } : {}) })),
    ),
    deploy: {
      migrate_pre: databases.filter((d) => d.deploy_phase === 'migrate_pre').map((d) => ({ database: d.database, would_run: wouldRun(d) })),
      migrate_post: databases.filter((d) => d.deploy_phase === 'migrate_post').map((d) => ({ database: d.database, would_run: wouldRun(d) })),
      not_run: databases
        .filter((d) => d.deploy_phase === null)
        .map((d) => ({ database: d.database, reason: `strategy manual: run it with \`stagecraft migrate run --database ${d.database}\`` })),
    },
  };
}

/** Reads every target's state into its plan; an unreadable database is reported, not thrown. */
export async function readDatabasePlans(targets: readonly { target: EngineTarget; strategy: MigrationStrategy }[]): Promise<DatabasePlan[]> {
  const states = await readStates(targets.map(({ target }) => target));
  return targets.map(({ target, strategy }) => {
    const { state, read_error } = states.get(targetKey(target))!;
    return { ...databasePlan(targetKey(target), target.migrations.engine, strategy, state, target.environment), ...(read_error ? { read_error } : {}) };
  });
}
