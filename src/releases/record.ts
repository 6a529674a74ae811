/**
 * The release record: what one deploy or rollback did, phase by phase.
 *
 * Records live in `.stagecraft/releases.json` (see `schema.ts` for the file format).
 * Timestamps are ISO 8601 strings in UTC. Secrets never belong in a record: callers put
 * only redacted text into `error` and `log_tail`.
 */

export const PHASE_NAMES = ['build', 'push', 'migrate_pre', 'rollout', 'migrate_post', 'finalize'] as const;
export type PhaseName = (typeof PHASE_NAMES)[number];

export const RELEASE_STATUSES = ['running', 'completed', 'failed', 'interrupted'] as const;
export type ReleaseStatus = (typeof RELEASE_STATUSES)[number];

export const PHASE_STATUSES = ['pending', 'running', 'completed', 'failed', 'skipped', 'interrupted'] as const;
export type PhaseStatus = (typeof PHASE_STATUSES)[number];

export const HOST_STATUSES = ['pending', 'completed', 'failed', 'skipped'] as const;
export type HostStatus = (typeof HOST_STATUSES)[number];

export const MIGRATION_STATUSES = ['pending', 'running', 'completed', 'failed', 'skipped'] as const;
export type MigrationStatus = (typeof MIGRATION_STATUSES)[number];

export const RELEASE_KINDS = ['deploy', 'rollback'] as const;
export type ReleaseKind = (typeof RELEASE_KINDS)[number];

export interface PhaseRecord {
  status: PhaseStatus;
  started_at?: string;
  finished_at?: string;
  duration_ms?: number;
  error?: string;
}

export interface HostRecord {
  address: string;
  status: HostStatus;
  /** Name of the container that serves this release on the host. */
  container?: string;
  error?: string;
}

export const MIGRATION_STEP_OUTCOMES = ['applied', 'failed', 'skipped'] as const;

export interface MigrationStepRecord {
  id: string;
  outcome: (typeof MIGRATION_STEP_OUTCOMES)[number];
  duration_ms?: number;
  description?: string;
  affects_tables?: string[];
  risk_level?: string;
  estimated_duration?: string;
  /** What the risk lint found in the migration (accepted or not): a rollback past it checks these. */
  risk?: { rule: string; class: string }[];
  /** Risk-lint findings accepted by `-- stagecraft:allow RULE reason`, with the reason. */
  accepted?: { rule: string; line: number; reason: string }[];
}

export interface MigrationRecord {
  /** Key under `databases:` in stagecraft.yml. */
  database: string;
  engine: string;
  /** `pre_deploy` or `post_deploy`, as configured. */
  strategy: string;
  status: MigrationStatus;
  /** Migration names applied by this release, in order. */
  applied: string[];
  /** Per migration this release ran: its outcome and what dependencies.json says of it. */
  steps?: MigrationStepRecord[];
  duration_ms?: number;
  /** Last lines of the engine's output (redacted). */
  log_tail: string[];
  error?: string;
}

export const BACKUP_STATUSES = ['completed', 'failed'] as const;

/** A backup run before migrations (`databases.X.backup`). */
export interface BackupRecord {
  database: string;
  status: (typeof BACKUP_STATUSES)[number];
  /** Why it ran: `when: always (…)` or `destructive: 0002_drop (drop-column)`. */
  reason: string;
  /** `STAGECRAFT_BACKUP_NAME`, the name the command gives its dump. */
  name?: string;
  duration_ms: number;
  /** Last lines of the backup container's output (redacted). */
  log_tail: string[];
  error?: string;
}

export interface ImageRef {
  /** e.g. `127.0.0.1:5000/acme/hello:abc1234` */
  ref: string;
  /** e.g. `sha256:…`, once the push reported it. */
  digest?: string;
}

export interface Release {
  /** `rel-YYYYMMDD-HHMMSSmmm` (UTC), plus `-NNN` when several share one millisecond. */
  id: string;
  environment: string;
  service: string;
  version: string;
  image: ImageRef;
  commit?: string;
  actor: string;
  started_at: string;
  finished_at?: string;
  status: ReleaseStatus;
  kind: ReleaseKind;
  phases: Record<PhaseName, PhaseRecord>;
  hosts: HostRecord[];
  migrations: MigrationRecord[];
  /** Backups run before migrations, in order (absent in records without any). */
  backups?: BackupRecord[];
  /** The environment's current release when this one started. */
  previous_id?: string;
  /** For `kind: "rollback"`: the release whose version this one restores. */
  rollback_of?: string;
}

/** What `ReleaseStore.append` takes: the store assigns `id` unless one is given. */
export type NewRelease = Omit<Release, 'id'> & { id?: string };

/** All six phases `pending`: the starting point of a new record. */
export function pendingPhases(): Record<PhaseName, PhaseRecord> {
  return Object.fromEntries(PHASE_NAMES.map((name) => [name, { status: 'pending' }])) as Record<PhaseName, PhaseRecord>;
}

/** Wall-clock duration of a release in ms, or undefined while it has no `finished_at`. */
export function releaseDurationMs(release: Pick<Release, 'started_at' | 'finished_at'>): number | undefined {
  if (release.finished_at === undefined) return undefined;
  const ms = Date.parse(release.finished_at) - Date.parse(release.started_at);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}
