/**
 * What one accessory's container is, as data: name, labels, environment, ports, volumes and the
 * Docker create options built from them. Pure: no host, no Docker.
 */
import type Dockerode from 'dockerode';
import type { AccessoryConfig } from '../config/schema.js';
import { PRIMARY_ROLE } from '../config/index.js';

export const ACCESSORY_ROLE = 'accessory';

export interface AccessoryVolume {
  /** `named`: a Docker volume, kept until `accessory remove --volumes`; `bind`: a host path. */
  kind: 'named' | 'bind';
  /** The volume's name, or the host path. */
  source: string;
  target: string;
  readOnly: boolean;
  /** As written in stagecraft.yml (what goes to Docker's Binds). */
  bind: string;
}

export interface PublishedPort {
  /** Empty: every interface of the host. */
  hostIp: string;
  host: number;
  container: number;
}

export interface AccessorySpec {
  name: string;
  service: string;
  environment: string;
  /** The host's address (`primary` resolved). */
  host: string;
  container: string;
  image: string;
  network: string;
  cmd: string[] | undefined;
  /** env.clear and the env.secret values: holds secrets, never print it (see envNames). */
  env: Readonly<Record<string, string>>;
  clearEnv: Readonly<Record<string, string>>;
  secretNames: readonly string[];
  labels: Record<string, string>;
  port: PublishedPort | undefined;
  volumes: AccessoryVolume[];
}

export function accessoryContainerName(service: string, name: string): string {
  return `${service}-${name}`;
}

export function accessoryLabels(service: string, environment: string, name: string): Record<string, string> {
  return {
    'stagecraft.service': service,
    'stagecraft.environment': environment,
    'stagecraft.role': ACCESSORY_ROLE,
    'stagecraft.accessory': name,
  };
}

/** `5432`, `"8080:80"` or `"127.0.0.1:8080:80"` (the schema has checked the shape). */
export function parsePort(port: AccessoryConfig['port']): PublishedPort | undefined {
  if (port === undefined) return undefined;
  if (typeof port === 'number') return { hostIp: '', host: port, container: port };
  const parts = port.split(':');
  const [container, host, ip] = [parts.pop(), parts.pop(), parts.pop()];
  return { hostIp: ip ?? '', host: Number(host), container: Number(container) };
}

export function parseVolume(volume: string): AccessoryVolume {
  const parts = volume.split(':');
  const mode = parts.length === 3 ? parts[2] : undefined;
  const source = parts[0] ?? '';
  return {
    kind: source.startsWith('/') ? 'bind' : 'named',
    source,
    target: parts[1] ?? '',
    readOnly: mode === 'ro',
    bind: volume,
  };
}

export interface AccessorySpecInput {
  service: string;
  environment: string;
  primary: string;
  name: string;
  config: AccessoryConfig;
  /** The values of the accessory's env.secret names. */
  secretEnv: Readonly<Record<string, string>>;
}

export function accessorySpec(input: AccessorySpecInput): AccessorySpec {
  const { config } = input;
  return {
    name: input.name,
    service: input.service,
    environment: input.environment,
    host: config.host === PRIMARY_ROLE ? input.primary : config.host,
    container: accessoryContainerName(input.service, input.name),
    image: config.image,
    network: `${input.service}-net`,
    cmd: config.cmd === undefined ? undefined : [...config.cmd],
    env: { ...config.env.clear, ...input.secretEnv },
    clearEnv: { ...config.env.clear },
    secretNames: [...config.env.secret],
    labels: accessoryLabels(input.service, input.environment, input.name),
    port: parsePort(config.port),
    volumes: config.volumes.map(parseVolume),
  };
}

/** `KEY=value` for clear variables, `KEY=[secret]` for secret ones: what may be shown of the env. */
export function envForDisplay(spec: Pick<AccessorySpec, 'clearEnv' | 'secretNames'>): string[] {
  return [...Object.entries(spec.clearEnv).map(([key, value]) => `${key}=${value}`), ...spec.secretNames.map((name) => `${name}=[secret]`)];
}

export function formatPort(port: PublishedPort): string {
  return `${port.hostIp ? `${port.hostIp}:` : ''}${port.host}->${port.container}/tcp`;
}

/**
 * The Docker API's create request. The environment goes in its body (never argv); the app reaches
 * the accessory on the service's network by container name or by the accessory's name.
 */
export function containerCreateOptions(spec: AccessorySpec): Dockerode.ContainerCreateOptions {
  const portKey = spec.port ? `${spec.port.container}/tcp` : undefined;
  return {
    name: spec.container,
    Image: spec.image,
    ...(spec.cmd ? { Cmd: spec.cmd } : {}),
    Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
    Labels: spec.labels,
    ...(portKey ? { ExposedPorts: { [portKey]: {} } } : {}),
    HostConfig: {
      NetworkMode: spec.network,
      RestartPolicy: { Name: 'unless-stopped' },
      ...(spec.volumes.length > 0 ? { Binds: spec.volumes.map((volume) => volume.bind) } : {}),
      ...(portKey && spec.port ? { PortBindings: { [portKey]: [{ HostIp: spec.port.hostIp, HostPort: String(spec.port.host) }] } } : {}),
    },
    NetworkingConfig: { EndpointsConfig: { [spec.network]: { Aliases: [spec.name] } } },
  };
}
