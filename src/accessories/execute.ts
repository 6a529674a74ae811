/**
 * Walks an AccessoryPlan inside one session: per accessory, its steps on its host, then one audit
 * line on that host whatever happened. No deploy lock: deploy and rollback never touch accessories,
 * so the two cannot undo each other's work, and Docker's unique container names keep two boots of
 * one accessory from both creating it.
 */
import type Dockerode from 'dockerode';
import type { Session } from '../apply/session.js';
import { RefusedError } from '../errors.js';
import type { DockerOps, RegistryAuth } from '../remote/docker-ops.js';
import { ACCESSORY_STOP_GRACE_S, type AccessoryPlan, type AccessoryStep, type PlannedAccessory } from './plan.js';
import { ACCESSORY_ROLE, containerCreateOptions, type AccessorySpec } from './spec.js';

export interface AccessoryOutcome {
  name: string;
  host: string;
  container: string;
  status: 'completed' | 'unchanged' | 'failed';
  /** What happened, in a few words (`booted`, `already running`, `not booted: nothing to stop`). */
  detail: string;
  error?: string;
}

export interface AccessoryRunOptions {
  registryAuth?: RegistryAuth | undefined;
  log: (line: string) => void;
}

/** Labels that mark a container as this accessory of this service and environment. */
function ownership(info: Dockerode.ContainerInspectInfo, spec: AccessorySpec): 'ours' | 'other-environment' | 'foreign' {
  const labels = info.Config.Labels ?? {};
  if (labels['stagecraft.service'] !== spec.service || labels['stagecraft.role'] !== ACCESSORY_ROLE || labels['stagecraft.accessory'] !== spec.name) return 'foreign';
  return labels['stagecraft.environment'] === spec.environment ? 'ours' : 'other-environment';
}

function refuseNotOurs(info: Dockerode.ContainerInspectInfo, spec: AccessorySpec): void {
  const owner = ownership(info, spec);
  if (owner === 'ours') return;
  const held =
    owner === 'other-environment'
      ? `it is accessory ${spec.name} of environment "${info.Config.Labels?.['stagecraft.environment'] ?? '?'}"; one host serves one environment of a service`
      : 'it was not made by stagecraft for this accessory';
  throw new RefusedError(`${spec.host}: a container named ${spec.container} exists and ${held}; nothing was changed`, {
    hint: 'remove or rename that container, or give this accessory another name',
  });
}

class AccessoryRun {
  private existing: Dockerode.ContainerInspectInfo | undefined;
  private detail: string[] = [];

  constructor(
    private readonly ops: DockerOps,
    private readonly planned: PlannedAccessory,
    private readonly plan: AccessoryPlan,
    private readonly options: AccessoryRunOptions,
  ) {}

  private get spec(): AccessorySpec {
    return this.planned.spec;
  }

  private log(line: string): void {
    this.options.log(`${this.spec.name} (${this.spec.host}): ${line}`);
  }

  async run(): Promise<{ changed: boolean; detail: string }> {
    this.existing = await this.ops.inspectContainer(this.spec.container);
    if (this.existing) refuseNotOurs(this.existing, this.spec);
    if (this.plan.verb === 'boot' && this.existing?.State.Running) {
      this.log(`${this.spec.container} is already running (reboot applies config changes)`);
      return { changed: false, detail: 'already running' };
    }
    if (this.plan.verb === 'boot' && this.existing) {
      // Created before and stopped: start it as it is, like `docker start`.
      await this.ops.startContainer(this.spec.container);
      this.log(`started the existing ${this.spec.container} (reboot applies config changes)`);
      return { changed: true, detail: 'started the existing container' };
    }
    if ((this.plan.verb === 'stop' || this.plan.verb === 'remove') && !this.existing && !this.plan.removeVolumes) {
      this.log(`${this.spec.container} does not exist: nothing to ${this.plan.verb}`);
      return { changed: false, detail: `not booted: nothing to ${this.plan.verb}` };
    }
    if (this.plan.verb === 'stop' && this.existing && !this.existing.State.Running) {
      this.log(`${this.spec.container} is not running`);
      return { changed: false, detail: 'already stopped' };
    }
    for (const step of this.planned.steps) await this.step(step);
    return { changed: true, detail: this.detail.join(', ') };
  }

