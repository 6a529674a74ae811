import type { DockerOps } from '../remote/docker-ops.js';
import { NGINX_SITE_PATH, parseNginxTarget, renderNginxSite, type ProxyTarget } from './nginx-config.js';

export interface ProxySpec {
  container: string;
  image: string;
  port: number;
  network: string;
  labels: Record<string, string>;
}

export interface ProxyState {
  /** The environment whose proxy this is (its label), if a proxy container exists. */
  environment: string | undefined;
  /** The app container it sends traffic to now (undefined: no proxy running yet). */
  target: string | undefined;
}

/** What the host's proxy is now: one inspect, plus reading its config when it runs. */
export async function readProxy(ops: DockerOps, spec: Pick<ProxySpec, 'container'>): Promise<ProxyState> {
  const info = await ops.inspectContainer(spec.container);
  const environment = info?.Config.Labels?.['stagecraft.environment'];
  if (!info?.State.Running) return { environment, target: undefined };
  const result = await ops.execInContainer(spec.container, ['cat', NGINX_SITE_PATH], { timeoutMs: 10_000 });
  return { environment, target: result.exitCode === 0 ? parseNginxTarget(result.stdout) : undefined };
}

/**
 * Points the proxy at `target`. The first time, creates the proxy container with that config;
 * afterwards writes the new config, checks it with `nginx -t` and reloads nginx gracefully:
 * old workers finish their requests while new ones go to the new container.
 */
/** A running proxy whose image or published port no longer matches the config must be recreated. */
async function proxyMatches(ops: DockerOps, spec: ProxySpec): Promise<boolean> {
  const info = await ops.inspectContainer(spec.container);
  if (!info?.State.Running) return false;
  const published = info.HostConfig.PortBindings?.['80/tcp']?.[0]?.HostPort;
  return info.Config.Image === spec.image && published === String(spec.port);
}

export async function switchProxy(ops: DockerOps, spec: ProxySpec, target: ProxyTarget): Promise<void> {
  const site = renderNginxSite(target);
  if (!(await proxyMatches(ops, spec))) {
    // First deploy, or proxy.image / proxy.port changed: (re)create it. A port change cannot be
    // applied to a running container, so that one switch is not seamless.
    await ops.stopContainer(spec.container, 10).catch(() => undefined);
    await ops.removeContainer(spec.container, { force: true });
    await ops.createContainer({
      name: spec.container,
      Image: spec.image,
      Labels: spec.labels,
      ExposedPorts: { '80/tcp': {} },
      HostConfig: {
        NetworkMode: spec.network,
        PortBindings: { '80/tcp': [{ HostPort: String(spec.port) }] },
        RestartPolicy: { Name: 'unless-stopped' },
      },
    });
    await ops.putFile(spec.container, NGINX_SITE_PATH, site, 0o644);
    await ops.startContainer(spec.container);
    await waitForNginx(ops, spec.container);
    return;
  }
  await ops.putFile(spec.container, NGINX_SITE_PATH, site, 0o644);
  const test = await ops.execInContainer(spec.container, ['nginx', '-t'], { timeoutMs: 15_000 });
  if (test.exitCode !== 0) throw new Error(`proxy config rejected by nginx -t: ${(test.stderr || test.stdout).trim()}`);
  const reload = await ops.execInContainer(spec.container, ['nginx', '-s', 'reload'], { timeoutMs: 15_000 });
  if (reload.exitCode !== 0) throw new Error(`nginx -s reload failed: ${(reload.stderr || reload.stdout).trim()}`);
}

async function waitForNginx(ops: DockerOps, container: string): Promise<void> {
  let last = '';
  for (let attempt = 0; attempt < 100; attempt++) {
    const info = await ops.inspectContainer(container);
    if (!info?.State.Running) {
      throw new Error(`proxy container ${container} exited (code ${info?.State.ExitCode ?? '?'}); see \`docker logs ${container}\` on the host`);
    }
    const test = await ops.execInContainer(container, ['nginx', '-t'], { timeoutMs: 10_000 });
    if (test.exitCode === 0) return;
    last = (test.stderr || test.stdout).trim();
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`proxy container ${container} did not become ready: ${last}`);
}
