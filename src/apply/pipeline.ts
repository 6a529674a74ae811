import { digestOf } from '../plan/image-ref.js';
import type { LoadedConfig } from '../config/index.js';
import { appEnvironment, redactText } from '../config/index.js';
import { registryAuthOf } from '../migrate/target.js';
import type { DeployPlan, PhaseName } from '../plan/deploy-plan.js';
import { PHASES } from '../plan/deploy-plan.js';
import { ReleaseStore } from '../releases/store.js';
import type { Release } from '../releases/record.js';
import { newReleaseId } from '../releases/id.js';
import { runHook, type HookContext } from '../hooks/run-hook.js';
import { ExitCode, StagecraftError } from '../errors.js';
import { executePlan } from './executor.js';
import { createRunners, guardBeforeRollout } from './runners.js';
import type { DeployContext } from './runners.js';
import type { Reporter } from './reporter.js';
import { withSession } from './session.js';
import { mergeHostHistory, shareRelease } from './release-history.js';
import type { Session } from './session.js';
import { deployPlanFile } from './plan-file-phase.js';

export interface PipelineOptions {
  loaded: LoadedConfig;
  plan: DeployPlan;
  storeFile: string;
  reporter: Reporter;
  lockWaitMs: number;
  lockMessage?: string | undefined;
  /** A check that needs the hosts, run under the deploy lock before anything is recorded or built. */
  preflight?: ((session: Session) => Promise<void>) | undefined;
}

export interface PipelineResult {
  release: Release;
  exitCode: number;
  error?: StagecraftError;
}

/** A rollback deploys `repository@sha256:…`: record that digest, as a deploy records the one its push printed. */
function recordedImage(ref: string): Release['image'] {
  const digest = digestOf(ref);
  return digest ? { ref, digest } : { ref };
}

/** The audit line of a deploy or rollback that did not complete, on the primary and every host it got to. */
async function auditFailure(context: DeployContext, status: 'failed' | 'interrupted', error: StagecraftError | undefined): Promise<void> {
  const { plan } = context;
  const phase = plan.phases.find((p) => p.name === 'rollout');
  const touched = phase && phase.name === 'rollout' && !phase.skip ? plan.hosts : [plan.primary];
  const detail = `${status}${error ? `: ${context.scrub(error.message)}` : ''}`;
  for (const failure of await context.audit(touched, [plan.version, plan.kind, context.releaseId, detail])) {
    context.reporter.info('finalize', `could not append to ~/.stagecraft/audit.log: ${failure.error}`, failure.address);
  }
}

/**
 * deploy and rollback: take the deploy lock on the primary host, record a release, run the
 * hooks and the plan's phases, and always release the lock and close every connection.
 */
export async function runPipeline(options: PipelineOptions): Promise<PipelineResult> {
  const { loaded, plan, reporter } = options;
  const config = loaded.config;
  const scrub = (text: string) => redactText(text, loaded.secretValues);
  const store = new ReleaseStore(options.storeFile);
  // A corrupt store stops us here, before any host is touched.
  await store.list();
  const hooksPath = config.hooks.path;
  const hookLine = (phase: PhaseName) => (line: string) => reporter.output(phase, line, 'hook', true);
  const warn = (line: string) => reporter.info('build', line);

  return withSession(loaded, { hostExitCode: ExitCode.rollout }, (session) => {
    const { actor } = session;
    const lock = { command: plan.kind, version: plan.version, message: options.lockMessage, waitMs: options.lockWaitMs };
    return session.underDeployLock(lock, async (signal) => {
      // Under the lock: what other machines deployed counts for `previous` and the new id.
      await mergeHostHistory(session, store, warn);
      const recorded = await store.list();
      const previous = recorded.find((release) => release.environment === plan.environment && release.status === 'completed');
      const releaseId = newReleaseId(new Date(), recorded.map((release) => release.id));
      const hookContext: HookContext = {
        service: plan.service,
        environment: plan.environment,
        version: plan.version,
        releaseId,
        hosts: plan.hosts,
        command: plan.kind,
      };
      const context: DeployContext = {
        plan,
        baseDir: loaded.dir,
        releaseId,
        actor,
        hosts: session.hosts,
        audit: (addresses, fields) => session.audit(addresses, fields),
        reporter,
        registryAuth: registryAuthOf(loaded),
        appEnv: appEnvironment(loaded, plan.version),
        databaseUrls: Object.fromEntries(Object.entries(config.databases).map(([name, db]) => [name, db.url])),
        positionOf: loaded.positionOf,
        planFile: await deployPlanFile(loaded),
        roleEnv: Object.fromEntries(Object.entries(config.roles).map(([role, spec]) => [role, { ...(spec.env ?? {}) }])),
        scrub,
      };
      // Before the build and before any record: a refused deploy changes nothing anywhere.
      await options.preflight?.(session);
      await guardBeforeRollout(context);
      if (plan.phases.some((phase) => phase.name === 'build' && !phase.skip)) {
        await runHook(loaded.dir, hooksPath, 'pre-build', hookContext, hookLine('build'));
      }
      const release = await store.append({
        id: releaseId,
        environment: plan.environment,
        service: plan.service,
        version: plan.version,
        image: recordedImage(plan.image),
        ...(plan.commit ? { commit: plan.commit } : {}),
        actor,
        started_at: new Date().toISOString(),
        status: 'running',
        kind: plan.kind,
        phases: Object.fromEntries(PHASES.map((name) => [name, { status: 'pending' }])) as Release['phases'],
        hosts: plan.hosts.map((address) => ({ address, status: 'pending' })),
        migrations: [],
        ...(previous ? { previous_id: previous.id } : {}),
        ...(plan.rollback_of ? { rollback_of: plan.rollback_of } : {}),
      });
      await shareRelease(session, release, warn);

      const runners = createRunners(context);
      // pre-deploy runs after the image is pushed and before anything changes on a host.
      const preDeploy = async () => {
        await runHook(loaded.dir, hooksPath, 'pre-deploy', hookContext, hookLine('migrate_pre'));
      };
      const result = await executePlan(plan, release.id, store, runners, reporter, signal, scrub, { migrate_pre: preDeploy });
      // A completed release leaves its line in finalize; a failed or interrupted one leaves it here.
      if (result.status !== 'completed') await auditFailure(context, result.status, result.error);
      let error = result.error;
      if (result.status === 'completed') {
        try {
          await runHook(loaded.dir, hooksPath, 'post-deploy', hookContext, hookLine('finalize'));
        } catch (hookError) {
          error = hookError instanceof StagecraftError ? hookError : new StagecraftError(String(hookError), ExitCode.user);
        }
      }
      const final = (await store.get(release.id)) ?? release;
      await shareRelease(session, final, (line) => reporter.info('finalize', line));
      return { release: final, exitCode: error ? error.exitCode : ExitCode.ok, ...(error ? { error } : {}) };
    });
  });
}
