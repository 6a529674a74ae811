import { pinnedRef, splitImageRef } from '../plan/image-ref.js';
import type { DeployPlan, PlannedMigration, PlannedRole, PlannedRollout } from '../plan/deploy-plan.js';
import type { HostRecord, MigrationRecord, Release } from '../releases/record.js';
import type { MigrationEngine as MigrationEngineName } from '../config/index.js';
import { parseDuration } from '../config/index.js';
import type { LoadedConfig } from '../config/index.js';
import { DEFAULT_MIGRATION_LOCK_TIMEOUT, describeApply } from '../migrate/engine-commands.js';
import { refuseDrift } from '../migrate/refuse-drift.js';
import { executeMigrationPlan } from '../migrate/orchestrate/execute.js';
import { highRiskLines } from '../migrate/orchestrate/format-migration-plan.js';
import { assembleMigrationPlan, planDatabaseRun } from '../migrate/orchestrate/migration-plan.js';
import type { DatabaseRunPlan } from '../migrate/orchestrate/migration-plan.js';
import { readStates } from '../migrate/orchestrate/read-states.js';
import { recordToolRun, releaseMigrationRecord } from '../migrate/orchestrate/record.js';
import { guardRefusal, lintPlan, unsafeBeforeRollout } from '../migrate/risk/guard.js';
import { backupsFor, describeBackup, runBackups } from '../migrate/backup.js';
import { migrationsDir } from '../migrate/raw/files.js';
import type { EngineTarget } from '../migrate/types.js';
import type { Host } from '../remote/host.js';
import type { RegistryAuth } from '../remote/docker-ops.js';
import { withRegistryLogin } from '../build/docker-cli.js';
import { buildImage } from '../build/build.js';
import { pushImage } from '../build/push.js';
import { ExitCode, RefusedError, UserError } from '../errors.js';
import { finishHost, revertHost, stageHost, switchHost, type AppSpec } from '../rollout/host-rollout.js';
import { finishRole, revertRole, stageRole, switchRole } from '../rollout/role-rollout.js';
import { mapWithConcurrency } from '../remote/connect.js';
import { Interrupted, PhaseFailure, type PhaseRunner } from './executor.js';
import type { Reporter } from './reporter.js';
import type { PhaseName } from '../plan/deploy-plan.js';
import { orderPhaseByPlanFile, phaseFailureOf } from './plan-file-phase.js';
import type { DeployPlanFile } from './plan-file-phase.js';

export interface HostSource {
  get(address: string): Promise<Host>;
}

export interface DeployContext {
  plan: DeployPlan;
  baseDir: string;
  releaseId: string;
  actor: string;
  hosts: HostSource;
  /** Appends the audit line (after time, actor, service, environment: `fields`) on each host; returns where it failed. */
  audit: (addresses: readonly string[], fields: readonly string[]) => Promise<{ address: string; error: string }[]>;
  reporter: Reporter;
  registryAuth?: RegistryAuth | undefined;
  /** Environment of the app's containers: env.clear + env.secret values + STAGECRAFT_* facts. */
  appEnv: Readonly<Record<string, string>>;
  databaseUrls: Readonly<Record<string, string>>;
  /** roles.<role>.env per role (values may hold secrets: they never go into the plan). */
  roleEnv?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Where a config value is in stagecraft.yml, for engine config errors found against the image. */
  positionOf?: LoadedConfig['positionOf'];
  /** `orchestration.plan`: each migrate phase applies its databases' entries in the file's order. */
  planFile?: DeployPlanFile | undefined;
  scrub: (text: string) => string;
}


