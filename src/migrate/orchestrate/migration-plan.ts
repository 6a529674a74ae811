/**
 * The MigrationPlan: what `migrate run`, `migrate rollback` and deploy's migrate phases will apply,
 * as plain data computed by pure functions from the state each engine read. `--dry-run` prints it,
 * `--json` prints it as JSON, and the executor (execute.ts) applies exactly its steps.
 */
import type { MigrationStrategy } from '../../config/index.js';
import { RefusedError, UserError } from '../../errors.js';
import { rollbackSet } from '../graph/rollback-set.js';
import type { RollbackSelection } from '../graph/rollback-set.js';
import type { RiskLevel } from '../raw/dependencies.js';
import type { DatabaseState, MigrationEntry } from '../types.js';
import { pendingOf } from '../types.js';

export type StepDirection = 'up' | 'down';
/** The deploy phase that migrates a database, or `manual` (only `migrate run` applies it). */
export type MigrationPhase = 'migrate_pre' | 'migrate_post' | 'manual';

export interface MigrationStep {
  id: string;
  direction: StepDirection;
  phase: MigrationPhase;
  /** Raw: the migration's file (its up file). */
  file?: string;
  depends_on: string[];
  /** Raw: sha256 of the file; null where the tool keeps its own checksums. */
  checksum: string | null;
  /** From dependencies.json; null when not given. */
  risk_level: RiskLevel | null;
  description?: string;
  affects_tables?: string[];
  estimated_duration?: string;
  /** It failed before and runs again. */
  retry?: true;
  /** Raw: what the risk lint found in the file (see src/migrate/risk), not accepted… */
  findings?: StepFinding[];
  /** …and accepted by `-- stagecraft:allow RULE reason`. */
  accepted?: (StepFinding & { reason: string })[];
}

export interface StepFinding {
  rule: string;
  class: 'destructive' | 'incompatible' | 'locking';
  line: number;
  message: string;
  fix: string;
}

export interface DatabaseRunPlan {
  database: string;
  engine: string;
  strategy: MigrationStrategy;
  phase: MigrationPhase;
  direction: StepDirection;
  /** In the order they apply; null when the engine cannot tell what it would apply. */
  steps: MigrationStep[] | null;
  /** Why nothing runs and the run refuses (drift, a dirty migration); exit 4. */
  blocked?: string;
  /** Why the state could not be read. */
  unreadable?: string;
  /** Tool engines: apply up to and including this id (a plan file's entry); overrides the plan's `to`. */
  to?: string;
  notes: string[];
}

export interface MigrationPlan {
  kind: 'run' | 'rollback';
  service: string;
  environment: string;
  /** App image container engines run in; null when none is needed or known. */
  image: string | null;
  /** `--to`: apply up to and including this id (run), or revert everything after it (rollback). */
  to?: string;
  databases: DatabaseRunPlan[];
  /** Steps that apply a migration marked `risk_level: high`: flagged before anything runs. */
  high_risk: { database: string; id: string; description?: string }[];
}

export function phaseOf(strategy: MigrationStrategy): MigrationPhase {
  return strategy === 'pre_deploy' ? 'migrate_pre' : strategy === 'post_deploy' ? 'migrate_post' : 'manual';
}

function stepOf(entry: MigrationEntry, direction: StepDirection, phase: MigrationPhase): MigrationStep {
  const metadata = entry.metadata ?? {};
  return {
    id: entry.id,
    direction,
    phase,
    ...(entry.file !== undefined ? { file: entry.file } : {}),
    depends_on: entry.depends_on ?? [],
    checksum: entry.checksum ?? null,
    risk_level: metadata.risk_level ?? null,
    ...(metadata.description !== undefined ? { description: metadata.description } : {}),
    ...(metadata.affects_tables !== undefined ? { affects_tables: metadata.affects_tables } : {}),
    ...(metadata.estimated_duration !== undefined ? { estimated_duration: metadata.estimated_duration } : {}),
    ...(direction === 'up' && entry.state === 'failed' ? { retry: true as const } : {}),
  };
}

/** Why a run of this database refuses, from its state: drift or a dirty migration. */
export function blockedReason(database: string, environment: string | undefined, state: DatabaseState): string | undefined {
  const drifted = state.migrations.filter((m) => m.state === 'drifted');
  const dirty = state.migrations.filter((m) => m.dirty);
  const reasons = [
    ...(drifted.length > 0 ? [`drift: ${drifted.map((m) => m.file ?? m.id).join(', ')} changed after being applied; a run refuses`] : []),
    ...(dirty.length > 0
      ? [`dirty: ${dirty.map((m) => m.id).join(', ')} left running by a process that died; a run refuses until \`stagecraft migrate resolve${environment ? ` --env ${environment}` : ''} --database ${database} ID --applied|--rolled-back\``]
      : []),
  ];
  return reasons.length > 0 ? reasons.join('; ') : undefined;
}

export interface DatabaseInput {
  database: string;
  engine: string;
  strategy: MigrationStrategy;
  /** The state its engine read (read-only). */
  state: DatabaseState;
}

/** Pure: what a run applies to one database: its pending (and failed) migrations, up to `to`. */
export interface RunPlanOptions {
  to?: string | undefined;
  /** The deploy phase this plan is for (default: the strategy's). */
  phase?: MigrationPhase;
  /** A deploy's share of a split database: all but the post-deploy migrations (`pre`), or only them (`post`). */
  only?: 'pre' | 'post' | undefined;
}

