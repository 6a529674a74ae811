/**
 * Backups before migrations (`databases.X.backup`): a one-off container on the primary host, with
 * the database's URL in its environment (never in argv), runs before a run that contains a
 * destructive migration (`when: destructive`) or before every run that applies something
 * (`when: always`). Deploy's migrate phases and `migrate run` share these functions; a failed
 * backup stops the run before any migration (exit 4).
 */
import type { BackupConfig, BackupWhen } from '../config/index.js';
import { parseDuration } from '../config/index.js';
import type { OneOffSpec } from '../remote/docker-ops.js';
import type { BackupRecord } from '../releases/record.js';
import type { DatabaseRunPlan, MigrationStep } from './orchestrate/migration-plan.js';
import type { EngineTarget } from './types.js';
import { lineSplitter } from './engines/tool-output.js';

/** The non-secret facts of a database's backup, as the deploy plan carries them. */
export interface BackupSpec {
  image: string;
  command: string[];
  when: BackupWhen;
  timeout_ms: number;
  volumes: string[];
}

export function backupSpecOf(config: BackupConfig): BackupSpec {
  return { image: config.image, command: [...config.command], when: config.when, timeout_ms: parseDuration(config.timeout), volumes: [...config.volumes] };
}

export type { BackupRecord } from '../releases/record.js';

/** A database that gets a backup before its run, and why. */
export interface BackupNeed {
  database: string;
  spec: BackupSpec;
  reason: string;
}

const LOG_TAIL_LINES = 20;

function destructiveRules(step: MigrationStep): string[] {
  return [...(step.findings ?? []), ...(step.accepted ?? [])].filter((finding) => finding.class === 'destructive').map((finding) => finding.rule);
}

/**
 * Pure: which databases of a run get a backup first. `always`: every database with something to
 * apply (or an engine that cannot tell, so it may apply something); `destructive`: a database with
 * a planned up step the risk lint found destructive, accepted or not. A blocked or unreadable
 * database runs nothing, so it gets none.
 */
export function backupsFor(databases: readonly DatabaseRunPlan[], specs: Readonly<Record<string, BackupSpec | undefined>>): BackupNeed[] {
  const needs: BackupNeed[] = [];
  for (const plan of databases) {
    const spec = specs[plan.database];
    if (!spec || plan.direction !== 'up' || plan.blocked !== undefined || plan.unreadable !== undefined) continue;
    if (spec.when === 'always') {
      if (plan.steps === null) needs.push({ database: plan.database, spec, reason: `when: always (${plan.engine} applies what it finds)` });
      else if (plan.steps.length > 0) needs.push({ database: plan.database, spec, reason: `when: always (${plan.steps.map((step) => step.id).join(', ')})` });
      continue;
    }
    const destructive = (plan.steps ?? []).flatMap((step) => {
      const rules = [...new Set(destructiveRules(step))];
      return rules.length > 0 ? [`${step.id} (${rules.join(', ')})`] : [];
    });
    if (destructive.length > 0) needs.push({ database: plan.database, spec, reason: `destructive: ${destructive.join(', ')}` });
  }
  return needs;
}

/** `20261122-093012` (UTC), for names of runs without a release. */
export function timeStamp(now: Date): string {
  return now.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
}

export interface BackupContainerInput {
  service: string;
  environment: string;
  database: string;
  /** The deploy's release id; unset for `migrate run`. */
  releaseId?: string | undefined;
  /** Names a run without a release (and tells two backups of one release apart). */
  suffix: string;
  spec: BackupSpec;
  /** The database URL (secret): only ever in the container's environment. */
  url: string;
}

/** Pure: the one-off container of a backup, its argv exactly as configured. */
export function backupContainerSpec(input: BackupContainerInput): Required<Pick<OneOffSpec, 'image' | 'name' | 'cmd' | 'env' | 'labels' | 'binds'>> & { timeoutMs: number; backupName: string } {
  const tag = input.releaseId ?? input.suffix;
  const backupName = `${input.service}-${input.database}-${tag}${input.releaseId && input.suffix ? `-${input.suffix}` : ''}`;
  return {
    image: input.spec.image,
    name: `${input.service}-backup-${input.database}-${tag}${input.releaseId && input.suffix ? `-${input.suffix}` : ''}`,
    cmd: [...input.spec.command],
    env: {
      DATABASE_URL: input.url,
      STAGECRAFT_DATABASE: input.database,
      STAGECRAFT_ENVIRONMENT: input.environment,
      ...(input.releaseId ? { STAGECRAFT_RELEASE: input.releaseId } : {}),
      STAGECRAFT_BACKUP_NAME: backupName,
    },
    labels: { 'stagecraft.service': input.service, 'stagecraft.environment': input.environment, 'stagecraft.role': 'backup' },
    binds: [...input.spec.volumes],
    timeoutMs: input.spec.timeout_ms,
    backupName,
  };
}

