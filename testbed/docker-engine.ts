import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { TestbedError, binary, run } from './exec.js';
import type { HostLayout, TestbedLayout } from './layout.js';
import { NETWORK, OPERATOR_DOCKER_SOCKET, netnsPath } from './layout.js';
import { ownProcess, readPidFile, spawnDetached, stopProcess, waitUntil } from './processes.js';

const OPERATOR_PID_FILE = '/var/run/docker.pid';
const START_TIMEOUT_MS = 60_000;

export interface EngineResponse {
  status: number;
  body: string;
}

/** One request to a Docker engine's HTTP API over its unix socket. */
export function engineRequest(socketPath: string, method: string, path: string, timeoutMs = 5_000): Promise<EngineResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export async function enginePing(socketPath: string): Promise<boolean> {
  try {
    const response = await engineRequest(socketPath, 'GET', '/_ping', 2_000);
    return response.status === 200;
  } catch {
    return false;
  }
}

interface EngineInfo {
  ID?: string;
  ServerVersion?: string;
  RegistryConfig?: { InsecureRegistryCIDRs?: string[] | null };
}

export async function engineInfo(socketPath: string): Promise<EngineInfo> {
  const response = await engineRequest(socketPath, 'GET', '/info');
  if (response.status !== 200) throw new TestbedError(`docker engine at ${socketPath}: GET /info returned ${response.status}`);
  return JSON.parse(response.body) as EngineInfo;
}

function ipv4ToNumber(address: string): number {
  return address.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
}

