import { splitImageRef } from '../plan/image-ref.js';
import { PassThrough } from 'node:stream';
import type { Host } from '../remote/host.js';
import { RefusedError } from '../errors.js';
import type { DockerOps } from '../remote/docker-ops.js';
import type { PlannedRollout } from '../plan/deploy-plan.js';
import { readProxy, switchProxy, type ProxySpec, type ProxyState } from './proxy.js';
import { probeHttp } from './health.js';
import { renderEnvFile } from './env-file.js';

export interface AppSpec {
  service: string;
  environment: string;
  version: string;
  image: string;
  container: string;
  env: Readonly<Record<string, string>>;
  /** Replaces the image's CMD (roles.<role>.cmd). */
  cmd?: readonly string[] | undefined;
  registryAuth?: { username: string; password: string; serveraddress: string } | undefined;
}

/** A host whose new container is running and healthy, not yet receiving traffic. */
export interface StagedHost {
  host: Host;
  ops: DockerOps;
  container: string;
  /** The container the proxy pointed at before this deploy (undefined on a first deploy). */
  previous: string | undefined;
  switched: boolean;
}

export type Log = (line: string) => void;

export function labelsFor(app: Pick<AppSpec, 'service' | 'environment' | 'version'>, role: string): Record<string, string> {
  return {
    'stagecraft.service': app.service,
    'stagecraft.environment': app.environment,
    'stagecraft.version': app.version,
    'stagecraft.role': role,
  };
}

export function proxySpec(plan: PlannedRollout, app: Pick<AppSpec, 'service' | 'environment' | 'version'>): ProxySpec {
  return {
    container: plan.proxy.container,
    image: plan.proxy.image,
    port: plan.proxy.port,
    network: plan.network,
    labels: { ...labelsFor(app, 'proxy'), 'stagecraft.version': 'proxy' },
  };
}

export function envFilePath(app: Pick<AppSpec, 'service' | 'environment'>): string {
  return `.stagecraft/env/${app.service}-${app.environment}.env`;
}

export async function recentLogs(ops: DockerOps, container: string): Promise<string> {
  const raw = await ops.docker
    .getContainer(container)
    .logs({ stdout: true, stderr: true, tail: 10, follow: false })
    .catch(() => undefined);
  if (!raw || raw.length === 0) return '';
  // Logs of a non-TTY container are multiplexed frames; docker-modem splits them.
  const source = new PassThrough();
  const text = new PassThrough();
  const chunks: Buffer[] = [];
  text.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<void>((resolve) => source.once('end', resolve));
  ops.docker.modem.demuxStream(source, text, text);
  source.end(raw);
  await ended;
  return Buffer.concat(chunks).toString('utf8').trim();
}

/** Sleeps `ms`, or rejects with the signal's reason as soon as it aborts. */
export function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Waits until the container answers the health path with 2xx, or fails naming what it saw last.
 * An abort (SIGINT) ends the wait at once: the health timeout may be many minutes.
 */
export async function waitHealthy(host: Host, ops: DockerOps, container: string, plan: PlannedRollout, log: Log, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + plan.healthcheck.timeout_ms;
  let last = 'no answer yet';
  for (;;) {
    signal?.throwIfAborted();
    const info = await ops.inspectContainer(container);
    if (!info?.State.Running) {
      const tail = await recentLogs(ops, container);
      throw new Error(`${container} exited with code ${info?.State.ExitCode ?? '?'} before it became healthy${tail ? `; last output:\n${tail}` : ''}`);
    }
    const ip = info.NetworkSettings.Networks[plan.network]?.IPAddress || undefined;
    if (ip) {
      const probe = await probeHttp((address, port) => host.openTcp(address, port), ip, plan.proxy.app_port, plan.healthcheck.path, Math.max(1000, plan.healthcheck.interval_ms * 2));
      if (probe.ok) {
        log(`${container} healthy (${probe.detail})`);
        return;
      }
      last = probe.detail;
    }
    if (Date.now() >= deadline) {
      throw new Error(`${container} not healthy after ${Math.round(plan.healthcheck.timeout_ms / 1000)}s: ${last}`);
    }
    await pause(plan.healthcheck.interval_ms, signal);
  }
}

/**
 * Container, proxy and network names are per service, so a host serves one environment of a
 * service. Deploying a second environment there would silently take over the first one's proxy.
 */
function refuseOtherEnvironment(host: Host, proxy: ProxyState, plan: PlannedRollout, app: AppSpec): void {
  if (proxy.environment && proxy.environment !== app.environment) {
    throw new RefusedError(
      `${host.name} already serves environment "${proxy.environment}" of ${app.service} (${plan.proxy.container}); one host serves one environment of a service`,
      { hint: `give this environment other hosts, or a different service name; to retire "${proxy.environment}" here remove its containers first` },
    );
  }
}

