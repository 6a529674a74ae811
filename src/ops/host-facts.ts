/**
 * What runs on one host for one service and environment, read through the Docker API (read-only):
 * the app containers (found by their labels), the proxy and where it points, and for `prune` the
 * images of the service's repository and every image any container on the host still uses.
 * `details` and `prune` plan from these facts; nothing here decides anything.
 */
import type Dockerode from 'dockerode';
import type { LoadedConfig, ResolvedConfig } from '../config/index.js';
import { PRIMARY_ROLE } from '../config/index.js';
import { digestOf } from '../plan/image-ref.js';
import type { DockerOps } from '../remote/docker-ops.js';
import { readProxy } from '../rollout/proxy.js';

/** Roles of containers that are not the app: the proxy, one-offs, accessories. Never listed as app, never pruned. */
export const NON_APP_ROLES: ReadonlySet<string> = new Set(['proxy', 'migrate', 'migrate-files', 'backup', 'accessory']);

/**
 * The roles app containers of this config carry: `web` (what every host runs today) and every role
 * a host is given, except `primary` (a duty, not a container) and NON_APP_ROLES. A
 * container whose role is not one of these (an accessory, something stagecraft does not know) is
 * never touched.
 */
export function appRoles(config: Pick<ResolvedConfig, 'hosts'>): string[] {
  const roles = new Set(['web']);
  for (const host of config.hosts) for (const role of host.roles) if (role !== PRIMARY_ROLE && !NON_APP_ROLES.has(role)) roles.add(role);
  return [...roles];
}

/** The proxy sends traffic to this role only; other roles have no "serving" container. */
export const PROXIED_ROLE = 'web';

export function proxyContainerName(service: string): string {
  return `${service}-proxy`;
}

export interface AppContainerFact {
  id: string;
  name: string;
  role: string;
  version: string;
  /** The reference it was created from (`repo:v3`, or `repo@sha256:…` for a rollback). */
  image: string;
  image_id: string;
  /** The registry digest of its image, when the image came from (or went to) a registry. */
  digest: string | null;
  /** Creation time, ISO 8601: "newest" means this. */
  created_at: string;
  /** null when it never started. */
  started_at: string | null;
  finished_at: string | null;
  /** Docker's state: running, exited, created, restarting, paused, dead. */
  state: string;
  running: boolean;
  exit_code: number | null;
}

export interface ProxyFact {
  /** The proxy container's name, or null when there is none on the host. */
  container: string | null;
  /** The container it sends traffic to now (null: no proxy, or it is not running). */
  target: string | null;
}

export interface ImageFact {
  id: string;
  /** Its references in the service's repository only (`repo:v1`, `repo@sha256:…`). */
  refs: string[];
}

export interface HostFacts {
  address: string;
  containers: AppContainerFact[];
  proxy: ProxyFact;
}

export interface PruneFacts extends HostFacts {
  /** Images with at least one reference in the service's repository. */
  images: ImageFact[];
  /** Image id → names of the containers (any service, any role) created from it. */
  image_users: Record<string, string[]>;
}

/** A host that could not be read (unreachable, or its engine failed): why. */
export interface UnreadHost {
  address: string;
  error: string;
}

export interface Scope {
  service: string;
  environment: string;
  /** The service's image repository (`image:` in stagecraft.yml). */
  repository: string;
  appRoles: readonly string[];
}

export function scopeOf(loaded: Pick<LoadedConfig, 'config' | 'environment'>): Scope {
  return { service: loaded.config.service, environment: loaded.environment, repository: loaded.config.image, appRoles: appRoles(loaded.config) };
}

function nameOf(info: Pick<Dockerode.ContainerInfo, 'Names' | 'Id'>): string {
  return info.Names[0]?.replace(/^\//, '') ?? info.Id.slice(0, 12);
}

/** Docker's zero time means "never". */
function timeOrNull(value: string | undefined): string | null {
  return value === undefined || value === '' || value.startsWith('0001-01-01') ? null : value;
}

export function inRepository(ref: string, repository: string): boolean {
  return ref.startsWith(`${repository}:`) || ref.startsWith(`${repository}@`);
}

async function digestFor(ops: DockerOps, image: string, imageId: string, repository: string, cache: Map<string, string | null>): Promise<string | null> {
  const pinned = digestOf(image);
  if (pinned) return pinned;
  if (!cache.has(imageId)) {
    const info = await ops.inspectImage(imageId);
    const digests = info?.RepoDigests ?? [];
    const own = digests.find((ref) => inRepository(ref, repository)) ?? digests[0];
    cache.set(imageId, own ? (digestOf(own) ?? null) : null);
  }
  return cache.get(imageId) ?? null;
}

/** The app containers of the scope on this host, running or not, newest first. */
async function readAppContainers(ops: DockerOps, scope: Scope): Promise<AppContainerFact[]> {
  const listed = await ops.listContainers({ all: true, labels: { 'stagecraft.service': scope.service, 'stagecraft.environment': scope.environment } });
  const digests = new Map<string, string | null>();
  const facts: AppContainerFact[] = [];
  for (const info of listed) {
    const role = info.Labels['stagecraft.role'];
    if (role === undefined || !scope.appRoles.includes(role)) continue;
    const inspected = await ops.inspectContainer(info.Id);
    if (!inspected) continue; // removed between the list and the inspect
    facts.push({
      id: info.Id,
      name: nameOf(info),
      role,
      version: info.Labels['stagecraft.version'] ?? '',
      image: inspected.Config.Image,
      image_id: info.ImageID,
      digest: await digestFor(ops, inspected.Config.Image, info.ImageID, scope.repository, digests),
      created_at: new Date(info.Created * 1000).toISOString(),
      started_at: timeOrNull(inspected.State.StartedAt),
      finished_at: timeOrNull(inspected.State.FinishedAt),
      state: inspected.State.Status,
      running: inspected.State.Running,
      exit_code: inspected.State.Running ? null : inspected.State.ExitCode,
    });
  }
  return facts.sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : a.name.localeCompare(b.name)));
}

async function readProxyFact(ops: DockerOps, scope: Scope): Promise<ProxyFact> {
  const container = proxyContainerName(scope.service);
  const proxy = await readProxy(ops, { container });
  // Every proxy stagecraft creates carries the environment label: none means no proxy container.
  return { container: proxy.environment === undefined ? null : container, target: proxy.target ?? null };
}

export async function readHostFacts(address: string, ops: DockerOps, scope: Scope): Promise<HostFacts> {
  return { address, containers: await readAppContainers(ops, scope), proxy: await readProxyFact(ops, scope) };
}

/** What `prune` needs besides the containers: the repository's images and who uses each image. */
export async function readPruneFacts(address: string, ops: DockerOps, scope: Scope): Promise<PruneFacts> {
  const facts = await readHostFacts(address, ops, scope);
  const everyContainer = await ops.listContainers({ all: true });
  const users: Record<string, string[]> = {};
  for (const info of everyContainer) (users[info.ImageID] ??= []).push(nameOf(info));
  const images = await ops.listImages();
  const own = images
    .map((image) => ({ id: image.Id, refs: [...(image.RepoTags ?? []), ...(image.RepoDigests ?? [])].filter((ref) => inRepository(ref, scope.repository)) }))
    .filter((image) => image.refs.length > 0);
  return { ...facts, images: own, image_users: users };
}
