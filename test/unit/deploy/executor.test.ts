import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { executePlan, Interrupted, type PhaseRunner } from '../../../src/apply/executor.js';
import type { Reporter } from '../../../src/apply/reporter.js';
import type { DeployPlan, PhaseName } from '../../../src/plan/deploy-plan.js';
import { PHASES } from '../../../src/plan/deploy-plan.js';
import { ReleaseStore } from '../../../src/releases/store.js';
import { pendingPhases } from '../../../src/releases/record.js';
import { ExitCode, StagecraftError, UserError } from '../../../src/errors.js';

const plan: DeployPlan = {
  kind: 'deploy',
  service: 'shop',
  environment: 'prod',
  version: 'v1',
  image: 'r/shop:v1',
  primary: 'h1',
  hosts: ['h1'],
  pull_images: true,
  phases: [
    { name: 'build', build: { context: '.', dockerfile: 'Dockerfile', args: {}, labels: {} } },
    { name: 'push' },
    { name: 'migrate_pre', migrations: [], not_run: [] },
    { name: 'rollout', rollout: {} as never },
    { name: 'migrate_post', skip: 'nothing to do here', migrations: [], not_run: [] },
    { name: 'finalize', audit_hosts: ['h1'] },
  ],
};

const events: string[] = [];
const reporter: Reporter = {
  phaseStarted: (phase) => events.push(`start ${phase}`),
  phaseFinished: (phase, status) => events.push(`${status} ${phase}`),
  info: () => undefined,
  output: () => undefined,
  hostUpdate: () => undefined,
  close: async () => undefined,
};

async function setup() {
  const store = new ReleaseStore(join(await mkdtemp(join(tmpdir(), 'sc-exec-')), 'releases.json'));
  const release = await store.append({
    environment: 'prod', service: 'shop', version: 'v1', image: { ref: 'r/shop:v1' }, actor: 'me', started_at: new Date().toISOString(),
    status: 'running', kind: 'deploy', phases: pendingPhases(), hosts: [{ address: 'h1', status: 'pending' }], migrations: [],
  });
  events.length = 0;
  return { store, id: release.id };
}

function runners(overrides: Partial<Record<PhaseName, PhaseRunner>> = {}): Record<PhaseName, PhaseRunner> {
  const ok: PhaseRunner = async () => ({});
  return Object.fromEntries(PHASES.map((name) => [name, overrides[name] ?? ok])) as Record<PhaseName, PhaseRunner>;
}

const scrub = (text: string) => text.replaceAll('s3cret', '[REDACTED]');

describe('executePlan', () => {
  it('runs every phase in order, records each, and completes the release', async () => {
    const { store, id } = await setup();
    const result = await executePlan(plan, id, store, runners({ push: async () => ({ update: (r) => (r.image.digest = 'sha256:abc') }) }), reporter, new AbortController().signal, scrub);
    expect(result).toEqual({ status: 'completed' });
    const release = (await store.get(id))!;
    expect(release.status).toBe('completed');
    expect(release.image.digest).toBe('sha256:abc');
    expect(Object.fromEntries(Object.entries(release.phases).map(([k, v]) => [k, v.status]))).toEqual({
      build: 'completed', push: 'completed', migrate_pre: 'completed', rollout: 'completed', migrate_post: 'skipped', finalize: 'completed',
    });
    // Each completed phase records when it ran: duration = finished - started, phases one after another.
    let previousEnd = Date.parse(release.started_at);
    for (const name of ['build', 'push', 'migrate_pre', 'rollout', 'finalize'] as const) {
      const phase = release.phases[name];
      const started = Date.parse(phase.started_at!);
      const finished = Date.parse(phase.finished_at!);
      expect(started).toBeGreaterThanOrEqual(previousEnd);
      expect(phase.duration_ms).toBe(finished - started);
      previousEnd = finished;
    }
    expect(Date.parse(release.finished_at!)).toBeGreaterThanOrEqual(previousEnd);
    expect(events).toEqual(['start build', 'completed build', 'start push', 'completed push', 'start migrate_pre', 'completed migrate_pre', 'start rollout', 'completed rollout', 'skipped migrate_post', 'start finalize', 'completed finalize']);
  });

  it('stops at the first failure: that phase failed, the rest skipped, exit code of the phase, secrets scrubbed', async () => {
    const { store, id } = await setup();
    let rolloutRan = false;
    const result = await executePlan(
      plan, id, store,
      runners({ migrate_pre: async () => { throw new Error('psql: password s3cret rejected'); }, rollout: async () => { rolloutRan = true; return {}; } }),
      reporter, new AbortController().signal, scrub,
    );
    expect(rolloutRan).toBe(false);
    expect(result.status).toBe('failed');
    expect(result.error?.exitCode).toBe(ExitCode.migration);
    const release = (await store.get(id))!;
    expect(release.status).toBe('failed');
    expect(release.phases.migrate_pre).toMatchObject({ status: 'failed', error: 'migrate_pre: psql: password [REDACTED] rejected' });
    expect([release.phases.rollout.status, release.phases.migrate_post.status, release.phases.finalize.status]).toEqual(['skipped', 'skipped', 'skipped']);
    expect(JSON.stringify(release)).not.toContain('s3cret');
  });

  it.each([
    ['build', ExitCode.build],
    ['push', ExitCode.build],
    ['rollout', ExitCode.rollout],
    ['finalize', ExitCode.internal],
  ] as const)('a failure in %s exits %i', async (phase, code) => {
    const { store, id } = await setup();
    const result = await executePlan(plan, id, store, runners({ [phase]: async () => { throw new Error('x'); } }), reporter, new AbortController().signal, scrub);
    expect(result.error?.exitCode).toBe(code);
  });

  it('keeps the exit code of a user error (a failing hook is exit 1)', async () => {
    const { store, id } = await setup();
    const result = await executePlan(plan, id, store, runners(), reporter, new AbortController().signal, scrub, {
      migrate_pre: async () => { throw new UserError('pre-deploy hook failed (exit 1)'); },
    });
    expect(result.error?.exitCode).toBe(ExitCode.user);
    expect((await store.get(id))!.phases.migrate_pre.status).toBe('failed');
  });

  it('runs a gate even before a skipped phase', async () => {
    const { store, id } = await setup();
    let gated = false;
    await executePlan(plan, id, store, runners(), reporter, new AbortController().signal, scrub, { migrate_post: async () => { gated = true; } });
    expect(gated).toBe(true);
    expect((await store.get(id))!.phases.migrate_post.status).toBe('skipped');
  });

  it('an abort marks the running phase and the release interrupted (exit 130)', async () => {
    const { store, id } = await setup();
    const controller = new AbortController();
    const result = await executePlan(
      plan, id, store,
      runners({ rollout: async () => { controller.abort(new Interrupted('SIGINT')); throw new StagecraftError('stopped', ExitCode.rollout); } }),
      reporter, controller.signal, scrub,
    );
    expect(result.status).toBe('interrupted');
    expect(result.error?.exitCode).toBe(ExitCode.interrupted);
    const release = (await store.get(id))!;
    expect(release.status).toBe('interrupted');
    expect(release.phases.rollout.status).toBe('interrupted');
    expect(release.phases.finalize.status).toBe('skipped');
  });
});