export interface RunBackupOptions {
  /** Empty for the first backup of a database in a deploy; `migrate run` passes a time stamp. */
  suffix: string;
  signal?: AbortSignal | undefined;
}

/**
 * Runs one backup on the target's primary host. Never throws for the backup's own failure (a
 * non-zero exit, the timeout, an image that cannot be pulled): the record says `failed`.
 */
export async function runBackup(target: EngineTarget, need: BackupNeed, options: RunBackupOptions): Promise<BackupRecord> {
  const container = backupContainerSpec({
    service: target.service,
    environment: target.environment,
    database: target.database,
    releaseId: target.releaseId,
    suffix: options.suffix,
    spec: need.spec,
    url: target.url,
  });
  const started = Date.now();
  const lines: string[] = [];
  const keep = (line: string) => {
    const clean = target.scrub(line);
    target.log(clean);
    lines.push(clean);
    if (lines.length > LOG_TAIL_LINES) lines.shift();
  };
  const record = (status: BackupRecord['status'], error?: string): BackupRecord => ({
    database: target.database,
    status,
    reason: need.reason,
    name: container.backupName,
    duration_ms: Date.now() - started,
    log_tail: [...lines],
    ...(error !== undefined ? { error: target.scrub(error) } : {}),
  });
  target.log(`backup (${need.reason}): ${container.cmd.join(' ')} in ${container.name} (${container.image})`);
  try {
    options.signal?.throwIfAborted();
    const host = await target.host();
    const ops = await host.dockerOps();
    if (target.pullImage !== false) await ops.pullImage(container.image, target.registryAuth);
    // A container left by an interrupted earlier try would block the name.
    await ops.removeContainer(container.name, { force: true });
    const out = lineSplitter(keep);
    const err = lineSplitter(keep);
    const result = await ops.runOneOff({
      image: container.image,
      name: container.name,
      cmd: container.cmd,
      env: container.env,
      labels: container.labels,
      binds: container.binds,
      timeoutMs: container.timeoutMs,
      signal: options.signal,
      onStdout: out.write,
      onStderr: err.write,
    });
    out.flush();
    err.flush();
    if (result.interrupted) return record('failed', 'interrupted');
    if (result.timedOut) return record('failed', `timed out after ${container.timeoutMs / 1000}s`);
    if (result.exitCode !== 0) return record('failed', `exited ${result.exitCode}`);
    return record('completed');
  } catch (error) {
    return record('failed', error instanceof Error ? error.message : String(error));
  }
}

/**
 * Runs the backups one after another on their databases' targets, stopping at the first that fails
 * (deploy's migrate phases and `migrate run` call this before applying anything).
 */
export async function runBackups(
  needs: readonly BackupNeed[],
  targetOf: (database: string) => EngineTarget,
  options: { suffix: (database: string) => string; signal?: AbortSignal | undefined; onDone?: (record: BackupRecord) => void },
): Promise<{ records: BackupRecord[]; failed?: BackupRecord }> {
  const records: BackupRecord[] = [];
  for (const need of needs) {
    const record = await runBackup(targetOf(need.database), need, { suffix: options.suffix(need.database), signal: options.signal });
    records.push(record);
    options.onDone?.(record);
    if (record.status === 'failed') return { records, failed: record };
  }
  return { records };
}

/** `main: backup completed in 1.2s (name)` / `main: backup failed: exited 1`. */
export function describeBackup(backup: BackupRecord): string {
  return backup.status === 'completed'
    ? `${backup.database}: backup completed in ${(backup.duration_ms / 1000).toFixed(1)}s (${backup.name})`
    : `${backup.database}: backup failed: ${backup.error ?? 'unknown error'}`;
}