export function cidrContains(cidr: string, address: string): boolean {
  const [network, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  if (!network || !Number.isInteger(bits) || network.includes(':')) return false;
  const size = 2 ** (32 - bits);
  return Math.floor(ipv4ToNumber(network) / size) === Math.floor(ipv4ToNumber(address) / size);
}

export interface OperatorEngine {
  /** Pid of dockerd when the testbed started it, else undefined (someone else's engine). */
  startedPid: number | undefined;
  detail: string;
}

/** The testbed's dockerd has our daemon.json path on its command line. */
export function operatorEngineStartedByTestbed(layout: TestbedLayout): number | undefined {
  return ownProcess(readPidFile(OPERATOR_PID_FILE), layout.operatorDockerConfig);
}

async function assertTrustsTestbedRegistry(): Promise<void> {
  const info = await engineInfo(OPERATOR_DOCKER_SOCKET);
  const trusted = (info.RegistryConfig?.InsecureRegistryCIDRs ?? []).some((cidr) => cidrContains(cidr, NETWORK.gatewayAddress));
  if (!trusted) {
    throw new TestbedError(
      `the Docker engine already running at ${OPERATOR_DOCKER_SOCKET} does not trust the plain-HTTP testbed registry ${NETWORK.gatewayAddress}:${NETWORK.registryPort}, so it cannot push the base images`,
      `add "insecure-registries": ["${NETWORK.subnet}"] to its daemon.json and restart it, or stop it and let \`npm run testbed -- up\` start one`,
    );
  }
}

/** Fails before anything is started when a running engine cannot be used. */
export async function preflightOperatorEngine(): Promise<void> {
  if (await enginePing(OPERATOR_DOCKER_SOCKET)) await assertTrustsTestbedRegistry();
}

/**
 * The machine's own engine builds and pushes the base images. Reused when it runs; it must
 * trust the plain-HTTP testbed registry, which we cannot change on an engine we did not start.
 */
export async function ensureOperatorEngine(layout: TestbedLayout): Promise<OperatorEngine> {
  if (!(await enginePing(OPERATOR_DOCKER_SOCKET))) {
    const starting = ownProcess(readPidFile(OPERATOR_PID_FILE), 'dockerd');
    if (starting) {
      await waitUntil(() => enginePing(OPERATOR_DOCKER_SOCKET), { what: 'operator dockerd', timeoutMs: START_TIMEOUT_MS, pid: starting });
    } else {
      mkdirSync(layout.operatorDir, { recursive: true });
      writeFileSync(layout.operatorDockerConfig, `${JSON.stringify({ 'insecure-registries': [NETWORK.subnet] }, null, 2)}\n`);
      const pid = spawnDetached(binary('dockerd'), ['--config-file', layout.operatorDockerConfig], layout.operatorDockerLog);
      await waitUntil(() => enginePing(OPERATOR_DOCKER_SOCKET), {
        what: `operator dockerd (log: ${layout.operatorDockerLog})`,
        timeoutMs: START_TIMEOUT_MS,
        pid,
        logFile: layout.operatorDockerLog,
      });
      return { startedPid: pid, detail: `started pid ${pid}` };
    }
  }
  await assertTrustsTestbedRegistry();
  const startedPid = operatorEngineStartedByTestbed(layout);
  return { startedPid, detail: startedPid ? `already up, pid ${startedPid}` : 'reusing the machine engine' };
}

export async function stopOperatorEngine(pid: number): Promise<void> {
  await stopProcess(pid, 30_000);
}

export function hostEnginePid(host: HostLayout): number | undefined {
  return ownProcess(readPidFile(host.dockerPidFile), host.dockerPidFile);
}

export async function hostEngineIsUp(host: HostLayout): Promise<boolean> {
  return hostEnginePid(host) !== undefined && (await enginePing(host.dockerSocket));
}

/**
 * One dockerd per host inside its namespace. `nsenter` (not `ip netns exec`, which remounts
 * /sys and breaks cgroups). Own key file → distinct engine ID; own containerd namespace, in
 * case a system containerd is shared; short shutdown timeout so `down` stays quick.
 */
export async function ensureHostEngine(host: HostLayout): Promise<{ pid: number; detail: string }> {
  const running = hostEnginePid(host);
  if (running !== undefined) {
    await waitUntil(() => enginePing(host.dockerSocket), { what: `dockerd of ${host.name}`, timeoutMs: START_TIMEOUT_MS, pid: running, logFile: host.dockerLog });
    return { pid: running, detail: 'already up' };
  }
  for (const dir of [host.dir, host.dataRoot, host.execRoot, host.clientConfigDir]) mkdirSync(dir, { recursive: true });
  await unmountStaleMounts([host.dataRoot, host.execRoot]);
  rmSync(host.dockerSocket, { force: true });
  const config = {
    'deprecated-key-path': host.engineKeyFile,
    'insecure-registries': [NETWORK.subnet],
    'containerd-namespace': `stagecraft-${host.name}`,
    'containerd-plugins-namespace': `stagecraft-${host.name}-plugins`,
    'shutdown-timeout': 5,
  };
  writeFileSync(host.dockerConfigFile, `${JSON.stringify(config, null, 2)}\n`);
  const pid = spawnDetached(
    'nsenter',
    [
      `--net=${netnsPath(host.netns)}`,
      '--',
      binary('dockerd'),
      '--config-file', host.dockerConfigFile,
      '--data-root', host.dataRoot,
      '--exec-root', host.execRoot,
      '--pidfile', host.dockerPidFile,
      '--host', `unix://${host.dockerSocket}`,
    ],
    host.dockerLog,
  );
  await waitUntil(() => enginePing(host.dockerSocket), { what: `dockerd of ${host.name}`, timeoutMs: START_TIMEOUT_MS, pid, logFile: host.dockerLog });
  return { pid, detail: `started pid ${pid}` };
}

export async function stopHostEngine(host: HostLayout): Promise<void> {
  const pid = hostEnginePid(host);
  if (pid !== undefined) await stopProcess(pid, 30_000);
  await unmountStaleMounts([host.dataRoot, host.execRoot]);
}

/** Mounts a killed dockerd leaves behind (overlay layers, container netns and shm), deepest first. */
async function unmountStaleMounts(roots: readonly string[]): Promise<void> {
  const mountPoints = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => point !== undefined)
    .map((point) => point.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8))))
    .filter((point) => roots.some((root) => point === root || point.startsWith(`${root}/`)))
    .sort((a, b) => b.length - a.length);
  for (const point of mountPoints) await run('umount', ['-l', point], { allowFailure: true });
}