  private async step(step: AccessoryStep): Promise<void> {
    const { ops, spec } = this;
    switch (step.action) {
      case 'ensure-network':
        await ops.ensureNetwork(step.network, { 'stagecraft.service': spec.service });
        return;
      case 'pull':
        this.log(`pulling ${step.image}`);
        // Credentials go only when the image is on registry.server (credentialsFor inside pullImage).
        await ops.pullImage(step.image, this.options.registryAuth);
        return;
      case 'create-volume':
        if (await ops.inspectVolume(step.volume)) return;
        await ops.createVolume(step.volume, spec.labels);
        this.log(`created volume ${step.volume}`);
        return;
      case 'create':
        await ops.createContainer(containerCreateOptions(spec));
        return;
      case 'start':
        await ops.startContainer(step.container);
        this.log(`started ${step.container}`);
        this.detail.push(this.plan.verb === 'reboot' ? 'rebooted' : 'booted');
        return;
      case 'stop':
        if (!this.existing?.State.Running) return;
        await ops.stopContainer(step.container, ACCESSORY_STOP_GRACE_S);
        this.log(`stopped ${step.container}`);
        if (this.plan.verb === 'stop') this.detail.push('stopped');
        return;
      case 'remove':
        if (!this.existing) return;
        await ops.removeContainer(step.container, { force: true });
        this.log(`removed container ${step.container}`);
        if (this.plan.verb === 'remove') this.detail.push('container removed');
        return;
      case 'remove-volume':
        await this.removeVolume(step.volume);
        return;
    }
  }

  /** Only volumes this accessory made: one created by hand (or another service) is kept, with a note. */
  private async removeVolume(name: string): Promise<void> {
    const volume = await this.ops.inspectVolume(name);
    if (!volume) {
      this.log(`volume ${name} does not exist`);
      return;
    }
    const labels = volume.Labels ?? {};
    const ours = labels['stagecraft.service'] === this.spec.service && labels['stagecraft.accessory'] === this.spec.name && labels['stagecraft.environment'] === this.spec.environment;
    if (!ours) {
      this.log(`volume ${name} kept: stagecraft did not create it for this accessory`);
      this.detail.push(`volume ${name} kept (not created by stagecraft)`);
      return;
    }
    await this.ops.removeVolume(name);
    this.log(`removed volume ${name}`);
    this.detail.push(`volume ${name} removed`);
  }
}

/**
 * Runs every accessory of the plan in turn (each on its own host); a failure is recorded and the
 * next accessory still runs. Each host touched gets its audit line, failures included.
 */
export async function executeAccessoryPlan(session: Session, plan: AccessoryPlan, options: AccessoryRunOptions): Promise<{ outcomes: AccessoryOutcome[]; firstError: unknown }> {
  const outcomes: AccessoryOutcome[] = [];
  let firstError: unknown;
  for (const planned of plan.accessories) {
    const { spec } = planned;
    const base = { name: spec.name, host: spec.host, container: spec.container };
    let outcome: AccessoryOutcome;
    try {
      const host = await session.host(spec.host);
      const result = await new AccessoryRun(await host.dockerOps(), planned, plan, options).run();
      outcome = { ...base, status: result.changed ? 'completed' : 'unchanged', detail: result.detail };
    } catch (error) {
      const message = session.scrub(error instanceof Error ? error.message : String(error));
      outcome = { ...base, status: 'failed', detail: 'failed', error: message };
      firstError ??= error;
    }
    outcomes.push(outcome);
    const line = outcome.status === 'failed' ? `failed: ${outcome.error ?? ''}` : outcome.detail;
    const volumes = plan.removeVolumes ? ' --volumes' : '';
    for (const failure of await session.audit([spec.host], ['-', `accessory ${plan.verb}${volumes}`, `${spec.name} (${spec.container}): ${line}`])) {
      options.log(`warning: ${failure.address}: could not append to ~/.stagecraft/audit.log: ${failure.error}`);
    }
  }
  return { outcomes, firstError };
}
