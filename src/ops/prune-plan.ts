/**
 * The prune plan: per host, which app containers and images go and which stay, and why. Pure:
 * from the facts read on each host (host-facts.ts) and `keep`. Stays: every running container,
 * the proxy's target, the newest `keep` stopped containers per role (for rollback), and every
 * image some remaining container uses. Goes: older stopped app containers, and images of the
 * service's repository that no remaining container uses. The proxy, migration and backup
 * containers are not app containers: the facts never hold them, so a plan never touches them.
 */
import type { AppContainerFact, PruneFacts, UnreadHost } from './host-facts.js';

export interface ContainerDecision {
  name: string;
  id: string;
  role: string;
  version: string;
  created_at: string;
  state: string;
  reason: string;
}

export interface ImageDecision {
  id: string;
  refs: string[];
  /** Versions of the app containers created from it (the name an operator knows it by). */
  versions: string[];
  reason: string;
}

export interface HostPrunePlan {
  address: string;
  remove_containers: ContainerDecision[];
  keep_containers: ContainerDecision[];
  remove_images: ImageDecision[];
  keep_images: ImageDecision[];
}

export interface PrunePlan {
  service: string;
  environment: string;
  /** Stopped app containers kept per host and role. */
  keep: number;
  hosts: (HostPrunePlan | UnreadHost)[];
}

export function isUnread(host: HostPrunePlan | UnreadHost): host is UnreadHost {
  return 'error' in host;
}

function decision(container: AppContainerFact, reason: string): ContainerDecision {
  return { name: container.name, id: container.id, role: container.role, version: container.version, created_at: container.created_at, state: container.state, reason };
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** Facts' containers are newest first already; sorted again so a plan never depends on the order given. */
function newestFirst(containers: readonly AppContainerFact[]): AppContainerFact[] {
  return [...containers].sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : a.name.localeCompare(b.name)));
}

export function planHostPrune(facts: PruneFacts, keep: number): HostPrunePlan {
  const removeContainers: ContainerDecision[] = [];
  const keepContainers: ContainerDecision[] = [];
  const roles = [...new Set(facts.containers.map((container) => container.role))].sort();
  for (const role of roles) {
    let oldKept = 0;
    for (const container of newestFirst(facts.containers.filter((c) => c.role === role))) {
      const target = facts.proxy.target === container.name;
      if (container.running) {
        keepContainers.push(decision(container, target ? 'running, the proxy\'s target' : 'running'));
      } else if (target) {
        keepContainers.push(decision(container, 'the proxy\'s target'));
      } else if (oldKept < keep) {
        oldKept++;
        keepContainers.push(decision(container, `kept for rollback: one of the newest ${plural(keep, `stopped ${role} container`)}`));
      } else {
        removeContainers.push(decision(container, `older than the newest ${plural(keep, `stopped ${role} container`)}`));
      }
    }
  }
  // The engine's list of who uses an image covers every container on the host, of any service.
  const removed = new Set(removeContainers.map((container) => container.name));
  const removeImages: ImageDecision[] = [];
  const keepImages: ImageDecision[] = [];
  for (const image of facts.images) {
    const users = (facts.image_users[image.id] ?? []).filter((name) => !removed.has(name)).sort();
    const versions = [...new Set(facts.containers.filter((c) => c.image_id === image.id).map((c) => c.version))].sort();
    const entry = (reason: string): ImageDecision => ({ id: image.id, refs: [...image.refs].sort(), versions, reason });
    if (users.length > 0) keepImages.push(entry(`used by ${users.join(', ')}`));
    else removeImages.push(entry((facts.image_users[image.id] ?? []).length > 0 ? 'used only by containers this prune removes' : 'used by no container'));
  }
  return { address: facts.address, remove_containers: removeContainers, keep_containers: keepContainers, remove_images: removeImages, keep_images: keepImages };
}

export function planPrune(input: { service: string; environment: string; keep: number; hosts: (PruneFacts | UnreadHost)[] }): PrunePlan {
  if (!Number.isInteger(input.keep) || input.keep < 0) throw new RangeError(`keep must be a whole number >= 0, got ${input.keep}`);
  return {
    service: input.service,
    environment: input.environment,
    keep: input.keep,
    hosts: input.hosts.map((host) => ('error' in host ? host : planHostPrune(host, input.keep))),
  };
}

/** `repo:v2`, or `repo@sha256:0123456789ab (v2)` for an image pulled by digest: names an operator knows. */
export function imageLabel(image: Pick<ImageDecision, 'id' | 'refs' | 'versions'>): string {
  const tag = image.refs.find((ref) => !ref.includes('@'));
  const pinned = image.refs.find((ref) => ref.includes('@'));
  const shortId = image.id.replace(/^sha256:/, '').slice(0, 12);
  const name = tag ?? (pinned ? pinned.slice(0, pinned.indexOf('@') + 20) : shortId);
  return image.versions.length > 0 ? `${name} (${image.versions.join(', ')})` : `${name} (image ${shortId})`;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

export function pruneHeading(plan: Pick<PrunePlan, 'service' | 'environment' | 'keep'>): string {
  return `prune ${plan.service}/${plan.environment}: keep the newest ${plural(plan.keep, 'stopped app container')} per host and role`;
}

/** The plan as `--dry-run` prints it: per host every container and image with what happens to it and why. */
export function formatPrunePlan(plan: PrunePlan): string {
  const lines = [pruneHeading(plan)];
  for (const host of plan.hosts) {
    if (isUnread(host)) {
      lines.push(`${host.address}: not read: ${host.error}`);
      continue;
    }
    lines.push(host.address);
    const containers = [...host.remove_containers.map((c) => ['remove', c] as const), ...host.keep_containers.map((c) => ['keep', c] as const)];
    const width = Math.max(0, ...containers.map(([, c]) => c.name.length));
    for (const [action, c] of containers) lines.push(`  ${pad(action, 6)} container ${pad(c.name, width)}  ${c.role} ${c.version}, ${c.state}: ${c.reason}`);
    for (const image of host.remove_images) lines.push(`  remove image ${imageLabel(image)}: ${image.reason}`);
    for (const image of host.keep_images) lines.push(`  keep   image ${imageLabel(image)}: ${image.reason}`);
    if (containers.length === 0 && host.remove_images.length === 0 && host.keep_images.length === 0) lines.push('  no app containers or images of this service');
  }
  return lines.join('\n');
}

/** `N containers and M images` over the whole plan. */
export function pruneTotals(plan: PrunePlan): { containers: number; images: number } {
  let containers = 0;
  let images = 0;
  for (const host of plan.hosts) {
    if (isUnread(host)) continue;
    containers += host.remove_containers.length;
    images += host.remove_images.length;
  }
  return { containers, images };
}

export { plural };
