import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureHostEngine, hostEngineIsUp, stopHostEngine } from './docker-engine.js';
import type { HostLayout, TestbedLayout } from './layout.js';
import { NETWORK } from './layout.js';
import { ensureHostNetwork, hostNetworkIsUp, listTestbedNamespaces, namespacePids, removeHostNetwork } from './network.js';
import { stopProcess } from './processes.js';
import { ensureSshd, sshdIsUp, stopSshd } from './sshd.js';
import type { TestbedHost } from './state.js';

export interface RunningHost {
  host: HostLayout;
  dockerdPid: number;
  sshdPid: number;
  detail: string;
}

/** Network first (dockerd and sshd start inside the namespace), then both daemons at once. */
export async function ensureHost(layout: TestbedLayout, host: HostLayout): Promise<RunningHost> {
  await ensureHostNetwork(host);
  const [engine, sshd] = await Promise.all([ensureHostEngine(host), ensureSshd(host, layout)]);
  const detail = engine.detail === sshd.detail ? engine.detail : `dockerd ${engine.detail}, sshd ${sshd.detail}`;
  return { host, dockerdPid: engine.pid, sshdPid: sshd.pid, detail };
}

/**
 * sshd and dockerd by their pid files (dockerd stops its containers), then whatever still
 * lives in the namespace — ssh sessions, docker-proxy, shims: all descendants of the daemons
 * this testbed started — so that deleting the namespace also frees the veth pair.
 */
export async function stopHost(host: HostLayout): Promise<void> {
  await stopSshd(host);
  await stopHostEngine(host);
  const leftovers = await namespacePids(host.netns);
  await Promise.all(leftovers.map((pid) => stopProcess(pid, 3_000)));
  await removeHostNetwork(host.netns, host.veth);
}

/** Every host index this testbed has traces of: namespaces on the machine and host dirs. */
export async function knownHostIndexes(layout: TestbedLayout): Promise<number[]> {
  const indexes = new Set<number>();
  for (const netns of await listTestbedNamespaces()) indexes.add(Number(netns.slice('sc-h'.length)));
  const hostsDir = join(layout.dir, 'hosts');
  if (existsSync(hostsDir)) {
    for (const name of readdirSync(hostsDir)) {
      if (/^h\d+$/.test(name)) indexes.add(Number(name.slice(1)));
    }
  }
  return [...indexes].filter((index) => Number.isInteger(index) && index > 0).sort((a, b) => a - b);
}

export async function hostHealth(host: HostLayout): Promise<{ network: boolean; dockerd: boolean; sshd: boolean }> {
  const [network, dockerd, sshd] = await Promise.all([hostNetworkIsUp(host), hostEngineIsUp(host), sshdIsUp(host)]);
  return { network, dockerd, sshd };
}

export function hostContract(host: HostLayout): TestbedHost {
  return {
    name: host.name,
    address: host.address,
    port: NETWORK.sshPort,
    docker_host: `unix://${host.dockerSocket}`,
    netns: host.netns,
    sshd_log: host.sshdLog,
  };
}
