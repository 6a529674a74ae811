import type { DeployPlan, PlannedHostRollout, PlannedMigration, PlannedPhase, PlannedRole, PlannedRollout } from './deploy-plan.js';
import type { ResolvedConfig } from '../config/index.js';
import { LOCAL_ADDRESS, WEB_ROLE, appRolesOf, parseDuration } from '../config/index.js';
import { RefusedError } from '../errors.js';
import { backupSpecOf } from '../migrate/backup.js';
import { applyCommand, DEFAULT_MIGRATION_LOCK_TIMEOUT, DEFAULT_STATEMENT_LOCK_TIMEOUT, DEFAULT_LOCK_RETRIES } from '../migrate/engine-commands.js';

export interface PlanOptions {
  environment: string;
  version: string;
  commit?: string | undefined;
  /** Deploy an image already in the registry: no build, no push. */
  skipBuild?: boolean;
  /** Rollback: the recorded image (by digest), no build, push or migrations. */
  rollback?: { of: string; image: string } | undefined;
}

export function appContainerName(service: string, version: string, role: string = WEB_ROLE): string {
  return `${service}-${role}-${version}`;
}

/** A role's container on a host: web behind the proxy, health-checked over HTTP; others by running or a command. */
export function plannedRole(config: Pick<ResolvedConfig, 'service' | 'roles'>, role: string, version: string): PlannedRole {
  const spec = config.roles[role];
  const proxy = role === WEB_ROLE;
  const health: PlannedRole['health'] = proxy
    ? { kind: 'http' }
    : spec?.healthcheck
      ? { kind: 'command', cmd: [...spec.healthcheck.cmd], interval_ms: parseDuration(spec.healthcheck.interval), timeout_ms: parseDuration(spec.healthcheck.timeout) }
      : { kind: 'running', min_running_ms: parseDuration(spec?.min_running ?? '5s') };
  return {
    role,
    container: appContainerName(config.service, version, role),
    proxy,
    ...(spec?.cmd ? { cmd: [...spec.cmd] } : {}),
    env_keys: Object.keys(spec?.env ?? {}).sort(),
    health,
  };
}

export function migrationContainerName(service: string, database: string, version: string): string {
  return `${service}-migrate-${database}-${version}`;
}

export function imageRef(config: Pick<ResolvedConfig, 'image'>, version: string): string {
  return `${config.image}:${version}`;
}

/**
 * Trying stagecraft on one machine: with no registry and only `address: local` hosts, the image
 * built here is what runs, so nothing is pushed or pulled.
 */
export function imagesStayLocal(config: Pick<ResolvedConfig, 'registry' | 'hosts'>): boolean {
  return !config.registry && config.hosts.every((host) => host.address === LOCAL_ADDRESS);
}

export function primaryHost(config: Pick<ResolvedConfig, 'hosts'>): string {
  const primary = config.hosts.find((host) => host.roles.includes('primary'));
  // The loader guarantees exactly one primary; this guards callers that build configs by hand.
  if (!primary) throw new Error('config has no primary host');
  return primary.address;
}

/** Splits hosts into the batches the rollout strategy asks for. */
export function rolloutBatches(hosts: readonly string[], rollout: ResolvedConfig['rollout']): string[][] {
  if (hosts.length === 0) return [];
  switch (rollout.strategy) {
    case 'all':
      return [[...hosts]];
    case 'rolling': {
      const size = Math.max(1, rollout.batch_size ?? 1);
      const batches: string[][] = [];
      for (let i = 0; i < hosts.length; i += size) batches.push(hosts.slice(i, i + size));
      return batches;
    }
    case 'canary': {
      const percent = rollout.canary_percent ?? 10;
      // The canary never exceeds its share of hosts, and is at least one host.
      const first = Math.min(hosts.length, Math.max(1, Math.floor((hosts.length * percent) / 100)));
      return first === hosts.length ? [[...hosts]] : [hosts.slice(0, first), hosts.slice(first)];
    }
  }
}

function migrationsFor(config: ResolvedConfig, strategy: 'pre_deploy' | 'post_deploy', version: string, primary: string) {
  const migrations: PlannedMigration[] = [];
  const notRun: { database: string; reason: string }[] = [];
  for (const [database, spec] of Object.entries(config.databases ?? {})) {
    const dbStrategy = spec.migrations.strategy;
    if (dbStrategy === 'manual') {
      notRun.push({ database, reason: 'strategy manual: run it with `stagecraft migrate run`' });
      continue;
    }
    // A raw pre_deploy database can move single migrations after the rollout (expand before it, contract after).
    const split = spec.migrations.engine === 'raw' && dbStrategy === 'pre_deploy';
    if (dbStrategy !== strategy && !(split && strategy === 'post_deploy')) continue;
    migrations.push({
      database,
      engine: spec.migrations.engine,
      strategy: dbStrategy,
      ...(split ? { only: strategy === 'pre_deploy' ? ('pre' as const) : ('post' as const) } : {}),
      host: primary,
      container: migrationContainerName(config.service, database, version),
      command: applyCommand(spec.migrations),
      timeout_ms: parseDuration(spec.migrations.timeout),
      path: spec.migrations.path,
      plan_command: spec.migrations.plan_command ? [...spec.migrations.plan_command] : undefined,
      ...(spec.migrations.table !== undefined ? { table: spec.migrations.table } : {}),
      lock_timeout_ms: spec.migrations.engine === 'raw' ? parseDuration(spec.migrations.lock_timeout ?? DEFAULT_MIGRATION_LOCK_TIMEOUT) : undefined,
      ...(spec.migrations.engine === 'raw'
        ? {
            statement_lock_timeout_ms: parseDuration(spec.migrations.statement_lock_timeout ?? DEFAULT_STATEMENT_LOCK_TIMEOUT),
            lock_retries: spec.migrations.lock_retries ?? DEFAULT_LOCK_RETRIES,
          }
        : {}),
      ...(spec.backup ? { backup: backupSpecOf(spec.backup) } : {}),
    });
  }
  return { migrations, notRun };
}

