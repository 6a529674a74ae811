/**
 * Roles without the proxy (workers): the same image with the role's command, replaced on each host
 * by starting the new container, proving it works (still running after `min_running`, or a
 * health command exiting 0 inside it), then stopping the old one. Nothing routes traffic to them.
 */
import type { PlannedRole, PlannedRollout } from '../plan/deploy-plan.js';
import type { DockerOps } from '../remote/docker-ops.js';
import type { Host } from '../remote/host.js';
import type { AppSpec, Log } from './host-rollout.js';
import { labelsFor, pause, pruneOld, recentLogs } from './host-rollout.js';

export interface StagedRoleContainer {
  host: Host;
  ops: DockerOps;
  role: string;
  container: string;
  /** The role's containers that ran before this deploy (stopped at the switch, started again on revert). */
  previous: string[];
  switched: boolean;
}

const STOP_GRACE_S = 10;

/** Waits until the role's new container counts as healthy, or throws saying why (with its last output). */
export async function waitRoleHealthy(ops: DockerOps, container: string, health: PlannedRole['health'], log: Log, signal?: AbortSignal): Promise<void> {
  const exited = async (): Promise<Error | undefined> => {
    const info = await ops.inspectContainer(container);
    if (info?.State.Running && (info.RestartCount ?? 0) === 0) return undefined;
    const tail = await recentLogs(ops, container);
    const what = info?.State.Running ? `restarted ${info.RestartCount} time(s)` : `exited with code ${info?.State.ExitCode ?? '?'}`;
    return new Error(`${container} ${what} before it counted as healthy${tail ? `; last output:\n${tail}` : ''}`);
  };
  if (health.kind === 'running') {
    await pause(health.min_running_ms, signal);
    const failure = await exited();
    if (failure) throw failure;
    log(`${container} healthy (still running after ${health.min_running_ms / 1000}s)`);
    return;
  }
  if (health.kind !== 'command') throw new Error(`${container}: a role without the proxy has no HTTP health check`);
  const deadline = Date.now() + health.timeout_ms;
  let last = 'not run yet';
  for (;;) {
    signal?.throwIfAborted();
    const failure = await exited();
    if (failure) throw failure;
    const result = await ops.execInContainer(container, health.cmd, { timeoutMs: Math.max(health.interval_ms, 5_000) }).catch((error: unknown) => ({
      exitCode: -1,
      stdout: '',
      stderr: error instanceof Error ? error.message : String(error),
    }));
    if (result.exitCode === 0) {
      log(`${container} healthy (${health.cmd.join(' ')} exited 0)`);
      return;
    }
    last = `${health.cmd.join(' ')} exited ${result.exitCode}${result.stderr.trim() ? `: ${result.stderr.trim().split('\n').slice(-1)[0]}` : ''}`;
    if (Date.now() >= deadline) throw new Error(`${container} not healthy after ${Math.round(health.timeout_ms / 1000)}s: ${last}`);
    await pause(health.interval_ms, signal);
  }
}

/** Starts the role's new container next to the old one(s) and waits until it counts as healthy. */
export async function stageRole(host: Host, plan: PlannedRollout, role: PlannedRole, app: AppSpec, log: Log, signal?: AbortSignal): Promise<StagedRoleContainer> {
  const ops = await host.dockerOps();
  await ops.ensureNetwork(plan.network, { 'stagecraft.service': app.service });
  if (plan.pull_images) {
    log(`pulling ${app.image}`);
    await ops.pullImage(app.image, app.registryAuth);
  } else if (!(await ops.inspectImage(app.image))) {
    throw new Error(`image ${app.image} is not on this machine; deploy without --skip-build to build it`);
  }
  const running = await ops.listContainers({
    all: false,
    labels: { 'stagecraft.service': app.service, 'stagecraft.environment': app.environment, 'stagecraft.role': role.role },
  });
  const previous = running.map((container) => container.Names[0]?.replace(/^\//, '') ?? container.Id);
  if (previous.includes(role.container)) {
    // Redeploying the version that runs now: it keeps running under another name until the switch.
    const renamed = `${role.container}-replaced-${Date.now()}`;
    await ops.docker.getContainer(role.container).rename({ name: renamed });
    previous[previous.indexOf(role.container)] = renamed;
  } else {
    await ops.removeContainer(role.container, { force: true });
  }
  const env = { ...app.env, STAGECRAFT_HOST: host.name, STAGECRAFT_ROLE: role.role };
  await ops.createContainer({
    name: role.container,
    Image: app.image,
    Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
    ...(app.cmd ? { Cmd: [...app.cmd] } : {}),
    Labels: labelsFor(app, role.role),
    HostConfig: { NetworkMode: plan.network, RestartPolicy: { Name: 'unless-stopped' } },
  });
  const staged: StagedRoleContainer = { host, ops, role: role.role, container: role.container, previous, switched: false };
  try {
    await ops.startContainer(role.container);
    log(`started ${role.container}`);
    await waitRoleHealthy(ops, role.container, role.health, log, signal);
  } catch (error) {
    await ops.removeContainer(role.container, { force: true }).catch(() => undefined);
    throw error;
  }
  return staged;
}

/** The new container takes over: the old ones stop (they are kept for rollback). */
export async function switchRole(staged: StagedRoleContainer, log: Log): Promise<void> {
  for (const old of staged.previous) {
    await staged.ops.stopContainer(old, STOP_GRACE_S);
    log(`stopped ${old}`);
  }
  staged.switched = true;
}

/** Undo: the old containers run again (if they were stopped), the new one is removed. */
export async function revertRole(staged: StagedRoleContainer): Promise<void> {
  if (staged.switched) {
    for (const old of staged.previous) await staged.ops.startContainer(old);
    staged.switched = false;
  }
  await staged.ops.removeContainer(staged.container, { force: true }).catch(() => undefined);
}

export async function finishRole(staged: StagedRoleContainer, plan: PlannedRollout, app: AppSpec, log: Log): Promise<void> {
  await pruneOld(staged.ops, plan, app, staged.container, log, staged.role);
}
