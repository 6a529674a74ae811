import type { DeployPlan, PlannedMigration, PlannedRollout } from '../plan/deploy-plan.js';
import type { HostRecord, MigrationRecord } from '../releases/record.js';
import type { Host } from '../remote/host.js';
import type { RegistryLogin } from '../build/docker-cli.js';
import { withRegistryLogin } from '../build/docker-cli.js';
import { buildImage } from '../build/build.js';
import { pushImage } from '../build/push.js';
import { ExitCode } from '../errors.js';
import { finishHost, revertHost, stageHost, switchHost, type AppSpec, type StagedHost } from '../rollout/host-rollout.js';
import { mapWithConcurrency } from '../remote/connect.js';
import { PhaseFailure, type PhaseRunner } from './executor.js';
import type { Reporter } from './reporter.js';
import type { PhaseName } from '../plan/deploy-plan.js';

export interface HostSource {
  get(address: string): Promise<Host>;
}

export interface DeployContext {
  plan: DeployPlan;
  baseDir: string;
  releaseId: string;
  actor: string;
  hosts: HostSource;
  reporter: Reporter;
  registry?: RegistryLogin | undefined;
  /** Environment of the app's containers: env.clear + env.secret values + STAGECRAFT_* facts. */
  appEnv: Readonly<Record<string, string>>;
  databaseUrls: Readonly<Record<string, string>>;
  scrub: (text: string) => string;
}

const LOG_TAIL_LINES = 100;

function registryAuth(ctx: DeployContext) {
  return ctx.registry ? { username: ctx.registry.username, password: ctx.registry.password, serveraddress: ctx.registry.server } : undefined;
}

export function createRunners(ctx: DeployContext): Record<PhaseName, PhaseRunner> {
  const { plan, reporter } = ctx;
  let imageForHosts = plan.image;

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
    const digest = await withRegistryLogin(ctx.registry, (env) => pushImage(plan.image, env, (line) => reporter.output('push', line)));
    // Hosts pull by digest: what runs is exactly what was pushed, even if the tag moves.
    imageForHosts = `${plan.image.replace(/:[^:/]+$/, '')}@${digest}`;
    return {
      detail: digest,
      update: (release) => {
        release.image = { ref: plan.image, digest };
      },
    };
  };

  const migrate: PhaseRunner = async (phase) => {
    if ((phase.name !== 'migrate_pre' && phase.name !== 'migrate_post') || phase.migrations.length === 0) {
      if (phase.name === 'migrate_pre' || phase.name === 'migrate_post') {
        for (const skipped of phase.not_run) reporter.info(phase.name, `not run: ${skipped.reason}`, skipped.database);
      }
      return { detail: 'nothing to run' };
    }
    const records: MigrationRecord[] = [];
    for (const migration of phase.migrations) {
      const record = await runMigration(ctx, phase.name, migration, imageForHosts);
      records.push(record);
      if (record.status === 'failed') {
        throw new PhaseFailure(phase.name, `${migration.database}: ${record.error}`, ExitCode.migration, {
          hint: `see the migration output above (also in \`stagecraft releases show ${ctx.releaseId}\`); fix it and deploy again`,
          update: (release) => release.migrations.push(...records),
        });
      }
    }
    return { detail: `${records.length} database(s) migrated`, update: (release) => release.migrations.push(...records) };
  };

  const rollout: PhaseRunner = async (phase, signal) => {
    if (phase.name !== 'rollout') return {};
    const hostRecords = await rolloutHosts(ctx, phase.rollout, imageForHosts, signal);
    return {
      detail: `${hostRecords.length} host(s) serving ${plan.version}`,
      update: (release) => {
        release.hosts = hostRecords;
      },
    };
  };

  const finalize: PhaseRunner = async () => {
    const line = [new Date().toISOString(), ctx.actor, plan.service, plan.environment, plan.version, plan.kind, ctx.releaseId].join('\t');
    await mapWithConcurrency(plan.hosts, 8, async (address) => {
      const host = await ctx.hosts.get(address);
      const result = await host.exec(['sh', '-c', 'mkdir -p "$HOME/.stagecraft" && printf "%s\\n" "$1" >> "$HOME/.stagecraft/audit.log"', 'sh', line]);
      if (result.exitCode !== 0) reporter.info('finalize', `could not append to ~/.stagecraft/audit.log: ${result.stderr.trim()}`, address);
    });
    return { detail: 'release recorded' };
  };

  return { build, push, migrate_pre: migrate, rollout, migrate_post: migrate, finalize };
}