export function createRunners(ctx: DeployContext): Record<PhaseName, PhaseRunner> {
  const { plan, reporter } = ctx;
  let imageForHosts = plan.image;
  /** Databases backed up so far in this deploy. */
  const backedUp = new Set<string>();

  const build: PhaseRunner = async (phase) => {
    if (phase.name !== 'build' || !phase.build) return {};
    await buildImage(
      { baseDir: ctx.baseDir, ...phase.build, imageRef: plan.image },
      (line) => reporter.output('build', line),
    );
    return { detail: plan.image };
  };

  const push: PhaseRunner = async (phase) => {
    if (phase.name !== 'push') return {};
    const auth = ctx.registryAuth;
    const login = auth ? { server: auth.serveraddress, username: auth.username, password: auth.password } : undefined;
    const digest = await withRegistryLogin(login, (env) => pushImage(plan.image, env, (line) => reporter.output('push', line)));
    imageForHosts = pinnedRef(plan.image, digest);
    return {
      detail: digest,
      update: (release) => {
        release.image = { ref: plan.image, digest };
      },
    };
  };

  const migrate: PhaseRunner = async (phase, signal) => {
    // Known drift in a post-deploy database would only surface after the rollout: refuse before it.
    if (phase.name === 'migrate_pre') {
      const post = plan.phases.find((p) => p.name === 'migrate_post');
      // A pre_deploy database's post-deploy share (`only: post`) is read by migrate_pre itself: not twice.
      const later = post && post.name === 'migrate_post' && !post.skip ? post.migrations.filter((m) => m.engine === 'raw' && m.only !== 'post') : [];
      for (const migration of later) await refuseDrift(migrationTarget(ctx, 'migrate_post', migration, imageForHosts));
    }
    if ((phase.name !== 'migrate_pre' && phase.name !== 'migrate_post') || phase.migrations.length === 0) {
      if (phase.name === 'migrate_pre' || phase.name === 'migrate_post') {
        for (const skipped of phase.not_run) reporter.info(phase.name, `not run: ${skipped.reason}`, skipped.database);
      }
      return { detail: 'nothing to run' };
    }
    const phaseName = phase.name;
    const allTargets = phase.migrations.map((migration) => migrationTarget(ctx, phaseName, migration, imageForHosts));
    const states = await readStates(allTargets);
    const databasePlans: DatabaseRunPlan[] = [];
    for (const migration of phase.migrations) {
      const databasePlan = planDatabaseRun(
        { database: migration.database, engine: migration.engine, strategy: migration.strategy, state: states.get(migration.database)!.state },
        plan.environment,
        { phase: phaseName, only: migration.only },
      );
      // The lint's findings (and the reasons of accepted ones) go into the release with each step.
      databasePlans.push(await lintPlan(databasePlan, ctx.baseDir, { engine: migration.engine as MigrationEngineName, path: migration.path }, plan.environment));
    }
    // A pre_deploy database takes part in migrate_post only for migrations marked post-deploy.
    const planned = phase.migrations.filter((migration, index) => migration.only !== 'post' || databasePlans[index]!.steps?.length !== 0 || databasePlans[index]!.blocked);
    if (planned.length === 0) return { detail: 'nothing to run' };
    for (const migration of planned) reporter.info(phaseName, describeMigration(migration), migration.database);
    const targets = allTargets.filter((target) => planned.some((m) => m.database === target.database));
    const migrationPlan = assembleMigrationPlan(
      { kind: 'run', service: plan.service, environment: plan.environment, image: imageForHosts },
      databasePlans.filter((p) => planned.some((m) => m.database === p.database)),
    );
    const ordered = ctx.planFile ? orderPhaseByPlanFile(ctx.planFile, migrationPlan, states) : undefined;
    if (ordered instanceof Error) throw new PhaseFailure(phaseName, ordered.message, ordered.exitCode, { hint: 'run `stagecraft migrate validate` for the plan file' });
    if (ordered) reporter.info(phaseName, `${ctx.planFile!.planFile.file}: ${ordered.resume ? `starts at line ${ordered.resume.line}` : "every entry of this phase's databases is applied"}`);
    for (const database of migrationPlan.databases) {
      if (database.steps?.length) reporter.info(phaseName, `will apply ${database.steps.map((step) => step.id).join(', ')}`, database.database);
    }
    for (const line of highRiskLines(migrationPlan.high_risk)) reporter.info(phaseName, line);
    // databases.X.backup: before a destructive migration (or every run), and before anything of this phase applies.
    const needs = backupsFor(migrationPlan.databases, Object.fromEntries(phase.migrations.map((m) => [m.database, m.backup])));
    const backups = await runBackups(needs, (database) => targets.find((t) => t.database === database)!, {
      signal,
      // A second backup of a database in one deploy (when: always, both phases) keeps the first's file.
      suffix: (database) => (backedUp.has(database) ? '2' : ''),
      onDone: (backup) => {
        backedUp.add(backup.database);
        reporter.info(phaseName, describeBackup(backup), backup.database);
      },
    });
    const recordBackups = (release: Release) => {
      if (backups.records.length > 0) release.backups = [...(release.backups ?? []), ...backups.records];
    };
    if (backups.failed) {
      throw new PhaseFailure(phaseName, `${describeBackup(backups.failed)}; no migration was run`, ExitCode.migration, {
        hint: `see the backup's output above (also in \`stagecraft releases show ${ctx.releaseId}\`); fix databases.${backups.failed.database}.backup and deploy again`,
        update: recordBackups,
      });
    }
    const limits = new Map(phase.migrations.map((m) => [m.database, { timeoutMs: m.timeout_ms, lockTimeoutMs: m.lock_timeout_ms ?? parseDuration(DEFAULT_MIGRATION_LOCK_TIMEOUT) }]));
    const result = await executeMigrationPlan(ordered?.plan ?? migrationPlan, targets, {
      signal,
      limits: (database) => limits.get(database)!,
      states: new Map([...states].map(([database, read]) => [database, read.state])),
    });
    const records: MigrationRecord[] = [];
    for (const run of result.runs) {
      for (const note of run.outcome.notes) reporter.output(phaseName, `note: ${note}`, run.plan.database, true);
      records.push(releaseMigrationRecord(run, ctx.scrub));
      const warning = await recordToolRun(targets.find((t) => t.database === run.plan.database)!, run);
      if (warning) reporter.info(phaseName, `warning: ${warning}`, run.plan.database);
    }
    const update = (release: Release) => {
      recordBackups(release);
      release.migrations.push(...records);
    };
    const failed = result.runs.find((run) => run.outcome.status === 'failed');
    // The executor turns a failure after SIGINT/SIGTERM into the interruption, keeping these records.
    if (result.interrupted && !failed) throw new PhaseFailure(phaseName, 'interrupted', ExitCode.interrupted, { update });
    if (failed && ordered) {
      const named = phaseFailureOf(ctx.planFile!, ordered, result.runs, failed);
      throw new PhaseFailure(phaseName, ctx.scrub(named.message), named.exitCode, { hint: `see the migration output above; fix it and deploy again: it resumes at that line`, update });
    }
    if (failed) {
      throw new PhaseFailure(phaseName, `${failed.plan.database}: ${ctx.scrub(failed.outcome.error ?? 'migration failed')}`, failed.failure?.exitCode ?? ExitCode.migration, {
        hint: `see the migration output above (also in \`stagecraft releases show ${ctx.releaseId}\`); fix it and deploy again`,
        update,
      });
    }
    return { detail: `${records.length} database(s) migrated`, update };
  };

  const rollout: PhaseRunner = async (phase, signal) => {
    if (phase.name !== 'rollout') return {};
    const hostRecords = await rolloutHosts(ctx, phase.rollout, imageForHosts, signal);
    // --skip-build pushed nothing this time: record the digest the primary host pulled, so a
    // rollback to this release runs exactly these bytes.
    const digest = imageForHosts.includes('@') ? undefined : await pulledDigest(ctx, imageForHosts);
    return {
      detail: `${hostRecords.length} host(s) serving ${plan.version}`,
      update: (release) => {
        release.hosts = hostRecords;
        if (digest && !release.image.digest) release.image = { ...release.image, digest };
      },
    };
  };

  const finalize: PhaseRunner = async () => {
    for (const failure of await ctx.audit(plan.hosts, [plan.version, plan.kind, ctx.releaseId])) {
      reporter.info('finalize', `could not append to ~/.stagecraft/audit.log: ${failure.error}`, failure.address);
    }
    return { detail: 'release recorded' };
  };

  return { build, push, migrate_pre: migrate, rollout, migrate_post: migrate, finalize };
}

