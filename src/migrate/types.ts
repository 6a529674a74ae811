/**
 * The engine interface: every migration tool (the built-in raw SQL runner and the tools run in a
 * container of the app image) reads a database's real state with `plan()` and applies with `run()`.
 */
import type { MigrationEngine as EngineName } from '../config/index.js';
import type { EngineSettings } from './engine-commands.js';
import type { Host } from '../remote/host.js';
import type { RegistryAuth } from '../remote/docker-ops.js';
import type { RollbackSelection } from './graph/rollback-set.js';
import type { MigrationMetadata } from './raw/dependencies.js';
import type { StepFinding } from './orchestrate/migration-plan.js';

export const MIGRATION_STATES = ['applied', 'pending', 'failed', 'drifted'] as const;
export type MigrationState = (typeof MIGRATION_STATES)[number];

export interface MigrationEntry {
  id: string;
  state: MigrationState;
  /** The file it comes from, where the engine knows it (raw). */
  file?: string;
  applied_at?: string;
  duration_ms?: number;
  /** Why it failed, or what drifted. */
  error?: string;
  /** An applied migration whose file is gone (raw). */
  missing_file?: boolean;
  /**
   * Raw: left `running` by a process that died while nobody holds the migration lock; whether it
   * applied is unknown until `migrate resolve` records what the operator checked.
   */
  dirty?: boolean;
  /** Raw: being applied right now by the session holding the migration lock. */
  running?: boolean;
  /** Raw: sha256 of the file as it is now (sqitch: SHA-1 of the deploy script, as sqitch hashes it). */
  checksum?: string;
  /** sqitch: the plan's tags on this change (`@v1.0`); `--to @v1.0` applies up to it. */
  tags?: string[];
  /** Raw: the file that reverts it, when there is one. */
  down_file?: string;
  /** Raw: marked post-deploy (or under post/): a deploy applies it after the rollout. */
  post_deploy?: true;
  /** Raw: ids this migration needs applied first (only when it declares any). */
  depends_on?: string[];
  /** Raw: description, affected tables, risk level, estimated duration (only when given). */
  metadata?: MigrationMetadata;
  /** Raw, in `migrate plan`: the risk lint's findings in the file (not accepted / accepted with a reason). */
  findings?: StepFinding[];
  accepted?: (StepFinding & { reason: string })[];
}

/** What `plan()` read from the database. */
export interface DatabaseState {
  /** False when the engine could not read the status; `reason` says why, and nothing is guessed. */
  readable: boolean;
  reason?: string;
  migrations: MigrationEntry[];
  /** Applied migrations, also when the tool reports only a count (prisma). */
  applied_count: number;
  /** False when the tool cannot list pending migrations (golang-migrate): pending is unknown, not zero. */
  pending_known: boolean;
  /** Raw: some migration is dirty (see MigrationEntry.dirty): runs refuse until it is resolved. */
  dirty?: boolean;
  notes: string[];
}

export type MigrationOutcomeKind = 'applied' | 'skipped' | 'failed';

export interface MigrationOutcome {
  id: string;
  outcome: MigrationOutcomeKind;
  duration_ms?: number;
  error?: string;
}

export interface RunOutcome {
  status: 'completed' | 'failed';
  /** Per migration, in order: what ran, what failed, what was left for later. */
  migrations: MigrationOutcome[];
  /** Set when status is failed; names the migration when the engine knows it. */
  error?: string;
  notes: string[];
}

