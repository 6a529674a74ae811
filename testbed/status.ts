import { existsSync } from 'node:fs';
import { debianPaths, readRootfsCache } from './debian.js';
import { enginePing, operatorEngineStartedByTestbed } from './docker-engine.js';
import { ensureSystemPath } from './exec.js';
import { hostHealth, knownHostIndexes } from './hosts.js';
import { registryDigest } from './images.js';
import type { TestbedLayout } from './layout.js';
import { NETWORK, OPERATOR_DOCKER_SOCKET, testbedLayout } from './layout.js';
import { bridgeIsUp } from './network.js';
import { canLogIn, postgresPaths, postgresPid } from './postgres.js';
import { REGISTRY_SERVER, registryAnswers, registryPid } from './registry.js';
import type { TestbedState } from './state.js';
import { readStateFile } from './state.js';

export interface ComponentStatus {
  name: string;
  up: boolean;
  detail: string;
}

export interface TestbedStatus {
  dir: string;
  /** Every component below is up and state.json describes them. */
  up: boolean;
  hostCount: number;
  components: ComponentStatus[];
}

/** Reads only: pid files, probes and the state file. Never starts or stops anything. */
export async function testbedStatus(layout: TestbedLayout = testbedLayout()): Promise<TestbedStatus> {
  ensureSystemPath();
  const state: TestbedState | undefined = existsSync(layout.dir) ? readStateFile(layout.stateFile) : undefined;
  const components: ComponentStatus[] = [];
  components.push({ name: 'state.json', up: state !== undefined, detail: state ? `updated ${state.updated_at}` : 'missing (run: npm run testbed -- up)' });

  const operatorUp = await enginePing(OPERATOR_DOCKER_SOCKET);
  const operatorPid = existsSync(layout.dir) ? operatorEngineStartedByTestbed(layout) : undefined;
  components.push({
    name: 'operator dockerd',
    up: operatorUp,
    detail: operatorUp ? (operatorPid ? `started by the testbed, pid ${operatorPid}` : 'not started by the testbed') : `no engine at ${OPERATOR_DOCKER_SOCKET}`,
  });
  const bridge = await bridgeIsUp();
  components.push({ name: `bridge ${NETWORK.bridge}`, up: bridge, detail: bridge ? `${NETWORK.gatewayAddress}/${NETWORK.prefixLength}` : 'missing' });

  const registry = registryPid(layout);
  const registryUp = registry !== undefined && (await registryAnswers());
  components.push({ name: `registry ${REGISTRY_SERVER}`, up: registryUp, detail: registry ? `pid ${registry}` : 'not running' });

  if (state && registryUp) {
    for (const [key, ref] of Object.entries(state.images)) {
      const digest = await registryDigest(ref, state.registry.password).catch(() => undefined);
      components.push({ name: `image ${key}`, up: digest !== undefined, detail: digest ? `${ref} ${digest.slice(0, 19)}` : `${ref} not in the registry` });
    }
  }

  // Informational only (never makes status DOWN): the images above are what tests use.
  const rootfs = existsSync(layout.dir) ? readRootfsCache(debianPaths(layout)) : undefined;
  components.push({
    name: 'debian rootfs cache',
    up: true,
    detail: rootfs
      ? `${debianPaths(layout).tarball} ${Math.round(rootfs.bytes / 1e6)} MB, made ${rootfs.created_at} (debootstrap ${rootfs.debootstrap_seconds} s)`
      : 'none (an up that must import debian:bookworm-slim runs debootstrap first)',
  });

  const pgPid = existsSync(layout.dir) ? postgresPid(postgresPaths(layout)) : undefined;
  const pgUp = pgPid !== undefined && state !== undefined && (await canLogIn(state.postgres.local_url));
  components.push({ name: 'postgres', up: pgUp, detail: pgPid ? `pid ${pgPid}${state ? `, port ${state.postgres.port}` : ''}` : 'not running' });

  const expected = new Set(state?.hosts.map((host) => host.name) ?? []);
  const indexes = existsSync(layout.dir) ? await knownHostIndexes(layout) : [];
  let hostCount = 0;
  for (const index of indexes) {
    const host = layout.host(index);
    const health = await hostHealth(host);
    const up = health.network && health.dockerd && health.sshd;
    if (!up && !expected.has(host.name) && !health.network && !health.dockerd && !health.sshd) continue;
    if (up) hostCount += 1;
    const parts = [`net ${health.network ? 'up' : 'down'}`, `dockerd ${health.dockerd ? 'up' : 'down'}`, `sshd ${health.sshd ? 'up' : 'down'}`];
    components.push({ name: `host ${host.name} ${host.address}`, up: up && expected.has(host.name), detail: parts.join(', ') + (expected.has(host.name) ? '' : ' (not in state.json)') });
  }
  for (const name of expected) {
    if (!components.some((component) => component.name.startsWith(`host ${name} `))) components.push({ name: `host ${name}`, up: false, detail: 'missing' });
  }
  return { dir: layout.dir, up: components.every((component) => component.up), hostCount, components };
}

export function formatStatus(status: TestbedStatus): string {
  const width = Math.max(...status.components.map((component) => component.name.length));
  const lines = status.components.map((component) => `${component.up ? 'up  ' : 'DOWN'}  ${component.name.padEnd(width)}  ${component.detail}`);
  return [`testbed ${status.dir}: ${status.up ? `up (${status.hostCount} hosts)` : 'not fully up'}`, ...lines].join('\n');
}
