/** `stagecraft accessory details`: what runs for each accessory on its host, read-only. */
import type Dockerode from 'dockerode';
import type { DockerOps } from '../remote/docker-ops.js';
import type { AccessorySpec } from './spec.js';

export interface AccessoryDetails {
  name: string;
  host: string;
  container: string;
  /** The image stagecraft.yml names. */
  image: string;
  /** The image the container runs (null when there is none). */
  running_image: string | null;
  /** Docker's state (`running`, `exited`, …) or `not booted`. */
  state: string;
  started_at: string | null;
  ports: string[];
  volumes: { kind: 'volume' | 'bind' | string; source: string; destination: string; read_only: boolean }[];
}

function timeOrNull(value: string | undefined): string | null {
  return value && !value.startsWith('0001-') ? value : null;
}

/** `0.0.0.0:8199->80/tcp`-style lines from the inspected port bindings. */
export function publishedPorts(bindings: Dockerode.HostConfig['PortBindings'] | undefined): string[] {
  const lines: string[] = [];
  for (const [containerPort, hostPorts] of Object.entries((bindings ?? {}) as Record<string, { HostIp?: string; HostPort?: string }[] | null>)) {
    for (const binding of hostPorts ?? []) lines.push(`${binding.HostIp || '0.0.0.0'}:${binding.HostPort ?? '?'}->${containerPort}`);
  }
  return lines.sort();
}

export function detailsOf(spec: AccessorySpec, info: Dockerode.ContainerInspectInfo | undefined): AccessoryDetails {
  const base = { name: spec.name, host: spec.host, container: spec.container, image: spec.image };
  if (!info) return { ...base, running_image: null, state: 'not booted', started_at: null, ports: [], volumes: [] };
  return {
    ...base,
    running_image: info.Config.Image,
    state: info.State.Status,
    started_at: info.State.Running ? timeOrNull(info.State.StartedAt) : null,
    ports: publishedPorts(info.HostConfig.PortBindings as Dockerode.HostConfig['PortBindings']),
    volumes: (info.Mounts ?? []).map((mount) => ({
      kind: mount.Type,
      source: mount.Type === 'volume' ? (mount.Name ?? mount.Source) : mount.Source,
      destination: mount.Destination,
      read_only: mount.RW === false,
    })),
  };
}

export async function readAccessoryDetails(ops: DockerOps, spec: AccessorySpec): Promise<AccessoryDetails> {
  return detailsOf(spec, await ops.inspectContainer(spec.container));
}

export function formatAccessoryDetails(details: readonly AccessoryDetails[]): string {
  const lines: string[] = [];
  for (const d of details) {
    lines.push(`${d.name} on ${d.host}: ${d.container}`);
    lines.push(`  state:   ${d.state}${d.started_at ? ` (started ${d.started_at})` : ''}`);
    const differs = d.running_image !== null && d.running_image !== d.image ? ` (stagecraft.yml says ${d.image}: reboot to apply)` : '';
    lines.push(`  image:   ${d.running_image ?? d.image}${differs}`);
    lines.push(`  ports:   ${d.ports.length > 0 ? d.ports.join(', ') : '-'}`);
    if (d.volumes.length === 0) lines.push('  volumes: -');
    for (const volume of d.volumes) lines.push(`  volume:  ${volume.source} -> ${volume.destination} (${volume.kind}${volume.read_only ? ', read-only' : ''})`);
  }
  return `${lines.join('\n')}\n`;
}
