import type { DeployPlan, PhaseName, PlannedPhase } from '../plan/deploy-plan.js';
import type { Release, PhaseRecord } from '../releases/record.js';
import type { ReleaseStore } from '../releases/store.js';
import { ExitCode, StagecraftError } from '../errors.js';
import type { Reporter } from './reporter.js';

/** What a phase runner hands back to be recorded in the release. */
export interface PhaseOutcome {
  detail?: string;
  update?: (release: Release) => void;
}

export type PhaseRunner = (phase: PlannedPhase, signal: AbortSignal) => Promise<PhaseOutcome>;

export class PhaseFailure extends StagecraftError {
  constructor(
    readonly phase: PhaseName,
    message: string,
    exitCode: ExitCode,
    options: { hint?: string; cause?: unknown; update?: (release: Release) => void } = {},
  ) {
    super(`${phase}: ${message}`, exitCode, options);
    this.update = options.update;
  }
  readonly update: ((release: Release) => void) | undefined;
}

export class Interrupted extends StagecraftError {
  /** What the interrupted phase had done by then, for the release record. */
  update: ((release: Release) => void) | undefined;

  constructor(cause: string, exitCode: ExitCode = ExitCode.interrupted) {
    super(`interrupted by ${cause}`, exitCode);
  }
}

export interface ExecuteResult {
  status: 'completed' | 'failed' | 'interrupted';
  error?: StagecraftError;
}

const PHASE_EXIT: Record<PhaseName, ExitCode> = {
  build: ExitCode.build,
  push: ExitCode.build,
  migrate_pre: ExitCode.migration,
  rollout: ExitCode.rollout,
  migrate_post: ExitCode.migration,
  finalize: ExitCode.internal,
};

export function phaseTitle(phase: PlannedPhase): string {
  switch (phase.name) {
    case 'build':
      return 'build image';
    case 'push':
      return `push image${phase.registry ? ` to ${phase.registry}` : ''}`;
    case 'migrate_pre':
      return 'pre-deploy migrations';
    case 'rollout':
      return `roll out (${phase.rollout.strategy})`;
    case 'migrate_post':
      return 'post-deploy migrations';
    case 'finalize':
      return 'finalize';
  }
}

function scrubError(error: unknown, scrub: (text: string) => string): string {
  const message = error instanceof Error ? error.message : String(error);
  return scrub(message);
}

/**
 * Walks the plan's phases in order, recording each phase's start and end in the release.
 * Stops at the first failure: that phase `failed` (or `interrupted`), every later phase `skipped`.
 */
export async function executePlan(
  plan: DeployPlan,
  releaseId: string,
  store: ReleaseStore,
  runners: Record<PhaseName, PhaseRunner>,
  reporter: Reporter,
  signal: AbortSignal,
  scrub: (text: string) => string,
  /** Run before a phase starts, even a skipped one (the pre-deploy hook); a throw fails that phase. */
  gates: Partial<Record<PhaseName, () => Promise<void>>> = {},
): Promise<ExecuteResult> {
  const mark = (phase: PhaseName, record: Partial<PhaseRecord>, extra?: (release: Release) => void) =>
    store.update(releaseId, (release) => {
      release.phases[phase] = { ...release.phases[phase], ...record };
      extra?.(release);
    });

  for (let index = 0; index < plan.phases.length; index++) {
    const phase = plan.phases[index]!;
    const gate = gates[phase.name];
    if (phase.skip && !gate) {
      await mark(phase.name, { status: 'skipped', error: undefined });
      reporter.phaseFinished(phase.name, 'skipped', phase.skip);
      continue;
    }
    const startedAt = new Date();
    await mark(phase.name, { status: 'running', started_at: startedAt.toISOString() });
    reporter.phaseStarted(phase.name, phaseTitle(phase));
    try {
      if (signal.aborted) throw signal.reason;
      await gate?.();
      if (phase.skip) {
        await mark(phase.name, { status: 'skipped', started_at: undefined, error: undefined });
        reporter.phaseFinished(phase.name, 'skipped', phase.skip);
        continue;
      }
      const outcome = await runners[phase.name](phase, signal);
      const finishedAt = new Date();
      await mark(phase.name, { status: 'completed', finished_at: finishedAt.toISOString(), duration_ms: finishedAt.getTime() - startedAt.getTime() }, outcome.update);
      reporter.phaseFinished(phase.name, 'completed', outcome.detail);
    } catch (error) {
      const interrupted = signal.aborted;
      const finishedAt = new Date();
      const failure = toFailure(phase.name, error, interrupted, scrub);
      const status = interrupted ? 'interrupted' : 'failed';
      await mark(
        phase.name,
        { status, finished_at: finishedAt.toISOString(), duration_ms: finishedAt.getTime() - startedAt.getTime(), error: scrub(failure.message) },
        (release) => {
          if (failure instanceof PhaseFailure || failure instanceof Interrupted) failure.update?.(release);
          for (const later of plan.phases.slice(index + 1)) release.phases[later.name] = { status: 'skipped' };
          release.status = status;
          release.finished_at = finishedAt.toISOString();
        },
      );
      reporter.phaseFinished(phase.name, status, failure.message);
      for (const later of plan.phases.slice(index + 1)) reporter.phaseFinished(later.name, 'skipped');
      return { status, error: failure };
    }
  }
  const finishedAt = new Date().toISOString();
  await store.update(releaseId, (release) => {
    release.status = 'completed';
    release.finished_at = finishedAt;
  });
  return { status: 'completed' };
}

function toFailure(phase: PhaseName, error: unknown, interrupted: boolean, scrub: (text: string) => string): StagecraftError {
  if (interrupted) {
    const reason = error instanceof Interrupted ? error : new Interrupted('signal');
    if (error instanceof PhaseFailure && !reason.update) reason.update = error.update;
    return reason;
  }
  if (error instanceof PhaseFailure) return error;
  if (error instanceof StagecraftError) return new PhaseFailure(phase, error.message, error.exitCode === ExitCode.user ? ExitCode.user : PHASE_EXIT[phase], { hint: error.hint, cause: error });
  return new PhaseFailure(phase, scrubError(error, scrub), PHASE_EXIT[phase], { cause: error });
}