/**
 * Deploys do not fan out over `databases.X.targets` yet (`migrate run --fan-out` does): a deploy
 * would migrate one target and leave the others behind, so it refuses before anything happens.
 */
function refuseTargetsInDeploys(config: ResolvedConfig): void {
  for (const [name, spec] of Object.entries(config.databases ?? {})) {
    const targets = Object.keys(spec.targets ?? {});
    if (targets.length === 0 || spec.migrations.strategy === 'manual') continue;
    throw new RefusedError(
      `databases.${name} has targets (${targets.join(', ')}): deploys do not migrate targets yet and would migrate only one of them; nothing was changed`,
      { hint: `set databases.${name}.migrations.strategy to manual and migrate its targets with \`stagecraft migrate run --database ${name} --fan-out …\`` },
    );
  }
}

export function planDeploy(config: ResolvedConfig, options: PlanOptions): DeployPlan {
  const { version } = options;
  if (options.rollback === undefined) refuseTargetsInDeploys(config);
  const primary = primaryHost(config);
  const hosts = config.hosts.map((host) => host.address);
  const isRollback = options.rollback !== undefined;
  const image = options.rollback?.image ?? imageRef(config, version);
  const hostRollout = (address: string): PlannedHostRollout => {
    const host = config.hosts.find((candidate) => candidate.address === address)!;
    const roles = appRolesOf(host).sort((a, b) => (a === WEB_ROLE ? -1 : b === WEB_ROLE ? 1 : 0)).map((role) => plannedRole(config, role, version));
    return { address, container: roles[0]!.container, roles };
  };

  const pullImages = !imagesStayLocal(config);
  const rollout: PlannedRollout = {
    strategy: config.rollout.strategy,
    pull_images: pullImages,
    batches: rolloutBatches(hosts, config.rollout).map((batch) => batch.map(hostRollout)),
    max_parallel: config.rollout.max_parallel,
    network: `${config.service}-net`,
    proxy: { container: `${config.service}-proxy`, image: config.proxy.image, port: config.proxy.port, app_port: config.proxy.app_port },
    healthcheck: {
      path: config.proxy.healthcheck.path,
      interval_ms: parseDuration(config.proxy.healthcheck.interval),
      timeout_ms: parseDuration(config.proxy.healthcheck.timeout),
    },
    drain_ms: parseDuration(config.proxy.drain_timeout),
    retain: config.retain,
  };

  const noBuild = isRollback ? 'rollback redeploys the recorded image' : options.skipBuild ? '--skip-build: the image is already in the registry' : undefined;
  const pre = migrationsFor(config, 'pre_deploy', version, primary);
  const post = migrationsFor(config, 'post_deploy', version, primary);
  const noMigrations = isRollback ? 'rollback runs no migrations' : undefined;

  const phases: PlannedPhase[] = [
    noBuild
      ? { name: 'build', skip: noBuild }
      : {
          name: 'build',
          build: {
            context: config.builder.context,
            dockerfile: config.builder.dockerfile,
            args: { ...config.builder.args },
            target: config.builder.target,
            labels: { service: config.service, version },
          },
        },
    noBuild
      ? { name: 'push', skip: noBuild }
      : pullImages
        ? { name: 'push', registry: config.registry?.server }
        : { name: 'push', skip: 'no registry, and every host is this machine: it runs the image built here' },
    noMigrations ? { name: 'migrate_pre', skip: noMigrations, migrations: [], not_run: [] } : { name: 'migrate_pre', migrations: pre.migrations, not_run: pre.notRun },
    { name: 'rollout', rollout },
    noMigrations ? { name: 'migrate_post', skip: noMigrations, migrations: [], not_run: [] } : { name: 'migrate_post', migrations: post.migrations, not_run: post.notRun },
    { name: 'finalize', audit_hosts: hosts },
  ];

  return {
    kind: isRollback ? 'rollback' : 'deploy',
    service: config.service,
    environment: options.environment,
    version,
    image,
    commit: options.commit,
    primary,
    hosts,
    rollback_of: options.rollback?.of,
    pull_images: pullImages,
    phases,
  };
}
