import { existsSync } from 'node:fs';
import { TestbedError, run } from './exec.js';
import type { HostLayout } from './layout.js';
import { NETWORK, netnsPath } from './layout.js';

interface IpAddressInfo {
  family: string;
  local: string;
  prefixlen: number;
}

interface IpLink {
  ifname: string;
  flags?: string[];
  master?: string;
  addr_info?: IpAddressInfo[];
}

async function ipJson<T>(args: readonly string[]): Promise<T[]> {
  const result = await run('ip', ['-j', ...args], { allowFailure: true });
  if (result.exitCode !== 0 || result.stdout.trim() === '') return [];
  return JSON.parse(result.stdout) as T[];
}

async function linkExists(name: string, netns?: string): Promise<boolean> {
  const prefix = netns ? ['-n', netns] : [];
  return (await ipJson<IpLink>([...prefix, 'link', 'show', 'dev', name])).length > 0;
}

/**
 * Docker in the root namespace sets the FORWARD policy to DROP; with br_netfilter loaded
 * that would also drop frames bridged between two hosts on our bridge.
 */
const FORWARD_RULE = ['FORWARD', '-i', NETWORK.bridge, '-o', NETWORK.bridge, '-m', 'comment', '--comment', 'stagecraft-testbed', '-j', 'ACCEPT'];

/** Refuses to take the testbed subnet when another interface of this machine already uses it. */
async function assertSubnetFree(): Promise<void> {
  const links = await ipJson<IpLink>(['addr', 'show']);
  for (const link of links) {
    if (link.ifname === NETWORK.bridge) continue;
    const clash = (link.addr_info ?? []).find((info) => info.family === 'inet' && info.local.startsWith('10.201.'));
    if (clash) {
      throw new TestbedError(
        `${link.ifname} already has ${clash.local}/${clash.prefixlen}, inside the testbed subnet ${NETWORK.subnet}`,
        'free that subnet or run the testbed on another machine',
      );
    }
  }
}

export async function ensureBridge(): Promise<string> {
  await assertSubnetFree();
  const existed = await linkExists(NETWORK.bridge);
  if (!existed) await run('ip', ['link', 'add', NETWORK.bridge, 'type', 'bridge']);
  await run('ip', ['addr', 'replace', `${NETWORK.gatewayAddress}/${NETWORK.prefixLength}`, 'dev', NETWORK.bridge]);
  await run('ip', ['link', 'set', NETWORK.bridge, 'up']);
  const hasRule = (await run('iptables', ['-C', ...FORWARD_RULE], { allowFailure: true })).exitCode === 0;
  if (!hasRule) await run('iptables', ['-I', ...FORWARD_RULE.slice(0, 1), '1', ...FORWARD_RULE.slice(1)]);
  return existed && hasRule ? 'already up' : 'created';
}

export async function removeBridge(): Promise<void> {
  while ((await run('iptables', ['-C', ...FORWARD_RULE], { allowFailure: true })).exitCode === 0) {
    await run('iptables', ['-D', ...FORWARD_RULE]);
  }
  if (await linkExists(NETWORK.bridge)) await run('ip', ['link', 'del', NETWORK.bridge]);
}

export async function bridgeIsUp(): Promise<boolean> {
  const [bridge] = await ipJson<IpLink>(['addr', 'show', 'dev', NETWORK.bridge]);
  return Boolean(bridge?.flags?.includes('UP') && bridge.addr_info?.some((info) => info.local === NETWORK.gatewayAddress));
}

export async function listTestbedNamespaces(): Promise<string[]> {
  const namespaces = await ipJson<{ name: string }>(['netns', 'list']);
  return namespaces.map((ns) => ns.name).filter((name) => /^sc-h\d+$/.test(name));
}

/** Namespace, veth pair on the bridge, address and default route of one host (idempotent). */
export async function ensureHostNetwork(host: HostLayout): Promise<void> {
  if (!existsSync(netnsPath(host.netns))) await run('ip', ['netns', 'add', host.netns]);
  if (!(await linkExists('eth0', host.netns))) {
    // A veth left without its peer (namespace deleted by a crash cleanup) would block the name.
    if (await linkExists(host.veth)) await run('ip', ['link', 'del', host.veth]);
    await run('ip', ['link', 'add', host.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.netns]);
  }
  await run('ip', ['link', 'set', host.veth, 'master', NETWORK.bridge, 'up']);
  await run('ip', ['-n', host.netns, 'link', 'set', 'lo', 'up']);
  await run('ip', ['-n', host.netns, 'addr', 'replace', `${host.address}/${NETWORK.prefixLength}`, 'dev', 'eth0']);
  await run('ip', ['-n', host.netns, 'link', 'set', 'eth0', 'up']);
  await run('ip', ['-n', host.netns, 'route', 'replace', 'default', 'via', NETWORK.gatewayAddress]);
}

export async function hostNetworkIsUp(host: HostLayout): Promise<boolean> {
  if (!existsSync(netnsPath(host.netns))) return false;
  const [eth0] = await ipJson<IpLink>(['-n', host.netns, 'addr', 'show', 'dev', 'eth0']);
  const [veth] = await ipJson<IpLink>(['link', 'show', 'dev', host.veth]);
  return Boolean(eth0?.flags?.includes('UP') && eth0.addr_info?.some((info) => info.local === host.address) && veth?.master === NETWORK.bridge);
}

/** Pids of processes still living in a host's namespace (ssh sessions, docker-proxy, shims). */
export async function namespacePids(netns: string): Promise<number[]> {
  if (!existsSync(netnsPath(netns))) return [];
  const result = await run('ip', ['netns', 'pids', netns], { allowFailure: true });
  return result.stdout
    .split('\n')
    .map((line) => Number.parseInt(line.trim(), 10))
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}

export async function removeHostNetwork(netns: string, veth: string): Promise<void> {
  if (existsSync(netnsPath(netns))) await run('ip', ['netns', 'del', netns]);
  if (!(await linkExists(veth))) return;
  // Deleting the namespace destroys its end of the pair asynchronously, and with it our end:
  // the link may vanish between the check and the delete.
  const result = await run('ip', ['link', 'del', veth], { allowFailure: true });
  if (result.exitCode !== 0 && (await linkExists(veth))) {
    throw new TestbedError(`ip link del ${veth} exited with ${result.exitCode}: ${result.stderr}`);
  }
}