/** The registry digest of `image` as the primary host pulled it (undefined if it cannot tell). */
async function pulledDigest(ctx: DeployContext, image: string): Promise<string | undefined> {
  try {
    const ops = await (await ctx.hosts.get(ctx.plan.primary)).dockerOps();
    const info = await ops.inspectImage(image);
    const { repository } = splitImageRef(image);
    const match = info?.RepoDigests?.find((entry) => entry.startsWith(`${repository}@`));
    return match?.slice(repository.length + 1);
  } catch {
    return undefined;
  }
}

/** Engines whose migrations are SQL files the risk lint reads (node-pg-migrate, knex: JavaScript). */
const SQL_ENGINES = new Set(['raw', 'sqitch', 'golang-migrate', 'drizzle', 'prisma']);

/**
 * The expand/contract guard, before the build: a migration that would run in migrate_pre with a
 * destructive or incompatible statement nobody accepted refuses the deploy (exit 2). Which ones
 * are pending comes from the database and the project's own files (what the image is built from):
 * tool engines' plans read them from the project here instead of the image, which does not exist yet.
 */
export async function guardBeforeRollout(ctx: DeployContext): Promise<void> {
  const phase = ctx.plan.phases.find((p) => p.name === 'migrate_pre');
  if (!phase || phase.name !== 'migrate_pre' || phase.skip) return;
  const checked = phase.migrations.filter((migration) => SQL_ENGINES.has(migration.engine));
  if (checked.length === 0) return;
  const unsafe = [];
  for (const migration of checked) {
    const target = { ...migrationTarget(ctx, 'migrate_pre', migration, ctx.plan.image), migrationFiles: 'project' as const };
    let read;
    try {
      read = (await readStates([target])).get(migration.database)!;
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      // The lint reads the project's files too: without them there is nothing to check here.
      ctx.reporter.info('build', `${migration.database}: not checked for statements unsafe before the rollout: ${ctx.scrub(error.message)}`);
      continue;
    }
    // An unreadable database fails in migrate_pre itself, with its own message.
    if (!read.state.readable) continue;
    const databasePlan = planDatabaseRun(
      { database: migration.database, engine: migration.engine as MigrationEngineName, strategy: migration.strategy, state: read.state },
      ctx.plan.environment,
      { phase: 'migrate_pre', only: migration.only },
    );
    const settings = { engine: migration.engine as MigrationEngineName, path: migration.path };
    const linted = await lintPlan(databasePlan, ctx.baseDir, settings, ctx.plan.environment);
    unsafe.push(...unsafeBeforeRollout(linted, migrationsDir(ctx.baseDir, migration.path ?? '.').display));
  }
  if (unsafe.length > 0) throw guardRefusal(unsafe);
}

