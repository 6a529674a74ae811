/**
 * `stagecraft details`: what runs in an environment, as one document. Pure: built from the facts
 * read on each host (host-facts.ts), the deploy lock as read on the primary, and the current
 * release. `--json` prints the document; the text view formats the same data.
 */
import type { LockDetails, LockFileContent } from '../lock/deploy-lock.js';
import { describeHolder } from '../lock/deploy-lock.js';
import { recordedImageRef } from '../plan/image-ref.js';
import type { Release } from '../releases/record.js';
import type { AppContainerFact, HostFacts, UnreadHost } from './host-facts.js';
import { PROXIED_ROLE } from './host-facts.js';

export interface DetailsContainer {
  name: string;
  version: string;
  image: string;
  digest: string | null;
  started_at: string | null;
  /** Docker's state: running, exited, created, … */
  state: string;
  /** serving, standby, running (a role the proxy does not front), exited (CODE), or the state. */
  health: string;
}

export interface DetailsHost {
  address: string;
  reachable: boolean;
  error?: string;
  roles: { role: string; containers: DetailsContainer[] }[];
  proxy: { container: string | null; target: string | null };
}

export interface DetailsLock {
  /** null when the lock could not be read (`error` says why). */
  locked: boolean | null;
  holder: LockDetails | null;
  corrupt?: string;
  error?: string;
}

export interface DetailsRelease {
  id: string;
  kind: string;
  version: string;
  /** The image it ran, pinned to its digest when one was recorded. */
  image: string;
  digest: string | null;
  commit: string | null;
  actor: string;
  finished_at: string | null;
}

export interface Details {
  service: string;
  environment: string;
  current_release: DetailsRelease | null;
  lock: DetailsLock;
  hosts: DetailsHost[];
}

export function healthOf(container: Pick<AppContainerFact, 'name' | 'role' | 'running' | 'state' | 'exit_code'>, proxyTarget: string | null): string {
  if (container.running) {
    if (container.role !== PROXIED_ROLE) return 'running';
    return proxyTarget === container.name ? 'serving' : 'standby';
  }
  if (container.state === 'exited' || container.state === 'dead') return `exited (${container.exit_code ?? '?'})`;
  return container.state;
}

export function lockView(found: LockFileContent | { error: string }): DetailsLock {
  if ('error' in found) return { locked: null, holder: null, error: found.error };
  if (found.state === 'held') return { locked: true, holder: found.holder };
  if (found.state === 'corrupt') return { locked: true, holder: null, corrupt: found.reason };
  return { locked: false, holder: null };
}

export function releaseView(release: Release | undefined): DetailsRelease | null {
  if (!release) return null;
  return {
    id: release.id,
    kind: release.kind,
    version: release.version,
    image: recordedImageRef(release.image),
    digest: release.image.digest ?? null,
    commit: release.commit ?? null,
    actor: release.actor,
    finished_at: release.finished_at ?? null,
  };
}

function hostView(host: HostFacts | UnreadHost, roleOrder: readonly string[]): DetailsHost {
  if ('error' in host) return { address: host.address, reachable: false, error: host.error, roles: [], proxy: { container: null, target: null } };
  const rank = (role: string) => (roleOrder.includes(role) ? roleOrder.indexOf(role) : roleOrder.length);
  const roles = [...new Set(host.containers.map((container) => container.role))].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return {
    address: host.address,
    reachable: true,
    roles: roles.map((role) => ({
      role,
      // Running ones first, then the stopped ones kept for rollback, each newest first.
      containers: host.containers
        .filter((container) => container.role === role)
        .sort((a, b) => Number(b.running) - Number(a.running) || (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0))
        .map((container) => ({
          name: container.name,
          version: container.version,
          image: container.image,
          digest: container.digest,
          started_at: container.started_at,
          state: container.state,
          health: healthOf(container, host.proxy.target),
        })),
    })),
    proxy: { ...host.proxy },
  };
}

export function buildDetails(input: {
  service: string;
  environment: string;
  release: Release | undefined;
  lock: DetailsLock;
  /** In config order. */
  hosts: (HostFacts | UnreadHost)[];
  roleOrder: readonly string[];
}): Details {
  return {
    service: input.service,
    environment: input.environment,
    current_release: releaseView(input.release),
    lock: input.lock,
    hosts: input.hosts.map((host) => hostView(host, input.roleOrder)),
  };
}

function shortDigest(digest: string | null): string {
  return digest ? digest.slice(0, 19) : '-';
}

function table(rows: string[][]): string[] {
  const widths = rows.reduce<number[]>((w, row) => row.map((cell, i) => Math.max(w[i] ?? 0, cell.length)), []);
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd());
}

function lockText(lock: DetailsLock, now: number): string {
  if (lock.error !== undefined) return `deploy lock: not read (${lock.error})`;
  if (lock.corrupt !== undefined) return `deploy lock: CORRUPT lock file (${lock.corrupt}); deploys refuse until \`stagecraft lock release\``;
  if (lock.holder) return `deploy lock: locked, ${describeHolder(lock.holder, now)}`;
  return 'deploy lock: not locked';
}

function releaseText(release: DetailsRelease | null): string {
  if (!release) return 'current release: none (nothing deployed yet)';
  const when = release.finished_at ? `, finished ${release.finished_at}` : '';
  return `current release: ${release.id} ${release.version} (${release.kind} by ${release.actor}${when})\n  image ${release.image}`;
}

/** The text view: environment summary, then per host (config order) the proxy and each role's containers. */
export function formatDetails(details: Details, now = Date.now()): string {
  const lines = [`${details.service}/${details.environment}`, releaseText(details.current_release), lockText(details.lock, now)];
  for (const host of details.hosts) {
    lines.push('');
    if (!host.reachable) {
      lines.push(`${host.address}: UNREACHABLE: ${host.error ?? 'unknown error'}`);
      continue;
    }
    const proxy = host.proxy.container === null ? 'no proxy' : `proxy ${host.proxy.container} → ${host.proxy.target ?? '(not running)'}`;
    lines.push(`${host.address}  ${proxy}`);
    if (host.roles.length === 0) lines.push('  no app containers');
    for (const role of host.roles) {
      lines.push(`  ${role.role}`);
      // A reference pinned to the digest says no more than the digest column.
      const rows = role.containers.map((c) => [c.name, c.version, c.health, c.started_at ? `started ${c.started_at}` : 'never started', shortDigest(c.digest), c.image.includes('@') ? '' : c.image]);
      lines.push(...table(rows).map((row) => `    ${row}`));
    }
  }
  return `${lines.join('\n')}\n`;
}
