/**
 * `stagecraft accessory boot|reboot|stop|remove`: which accessories, and the steps on each one's
 * host, as data (`--dry-run` prints it; the executor walks it).
 */
import type { LoadedConfig } from '../config/index.js';
import { UserError } from '../errors.js';
import { credentialsFor } from '../plan/image-ref.js';
import { primaryHost } from '../plan/plan-deploy.js';
import { quoteValue } from '../user-text.js';
import { accessorySpec, envForDisplay, formatPort, type AccessorySpec } from './spec.js';

export const ACCESSORY_VERBS = ['boot', 'reboot', 'stop', 'remove'] as const;
export type AccessoryVerb = (typeof ACCESSORY_VERBS)[number];

export type AccessoryStep =
  | { action: 'ensure-network'; network: string }
  | { action: 'pull'; image: string; registry_login: boolean }
  | { action: 'create-volume'; volume: string }
  | { action: 'create'; container: string }
  | { action: 'start'; container: string }
  | { action: 'stop'; container: string }
  | { action: 'remove'; container: string }
  | { action: 'remove-volume'; volume: string };

export interface PlannedAccessory {
  spec: AccessorySpec;
  steps: AccessoryStep[];
}

export interface AccessoryPlan {
  verb: AccessoryVerb;
  environment: string;
  /** `remove --volumes`. */
  removeVolumes: boolean;
  accessories: PlannedAccessory[];
}

/** Seconds between SIGTERM and SIGKILL: a database needs time to shut down cleanly. */
export const ACCESSORY_STOP_GRACE_S = 30;

/** The accessories a command names: one NAME, or `all`. An unknown name lists the configured ones. */
export function selectAccessories(loaded: Pick<LoadedConfig, 'config' | 'environment'>, name: string): string[] {
  const configured = Object.keys(loaded.config.accessories);
  if (name === 'all') {
    if (configured.length === 0) throw new UserError(`no accessories are configured for environment ${quoteValue(loaded.environment)} (add them under accessories: in stagecraft.yml)`);
    return configured;
  }
  if (!configured.includes(name)) {
    const list = configured.length > 0 ? `accessories: ${configured.join(', ')}` : 'no accessories are configured';
    throw new UserError(`unknown accessory ${quoteValue(name)} for environment ${quoteValue(loaded.environment)} (${list})`);
  }
  return [name];
}

export function accessorySpecs(loaded: Pick<LoadedConfig, 'config' | 'environment' | 'accessorySecretEnv'>, names: readonly string[]): AccessorySpec[] {
  const primary = primaryHost(loaded.config);
  return names.map((name) =>
    accessorySpec({
      service: loaded.config.service,
      environment: loaded.environment,
      primary,
      name,
      config: loaded.config.accessories[name]!,
      secretEnv: loaded.accessorySecretEnv?.[name] ?? {},
    }),
  );
}

function bootSteps(spec: AccessorySpec, registryServer: string | undefined): AccessoryStep[] {
  const login = registryServer !== undefined && credentialsFor(spec.image, { serveraddress: registryServer }) !== undefined;
  return [
    { action: 'ensure-network', network: spec.network },
    { action: 'pull', image: spec.image, registry_login: login },
    ...spec.volumes.filter((volume) => volume.kind === 'named').map((volume): AccessoryStep => ({ action: 'create-volume', volume: volume.source })),
    { action: 'create', container: spec.container },
    { action: 'start', container: spec.container },
  ];
}

export function planAccessories(
  verb: AccessoryVerb,
  specs: readonly AccessorySpec[],
  options: { environment: string; registryServer?: string | undefined; removeVolumes?: boolean },
): AccessoryPlan {
  const removeVolumes = verb === 'remove' && options.removeVolumes === true;
  const accessories = specs.map((spec): PlannedAccessory => {
    const stop: AccessoryStep = { action: 'stop', container: spec.container };
    const remove: AccessoryStep = { action: 'remove', container: spec.container };
    switch (verb) {
      case 'boot':
        return { spec, steps: bootSteps(spec, options.registryServer) };
      case 'reboot':
        return { spec, steps: [stop, remove, ...bootSteps(spec, options.registryServer)] };
      case 'stop':
        return { spec, steps: [stop] };
      case 'remove': {
        const volumes = removeVolumes ? spec.volumes.filter((volume) => volume.kind === 'named') : [];
        return { spec, steps: [stop, remove, ...volumes.map((volume): AccessoryStep => ({ action: 'remove-volume', volume: volume.source }))] };
      }
    }
  });
  return { verb, environment: options.environment, removeVolumes, accessories };
}

function describeStep(step: AccessoryStep): string {
  switch (step.action) {
    case 'ensure-network':
      return `network ${step.network} (created when missing)`;
    case 'pull':
      return `pull ${step.image}${step.registry_login ? ' with the registry login' : ''}`;
    case 'create-volume':
      return `volume ${step.volume} (created when missing, kept across reboot)`;
    case 'create':
      return `create container ${step.container}`;
    case 'start':
      return `start ${step.container}`;
    case 'stop':
      return `stop ${step.container} (up to ${ACCESSORY_STOP_GRACE_S}s before SIGKILL)`;
    case 'remove':
      return `remove container ${step.container}`;
    case 'remove-volume':
      return `remove volume ${step.volume}`;
  }
}

/** The plan as `--dry-run` prints it: per accessory its container and the steps on its host. */
export function formatAccessoryPlan(plan: AccessoryPlan): string {
  const lines = [`accessory ${plan.verb} on ${plan.environment} (dry run: nothing is changed)`];
  for (const { spec, steps } of plan.accessories) {
    lines.push(`${spec.name} on ${spec.host}: ${spec.container} (${spec.image})`);
    if (plan.verb === 'boot' || plan.verb === 'reboot') {
      if (spec.cmd) lines.push(`  cmd: ${JSON.stringify(spec.cmd)}`);
      if (spec.port) lines.push(`  port: ${formatPort(spec.port)}`);
      for (const volume of spec.volumes) lines.push(`  volume: ${volume.bind} (${volume.kind === 'named' ? 'Docker volume' : 'bind mount'})`);
      const env = envForDisplay(spec);
      if (env.length > 0) lines.push(`  env: ${env.join(' ')}`);
    }
    steps.forEach((step, index) => lines.push(`  ${index + 1}. ${describeStep(step)}`));
  }
  return `${lines.join('\n')}\n`;
}

/** The plan as `--dry-run --json` prints it: no secret values, only their names. */
export function accessoryPlanJson(plan: AccessoryPlan): unknown {
  return {
    verb: plan.verb,
    environment: plan.environment,
    remove_volumes: plan.removeVolumes,
    accessories: plan.accessories.map(({ spec, steps }) => ({
      name: spec.name,
      host: spec.host,
      container: spec.container,
      image: spec.image,
      cmd: spec.cmd ?? null,
      port: spec.port ?? null,
      volumes: spec.volumes.map((volume) => volume.bind),
      env: { clear: spec.clearEnv, secret: spec.secretNames },
      labels: spec.labels,
      steps,
    })),
  };
}