async function runMigration(ctx: DeployContext, phaseName: 'migrate_pre' | 'migrate_post', migration: PlannedMigration, image: string): Promise<MigrationRecord> {
  const host = await ctx.hosts.get(migration.host);
  const started = Date.now();
  const tail: string[] = [];
  const keep = (line: string) => {
    const clean = ctx.scrub(line);
    tail.push(clean);
    if (tail.length > LOG_TAIL_LINES) tail.shift();
    ctx.reporter.output(phaseName, clean, migration.database, true);
  };
  ctx.reporter.info(phaseName, `running ${migration.command.join(' ')} in ${migration.container} on ${migration.host}`, migration.database);
  const ops = await host.dockerOps();
  await ops.pullImage(image, registryAuth(ctx));
  // A container left over by an interrupted earlier run of this same version would block the name.
  await ops.removeContainer(migration.container, { force: true });
  const url = ctx.databaseUrls[migration.database] ?? '';
  const result = await ops.runOneOff({
    image,
    name: migration.container,
    ...(migration.command.length ? { cmd: migration.command } : {}),
    env: { ...ctx.appEnv, DATABASE_URL: url, STAGECRAFT_DATABASE: migration.database },
    labels: { 'stagecraft.service': ctx.plan.service, 'stagecraft.environment': ctx.plan.environment, 'stagecraft.role': 'migrate' },
    timeoutMs: migration.timeout_ms,
    onStdout: lineSplitter(keep),
    onStderr: lineSplitter(keep),
  });
  const base = { database: migration.database, engine: migration.engine, strategy: migration.strategy, applied: [] as string[], duration_ms: Date.now() - started, log_tail: tail };
  if (result.timedOut) return { ...base, status: 'failed', error: `timed out after ${Math.round(migration.timeout_ms / 1000)}s; the container was stopped` };
  if (result.exitCode !== 0) return { ...base, status: 'failed', error: `migration command exited with code ${result.exitCode}` };
  return { ...base, status: 'completed' };
}

function lineSplitter(onLine: (line: string) => void): (chunk: string) => void {
  let pending = '';
  return (chunk) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) onLine(line.replace(/\r$/, ''));
  };
}

/**
 * Stages every host of a batch (new container healthy next to the old one), then switches the
 * batch's proxies. Old containers keep running until every batch has switched, so any failure
 * can put every host back on its previous container.
 */
async function rolloutHosts(ctx: DeployContext, rollout: PlannedRollout, image: string, signal: AbortSignal): Promise<HostRecord[]> {
  const { plan, reporter } = ctx;
  const staged: StagedHost[] = [];
  const records = new Map<string, HostRecord>(plan.hosts.map((address) => [address, { address, status: 'pending' as const }]));
  const app = (container: string): AppSpec => ({
    service: plan.service,
    environment: plan.environment,
    version: plan.version,
    image,
    container,
    env: ctx.appEnv,
    registryAuth: registryAuth(ctx),
  });

  const undo = async (reason: string) => {
    await mapWithConcurrency(staged, rollout.max_parallel, async (host) => {
      try {
        await revertHost(host, rollout, app(host.container));
        reporter.info('rollout', `reverted: ${host.previous ? `traffic back on ${host.previous}` : 'no previous container'}; ${host.container} removed`, host.host.name);
      } catch (error) {
        reporter.info('rollout', `could not revert: ${ctx.scrub((error as Error).message)}`, host.host.name);
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
    await mapWithConcurrency(batch, rollout.max_parallel, async ({ address, container }) => {
      try {
        if (signal.aborted) throw signal.reason;
        reporter.hostUpdate(address, 'running');
        const host = await ctx.hosts.get(address);
        const result = await stageHost(host, rollout, app(container), (line) => reporter.info('rollout', ctx.scrub(line), address));
        staged.push(result);
      } catch (error) {
        const message = ctx.scrub(error instanceof Error ? error.message : String(error));
        records.set(address, { address, status: 'failed', container, error: message });
        failures.push(`${address}: ${message}`);
        reporter.hostUpdate(address, 'failed', message);
      }
    });
    if (signal.aborted) {
      await undo('interrupted');
      throw signal.reason;
    }
    if (failures.length) {
      await undo('failed');
      throw new PhaseFailure('rollout', failures.join('; '), ExitCode.rollout, {
        hint: 'every host still serves its previous container; fix the app (see its output above) and deploy again',
        update: (release) => {
          release.hosts = [...records.values()];
        },
      });
    }
    const switchFailures: string[] = [];
    await mapWithConcurrency(
      staged.filter((s) => !s.switched),
      rollout.max_parallel,
      async (host) => {
        try {
          await switchHost(host, rollout, app(host.container));
          reporter.info('rollout', `traffic switched to ${host.container}`, host.host.name);
        } catch (error) {
          const message = ctx.scrub(error instanceof Error ? error.message : String(error));
          records.set(host.host.name, { address: host.host.name, status: 'failed', container: host.container, error: message });
          switchFailures.push(`${host.host.name}: ${message}`);
          reporter.hostUpdate(host.host.name, 'failed', message);
        }
      },
    );
    if (switchFailures.length) {
      await undo('failed');
      throw new PhaseFailure('rollout', `switching the proxy failed: ${switchFailures.join('; ')}`, ExitCode.rollout, {
        hint: 'every host was put back on its previous container; check the proxy image and `docker logs <service>-proxy` on that host',
        update: (release) => {
          release.hosts = [...records.values()];
        },
      });
    }
  }

  await mapWithConcurrency(staged, rollout.max_parallel, async (host) => {
    await finishHost(host, rollout, app(host.container), (line) => reporter.info('rollout', line, host.host.name));
    records.set(host.host.name, { address: host.host.name, status: 'completed', container: host.container });
    reporter.hostUpdate(host.host.name, 'completed', `serving ${host.container}`);
  });
  return [...records.values()];
}