function describeMigration(migration: PlannedMigration): string {
  if (migration.engine === 'raw') {
    const which = migration.only === 'post' ? 'the migrations marked post-deploy' : describeApply({ engine: 'raw', path: migration.path });
    return `raw: ${which}${migration.only === 'pre' ? ' (except those marked post-deploy)' : ''} through ${migration.host}`;
  }
  return `${migration.engine}: ${migration.command.join(' ')} in ${migration.container} on ${migration.host}`;
}

function migrationTarget(ctx: DeployContext, phaseName: 'migrate_pre' | 'migrate_post', migration: PlannedMigration, image: string): EngineTarget {
  return {
    database: migration.database,
    migrations: {
      engine: migration.engine as MigrationEngineName,
      path: migration.path,
      command: migration.engine === 'raw' || migration.command.length === 0 ? undefined : migration.command,
      plan_command: migration.plan_command,
      table: migration.table,
      statement_lock_timeout: migration.statement_lock_timeout_ms === undefined ? undefined : `${migration.statement_lock_timeout_ms}ms`,
      lock_retries: migration.lock_retries,
    },
    url: ctx.databaseUrls[migration.database] ?? '',
    configDir: ctx.baseDir,
    service: ctx.plan.service,
    environment: ctx.plan.environment,
    actor: ctx.actor,
    releaseId: ctx.releaseId,
    host: () => ctx.hosts.get(migration.host),
    image: { ref: image },
    pullImage: ctx.plan.pull_images,
    registryAuth: ctx.registryAuth,
    appEnv: { ...ctx.appEnv, STAGECRAFT_DATABASE: migration.database },
    containerName: migration.container,
    ...(ctx.positionOf ? { settingPosition: (key: string) => ctx.positionOf!(['databases', migration.database, 'migrations', key]) } : {}),
    log: (line) => ctx.reporter.output(phaseName, ctx.scrub(line), migration.database, true),
    scrub: ctx.scrub,
  };
}