/** Everything an engine needs to reach one database. */
export interface EngineTarget {
  /** Key under `databases:`. */
  database: string;
  /** Name under `databases.X.targets` when the database has several targets. */
  target?: string | undefined;
  /**
   * What results, logs and maps are keyed by: `main/tenant_a` for a target, else the database
   * (unset where targets are built by hand: read it with `targetKey`).
   */
  key?: string | undefined;
  migrations: EngineSettings;
  /** Connection URL as the hosts see it (secret). */
  url: string;
  /** Directory of stagecraft.yml: `migrations.path` is relative to it. */
  configDir: string;
  service: string;
  environment: string;
  actor: string;
  /** The primary host: migrations run on it or are tunnelled through it. */
  host: () => Promise<Host>;
  /** App image for container engines, or why there is none. */
  image: { ref: string } | { missing: string };
  /** False when the image is already on the (local) host and there is no registry to pull from. */
  pullImage?: boolean;
  registryAuth?: RegistryAuth | undefined;
  /** Environment of one-off containers (the app's env); DATABASE_URL is added per database. */
  appEnv: Readonly<Record<string, string>>;
  /** Name for apply containers (deploy: `<service>-migrate-<db>-<version>`). */
  containerName: string;
  /** The deploy's release id when a deploy migrates (recorded by the raw engine); unset for `migrate run`. */
  releaseId?: string | undefined;
  /**
   * Where a key of this database's `migrations` is in stagecraft.yml, for engine-specific config
   * errors found against the image (unset where no config file is at hand, e.g. a deploy's executor).
   */
  settingPosition?: ((key: string) => { file: string; line: number; col: number }) | undefined;
  /**
   * Where tool engines' plans read the migration files: the app image (default), or the project's
   * own files under `configDir` (the deploy guard, which decides before the image is built).
   */
  migrationFiles?: 'image' | 'project' | undefined;
  /** Tool output and progress lines, already scrubbed of secrets by the caller's sink. */
  log: (line: string) => void;
  scrub: (text: string) => string;
}

export interface RunOptions {
  /** Apply up to and including this migration id. */
  to?: string | undefined;
  /**
   * The plan's steps: apply exactly these ids, in this order (raw). Ids applied meanwhile are
   * skipped and pending ones the plan did not list are left alone, both with a note.
   */
  steps?: readonly string[] | undefined;
  /** The state the plan was read from: tool engines use it as the status before the run. */
  before?: DatabaseState | undefined;
  lockTimeoutMs: number;
  timeoutMs: number;
  /**
   * Aborted by SIGINT/SIGTERM: the engine stops what runs (raw: the statement is cancelled and its
   * transaction rolled back; tools: the container is stopped and removed), runs nothing more, and
   * returns a `failed` outcome saying so.
   */
  signal?: AbortSignal | undefined;
}

export interface RollbackOptions {
  /** Which applied migrations: the newest N, everything after an id, or named ids. */
  selection: RollbackSelection;
  /** Add the applied migrations that depend on the selected ones instead of refusing. */
  cascade?: boolean;
  lockTimeoutMs: number;
  timeoutMs: number;
  /** As for `run`. */
  signal?: AbortSignal | undefined;
}

export interface MigrationEngine {
  readonly name: EngineName;
  /** True for engines stagecraft runs itself (no image needed). */
  readonly builtin: boolean;
  /** Reads the real state. Read-only: takes no lock and writes nothing. */
  plan(target: EngineTarget): Promise<DatabaseState>;
  /** Applies pending migrations; a failed statement is always reported as `failed`, never success. */
  run(target: EngineTarget, options: RunOptions): Promise<RunOutcome>;
  /** Reverts the newest applied migrations (engines that support it). */
  rollback?(target: EngineTarget, options: RollbackOptions): Promise<RunOutcome>;
  /** Engines without `rollback`: why, and what to do instead (printed when `migrate rollback` refuses). */
  readonly noRollback?: string;
}

/** A state read in full: every migration listed, the applied ones counted. */
export function readableState(migrations: MigrationEntry[], notes: string[] = []): DatabaseState {
  return {
    readable: true,
    migrations,
    applied_count: migrations.filter((m) => m.state === 'applied' || m.state === 'drifted').length,
    pending_known: true,
    notes,
  };
}

export function unreadable(reason: string, notes: string[] = []): DatabaseState {
  return { readable: false, reason, migrations: [], applied_count: 0, pending_known: false, notes };
}

/** `main/tenant_a` for a target, `main` for a database without targets. */
export function targetKey(target: Pick<EngineTarget, 'database' | 'target' | 'key'>): string {
  return target.key ?? (target.target === undefined ? target.database : `${target.database}/${target.target}`);
}

export function pendingOf(state: DatabaseState): MigrationEntry[] {
  return state.migrations.filter((m) => m.state === 'pending' || (m.state === 'failed' && m.dirty !== true && m.running !== true));
}
