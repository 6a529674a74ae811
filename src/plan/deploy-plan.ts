/**
 * The deploy plan: everything `deploy` or `rollback` will do, as plain data, computed by pure
 * functions from the resolved config. `--dry-run` prints it; the executor in apply/ walks it.
 */
import type { BackupSpec } from '../migrate/backup.js';

export const PHASES = ['build', 'push', 'migrate_pre', 'rollout', 'migrate_post', 'finalize'] as const;
export type PhaseName = (typeof PHASES)[number];

export interface PlannedBuild {
  context: string;
  dockerfile: string;
  args: Record<string, string>;
  target?: string | undefined;
  labels: Record<string, string>;
}

export interface PlannedMigration {
  database: string;
  engine: string;
  strategy: 'pre_deploy' | 'post_deploy';
  host: string;
  container: string;
  /** What applies the migrations in the container (`[]` for raw, which stagecraft applies itself). */
  command: string[];
  timeout_ms: number;
  /** migrations.path (raw: the SQL files, relative to stagecraft.yml). */
  path?: string | undefined;
  /** Overrides the engine's status command (container engines). */
  plan_command?: string[] | undefined;
  /** The tool's bookkeeping table when migrations.table moves it (tool engines' plans read it). */
  table?: string | undefined;
  /** raw: how long to wait for the migration advisory lock. */
  lock_timeout_ms?: number | undefined;
  /** raw: PostgreSQL lock_timeout while migrating, and how often a migration that hit it is retried. */
  statement_lock_timeout_ms?: number | undefined;
  lock_retries?: number | undefined;
  /**
   * raw, pre_deploy database: `pre` in migrate_pre applies all but the migrations marked post-deploy
   * (`-- stagecraft:post-deploy`, or under post/); `post` in migrate_post applies only those.
   */
  only?: 'pre' | 'post' | undefined;
  /** `databases.X.backup`: run before the phase's migrations of this database when they call for it. */
  backup?: BackupSpec | undefined;
}

/** How a role's new container proves it works before it replaces the old one. */
export type PlannedHealth =
  | { kind: 'http' }
  | { kind: 'running'; min_running_ms: number }
  | { kind: 'command'; cmd: string[]; interval_ms: number; timeout_ms: number };

/** One role's container on a host: web behind the proxy, other roles (workers) without it. */
export interface PlannedRole {
  role: string;
  container: string;
  proxy: boolean;
  /** Replaces the image's CMD. */
  cmd?: string[] | undefined;
  /** Added to the app's environment (non-secret: written in stagecraft.yml as plain values or ${VAR}s already resolved — never printed). */
  env_keys: string[];
  health: PlannedHealth;
}

export interface PlannedHostRollout {
  address: string;
  /** The web container when the host runs web, else its first role's (what the host record names). */
  container: string;
  roles: PlannedRole[];
}

export interface PlannedRollout {
  strategy: 'all' | 'rolling' | 'canary';
  /** False when every host is this machine and there is no registry: the built image is used as is. */
  pull_images: boolean;
  /** Hosts are staged and switched batch by batch; hosts within a batch run in parallel. */
  batches: PlannedHostRollout[][];
  max_parallel: number;
  network: string;
  proxy: { container: string; image: string; port: number; app_port: number };
  healthcheck: { path: string; interval_ms: number; timeout_ms: number };
  drain_ms: number;
  retain: number;
}

export type PlannedPhase =
  | { name: 'build'; skip?: string; build?: PlannedBuild }
  | { name: 'push'; skip?: string; registry?: string }
  | { name: 'migrate_pre' | 'migrate_post'; skip?: string; migrations: PlannedMigration[]; not_run: { database: string; reason: string }[] }
  | { name: 'rollout'; skip?: string; rollout: PlannedRollout }
  | { name: 'finalize'; skip?: string; audit_hosts: string[] };

export interface DeployPlan {
  kind: 'deploy' | 'rollback';
  service: string;
  environment: string;
  version: string;
  image: string;
  commit?: string | undefined;
  primary: string;
  hosts: string[];
  rollback_of?: string | undefined;
  /** False when every host is this machine and there is no registry: nothing is pushed or pulled. */
  pull_images: boolean;
  phases: PlannedPhase[];
}