/** ` worker` for lines about a role other than web (web's lines read as they did before roles). */
function roleLabel(role: string): string {
  return role === 'web' ? '' : ` ${role}`;
}

/** One role's new container on one host, staged next to the old one; switch, revert and finish per kind. */
interface StagedUnit {
  address: string;
  role: string;
  container: string;
  /** What the next step says happened: `traffic switched to …` / `stopped …`. */
  switch(): Promise<void>;
  revert(): Promise<string>;
  finish(log: (line: string) => void): Promise<void>;
  switched(): boolean;
}

/**
 * Stages every host of a batch (each of its roles' new containers healthy next to the old ones),
 * then switches them: web's proxy to the new container, other roles' old containers stopped. Old
 * containers are kept until every batch has switched, so any failure can put every host back.
 */
async function rolloutHosts(ctx: DeployContext, rollout: PlannedRollout, image: string, signal: AbortSignal): Promise<HostRecord[]> {
  const { plan, reporter } = ctx;
  const staged: StagedUnit[] = [];
  const records = new Map<string, HostRecord>(plan.hosts.map((address) => [address, { address, status: 'pending' as const }]));
  const app = (role: PlannedRole): AppSpec => ({
    service: plan.service,
    environment: plan.environment,
    version: plan.version,
    image,
    container: role.container,
    env: { ...ctx.appEnv, ...(ctx.roleEnv?.[role.role] ?? {}) },
    cmd: role.cmd,
    registryAuth: ctx.registryAuth,
  });

  const stage = async (address: string, role: PlannedRole): Promise<StagedUnit> => {
    const host = await ctx.hosts.get(address);
    const log = (line: string) => reporter.info('rollout', ctx.scrub(line), address);
    const spec = app(role);
    if (role.proxy) {
      const web = await stageHost(host, rollout, spec, log, signal);
      return {
        address,
        role: role.role,
        container: web.container,
        switch: async () => {
          await switchHost(web, rollout, spec);
          log(`traffic switched to ${web.container}`);
        },
        revert: async () => {
          await revertHost(web, rollout, spec);
          return `${web.previous ? `traffic back on ${web.previous}` : 'no previous container'}; ${web.container} removed`;
        },
        finish: (finishLog) => finishHost(web, rollout, spec, finishLog),
        switched: () => web.switched,
      };
    }
    const unit = await stageRole(host, rollout, role, spec, log, signal);
    return {
      address,
      role: role.role,
      container: unit.container,
      switch: () => switchRole(unit, log),
      revert: async () => {
        await revertRole(unit);
        return `${unit.previous.length ? `${unit.previous.join(', ')} running again` : 'no previous container'}; ${unit.container} removed`;
      },
      finish: (finishLog) => finishRole(unit, rollout, spec, finishLog),
      switched: () => unit.switched,
    };
  };

  const undo = async (reason: string) => {
    await mapWithConcurrency(staged, rollout.max_parallel, async (unit) => {
      try {
        reporter.info('rollout', `reverted${roleLabel(unit.role)}: ${await unit.revert()}`, unit.address);
      } catch (error) {
        reporter.info('rollout', `could not revert${roleLabel(unit.role)}: ${ctx.scrub((error as Error).message)}`, unit.address);
      }
    });
    for (const record of records.values()) {
      if (record.status !== 'failed') {
        record.status = 'skipped';
        reporter.hostUpdate(record.address, 'skipped', reason === 'interrupted' ? 'interrupted' : 'reverted: another host failed');
      }
    }
    return reason;
  };

  for (const batch of rollout.batches) {
    const failures: string[] = [];
    let refused = false;
    await mapWithConcurrency(batch, rollout.max_parallel, async ({ address, container, roles }) => {
      try {
        if (signal.aborted) throw signal.reason;
        reporter.hostUpdate(address, 'running');
        // Web first: a host whose web container fails starts no worker of the new version.
        for (const role of roles) staged.push(await stage(address, role));
      } catch (error) {
        const message = ctx.scrub(error instanceof Error ? error.message : String(error));
        if (error instanceof RefusedError) refused = true;
        records.set(address, { address, status: 'failed', container, error: message });
        failures.push(error instanceof RefusedError ? message : `${address}: ${message}`);
        reporter.hostUpdate(address, 'failed', message);
      }
    });
    if (signal.aborted) {
      await undo('interrupted');
      const interrupted = signal.reason instanceof Interrupted ? signal.reason : new Interrupted('signal');
      interrupted.update = (release) => {
        release.hosts = [...records.values()];
      };
      throw interrupted;
    }
    if (failures.length) {
      await undo('failed');
      throw new PhaseFailure('rollout', failures.join('; '), refused ? ExitCode.refused : ExitCode.rollout, {
        hint: refused
          ? 'nothing was switched: every host still serves what it served before'
          : 'every host still serves its previous container; fix the app (see its output above) and deploy again',
        update: (release) => {
          release.hosts = [...records.values()];
        },
      });
    }
    const switchFailures: string[] = [];
    await mapWithConcurrency(
      staged.filter((unit) => !unit.switched()),
      rollout.max_parallel,
      async (unit) => {
        try {
          await unit.switch();
        } catch (error) {
          const message = ctx.scrub(error instanceof Error ? error.message : String(error));
          records.set(unit.address, { address: unit.address, status: 'failed', container: unit.container, error: message });
          switchFailures.push(`${unit.address} (${unit.role}): ${message}`);
          reporter.hostUpdate(unit.address, 'failed', message);
        }
      },
    );
    if (switchFailures.length) {
      await undo('failed');
      throw new PhaseFailure('rollout', `switching to the new containers failed: ${switchFailures.join('; ')}`, ExitCode.rollout, {
        hint: 'every host was put back on its previous containers; check the proxy image and `docker logs <service>-proxy` on that host',
        update: (release) => {
          release.hosts = [...records.values()];
        },
      });
    }
  }

  await mapWithConcurrency(staged, rollout.max_parallel, async (unit) => {
    await unit.finish((line) => reporter.info('rollout', line, unit.address));
  });
  for (const batch of rollout.batches) {
    for (const { address, container, roles } of batch) {
      records.set(address, { address, status: 'completed', container });
      reporter.hostUpdate(address, 'completed', roles.map((role) => `${role.proxy ? 'serving' : 'running'} ${role.container}`).join(', '));
    }
  }
  return [...records.values()];
}