/** Pull, start the new container next to the old one, and wait until it is healthy. Traffic is untouched. */
export async function stageHost(host: Host, plan: PlannedRollout, app: AppSpec, log: Log, signal?: AbortSignal): Promise<StagedHost> {
  const ops = await host.dockerOps();
  const proxy = await readProxy(ops, proxySpec(plan, app));
  refuseOtherEnvironment(host, proxy, plan, app);
  await ops.ensureNetwork(plan.network, { 'stagecraft.service': app.service });
  if (plan.pull_images) {
    log(`pulling ${app.image}`);
    await ops.pullImage(app.image, app.registryAuth); // credentials only if app.image is on registry.server
  } else if (!(await ops.inspectImage(app.image))) {
    throw new Error(`image ${app.image} is not on this machine; deploy without --skip-build to build it`);
  }
  if (!(await ops.inspectImage(plan.proxy.image))) {
    log(`pulling proxy image ${plan.proxy.image}`);
    // pullImage sends the credentials only if the image is on registry.server (credentialsFor).
    await ops.pullImage(plan.proxy.image, app.registryAuth);
  }
  const env = { ...app.env, STAGECRAFT_HOST: host.name };
  // uploadFile creates ~/.stagecraft/env with mode 0700 when it is missing.
  await host.uploadFile(envFilePath(app), renderEnvFile(env), 0o600);

  let previous = proxy.target;
  const existing = await ops.inspectContainer(app.container);
  if (existing) {
    if (previous === app.container) {
      // Redeploying the version that serves now: keep it serving under another name until the switch.
      const renamed = `${app.container}-replaced-${Date.now()}`;
      await ops.docker.getContainer(app.container).rename({ name: renamed });
      previous = renamed;
      await switchProxy(ops, proxySpec(plan, app), { container: renamed, port: plan.proxy.app_port });
    } else {
      await ops.removeContainer(app.container, { force: true });
    }
  }

  await ops.createContainer({
    name: app.container,
    Image: app.image,
    Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
    ...(app.cmd ? { Cmd: [...app.cmd] } : {}),
    Labels: labelsFor(app, 'web'),
    HostConfig: { NetworkMode: plan.network, RestartPolicy: { Name: 'unless-stopped' } },
  });
  const staged: StagedHost = { host, ops, container: app.container, previous, switched: false };
  try {
    await ops.startContainer(app.container);
    log(`started ${app.container}; waiting for ${plan.healthcheck.path}`);
    await waitHealthy(host, ops, app.container, plan, log, signal);
  } catch (error) {
    await removeStaged(staged);
    throw error;
  }
  return staged;
}

export async function switchHost(staged: StagedHost, plan: PlannedRollout, app: AppSpec): Promise<void> {
  await switchProxy(staged.ops, proxySpec(plan, app), { container: staged.container, port: plan.proxy.app_port });
  staged.switched = true;
}

/** Undo a staged host: traffic back to the previous container (if it was switched), new container removed. */
export async function revertHost(staged: StagedHost, plan: PlannedRollout, app: AppSpec): Promise<void> {
  if (staged.switched && staged.previous) {
    await switchProxy(staged.ops, proxySpec(plan, app), { container: staged.previous, port: plan.proxy.app_port });
    staged.switched = false;
  }
  await removeStaged(staged);
}

async function removeStaged(staged: StagedHost): Promise<void> {
  await staged.ops.removeContainer(staged.container, { force: true }).catch(() => undefined);
}

/** After every host switched: let the old container drain, stop it, and prune beyond `retain`. */
export async function finishHost(staged: StagedHost, plan: PlannedRollout, app: AppSpec, log: Log): Promise<void> {
  if (staged.previous && staged.previous !== staged.container) {
    await new Promise((r) => setTimeout(r, plan.drain_ms));
    await staged.ops.stopContainer(staged.previous, 10).catch(() => undefined);
    log(`stopped ${staged.previous}`);
  }
  await pruneOld(staged.ops, plan, app, staged.container, log, 'web');
}

/** Stopped containers of a role beyond `retain` (newest kept), then images nothing uses. */
export async function pruneOld(ops: DockerOps, plan: PlannedRollout, app: AppSpec, serving: string, log: Log, role: string): Promise<void> {
  const containers = await ops.listContainers({
    all: true,
    labels: { 'stagecraft.service': app.service, 'stagecraft.environment': app.environment, 'stagecraft.role': role },
  });
  const old = containers
    .filter((c) => !c.Names.includes(`/${serving}`) && c.State !== 'running')
    .sort((a, b) => b.Created - a.Created);
  for (const container of old.slice(plan.retain)) {
    await ops.removeContainer(container.Id, { force: true }).catch(() => undefined);
    log(`removed old container ${container.Names[0]?.replace(/^\//, '') ?? container.Id.slice(0, 12)}`);
  }
  await pruneImages(ops, app, log);
}

/** The app's images that no container (running or kept for rollback) uses any more. */
async function pruneImages(ops: DockerOps, app: AppSpec, log: Log): Promise<void> {
  const { repository } = splitImageRef(app.image);
  const ofRepository = (ref: string) => ref.startsWith(`${repository}@`) || ref.startsWith(`${repository}:`);
  const inUse = new Set((await ops.listContainers({ all: true })).map((container) => container.ImageID));
  const images = await ops.docker.listImages({ all: false });
  for (const image of images) {
    const refs = [...(image.RepoTags ?? []), ...(image.RepoDigests ?? [])];
    if (inUse.has(image.Id) || !refs.some(ofRepository)) continue;
    // Never forced: an image some other container still needs stays.
    const removed = await ops.docker.getImage(image.Id).remove().then(() => true, () => false);
    if (removed) log(`removed old image ${image.Id.slice(7, 19)}`);
  }
}