/** The phase a migration runs in: a post-deploy one of a pre_deploy database goes after the rollout. */
function stepPhase(entry: MigrationEntry, phase: MigrationPhase): MigrationPhase {
  return phase === 'migrate_pre' && entry.post_deploy ? 'migrate_post' : phase;
}

export function planDatabaseRun(input: DatabaseInput, environment: string, options: RunPlanOptions = {}): DatabaseRunPlan {
  const { database, engine, strategy, state } = input;
  const phase = options.phase ?? phaseOf(strategy);
  const head = { database, engine, strategy, phase, direction: 'up' as const, notes: [...state.notes] };
  if (!state.readable) return { ...head, steps: null, unreadable: state.reason ?? 'the status could not be read' };
  const blocked = blockedReason(database, environment, state);
  if (blocked) return { ...head, steps: [], blocked };
  if (!state.pending_known) return { ...head, steps: null, notes: [...head.notes, `${engine} cannot list pending migrations: the tool applies whatever it finds`] };
  let pending = pendingOf(state);
  if (options.to !== undefined) {
    const index = state.migrations.findIndex((m) => m.id === options.to || m.file === options.to || m.tags?.includes(options.to!) === true);
    if (index < 0) throw new UserError(`--to ${options.to}: no such migration in ${database} (migrations: ${state.migrations.map((m) => m.id).join(', ') || 'none'})`);
    const upTo = new Set(state.migrations.slice(0, index + 1).map((m) => m.id));
    pending = pending.filter((m) => upTo.has(m.id));
  }
  if (options.only !== undefined) pending = pending.filter((m) => (m.post_deploy === true) === (options.only === 'post'));
  return { ...head, steps: pending.map((entry) => stepOf(entry, 'up', options.phase ?? stepPhase(entry, phase))) };
}

/**
 * Pure: what a rollback reverts in one database, newest first in reverse dependency order.
 * Refuses (exit 2) when an applied migration outside the set depends on one inside it, unless
 * `cascade` adds the dependents; names unknown ids (exit 1).
 */
export function planDatabaseRollback(input: DatabaseInput, environment: string, selection: RollbackSelection, cascade: boolean): DatabaseRunPlan {
  const { database, engine, strategy, state } = input;
  const head = { database, engine, strategy, phase: phaseOf(strategy), direction: 'down' as const, notes: [...state.notes] };
  if (!state.readable) return { ...head, steps: null, unreadable: state.reason ?? 'the status could not be read' };
  const dirty = state.migrations.filter((m) => m.dirty);
  if (dirty.length > 0) return { ...head, steps: [], blocked: blockedReason(database, environment, { ...state, migrations: dirty })! };
  // Applied, in the order they applied (a file-less applied row depends on nothing we know of).
  const applied = state.migrations.filter((m) => m.state === 'applied' || m.state === 'drifted');
  const set = rollbackSet(applied.map((m) => ({ id: m.id, dependsOn: m.depends_on ?? [] })), selection, cascade);
  if (!set.ok && 'unknown' in set) {
    throw new UserError(`${database}: ${set.unknown.join(', ')} ${set.unknown.length === 1 ? 'is' : 'are'} not applied; applied: ${applied.map((m) => m.id).join(', ') || 'none'}`);
  }
  if (!set.ok) {
    throw new RefusedError(
      `${database}: cannot roll back: ${set.dependents.map(({ id, dependent }) => `${dependent} (applied) depends on ${id}`).join('; ')}; nothing was rolled back`,
      { hint: 'roll those back too (--cascade adds every dependent), or leave them' },
    );
  }
  const byId = new Map(applied.map((m) => [m.id, m]));
  const steps = set.revert.map((id) => stepOf(byId.get(id)!, 'down', head.phase));
  const drifted = steps.filter((step) => byId.get(step.id)!.state === 'drifted');
  const noDown = engine === 'raw' ? steps.filter((step) => byId.get(step.id)!.down_file === undefined) : [];
  const blocked = [
    ...(noDown.length > 0 ? [`${noDown.map((s) => `${s.id}.down.sql`).join(', ')} missing; a rollback refuses`] : []),
    ...(drifted.length > 0 ? [`drift: ${drifted.map((s) => s.file ?? s.id).join(', ')} changed after being applied; a rollback refuses`] : []),
  ];
  return {
    ...head,
    steps,
    ...(blocked.length > 0 ? { blocked: blocked.join('; ') } : {}),
    notes: [...head.notes, ...(set.cascaded.length > 0 ? [`--cascade added ${set.cascaded.join(', ')}`] : [])],
  };
}

/** Pure: the plan of an environment from its databases' plans, with the high-risk steps flagged. */
export function assembleMigrationPlan(
  head: { kind: MigrationPlan['kind']; service: string; environment: string; image: string | null; to?: string | undefined },
  databases: DatabaseRunPlan[],
): MigrationPlan {
  const high_risk = databases.flatMap((plan) =>
    (plan.steps ?? [])
      .filter((step) => step.direction === 'up' && step.risk_level === 'high')
      .map((step) => ({ database: plan.database, id: step.id, ...(step.description !== undefined ? { description: step.description } : {}) })),
  );
  return {
    kind: head.kind,
    service: head.service,
    environment: head.environment,
    image: head.image,
    ...(head.to !== undefined ? { to: head.to } : {}),
    databases,
    high_risk,
  };
}
