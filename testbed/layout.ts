import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Fixed network plan of the testbed: one bridge in the root namespace, hosts behind veths. */
export const NETWORK = {
  bridge: 'scbr0',
  gatewayAddress: '10.201.0.1',
  prefixLength: 16,
  subnet: '10.201.0.0/16',
  registryPort: 5000,
  preferredPostgresPort: 5432,
  sshPort: 22,
} as const;

export const OPERATOR_DOCKER_SOCKET = '/var/run/docker.sock';
export const REGISTRY_USER = 'stagecraft';
export const POSTGRES_USER = 'stagecraft';
export const POSTGRES_DATABASE = 'stagecraft';
export const POSTGRES_ADMIN_USER = 'stagecraft_admin';
export const DEFAULT_HOST_COUNT = 3;
export const MAX_HOST_COUNT = 200;

/** Paths `sun_path` can hold are at most 107 bytes; containerd adds ~45 under a host's exec root. */
const MAX_RUN_DIR_LENGTH = 40;

const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));

export interface HostLayout {
  name: string;
  index: number;
  address: string;
  netns: string;
  /** Outside end of the host's veth pair, attached to the bridge. */
  veth: string;
  dir: string;
  dataRoot: string;
  execRoot: string;
  dockerSocket: string;
  dockerPidFile: string;
  dockerLog: string;
  dockerConfigFile: string;
  engineKeyFile: string;
  /** DOCKER_CONFIG for ssh sessions on this host, like a separate machine's ~/.docker. */
  clientConfigDir: string;
  sshdConfig: string;
  sshdHostKey: string;
  sshdPidFile: string;
  sshdLog: string;
}

export interface TestbedLayout {
  dir: string;
  runDir: string;
  stateFile: string;
  secretsFile: string;
  lockFile: string;
  sshDir: string;
  clientKey: string;
  authorizedKeys: string;
  knownHosts: string;
  operatorDir: string;
  operatorDockerConfig: string;
  operatorDockerLog: string;
  registryDir: string;
  registryConfig: string;
  registryHtpasswd: string;
  registryData: string;
  registryLog: string;
  registryPidFile: string;
  postgresLog: string;
  postgresSocketDir: string;
  imagesDir: string;
  host(index: number): HostLayout;
}

export function testbedDir(): string {
  const fromEnv = process.env.STAGECRAFT_TESTBED_DIR;
  return fromEnv && fromEnv.trim() !== '' ? resolve(fromEnv) : join(repoRoot, '.testbed');
}

export function hostName(index: number): string {
  return `h${index}`;
}

export function hostAddress(index: number): string {
  return `10.201.0.${10 + index}`;
}

/** Sockets live under the testbed dir when its path is short, else under /run (kept per testbed dir). */
function chooseRunDir(dir: string): string {
  const local = join(dir, 'run');
  if (local.length <= MAX_RUN_DIR_LENGTH) return local;
  const digest = createHash('sha256').update(dir).digest('hex').slice(0, 8);
  return join('/run/stagecraft-testbed', digest);
}

export function testbedLayout(dir: string = testbedDir()): TestbedLayout {
  const runDir = chooseRunDir(dir);
  const sshDir = join(dir, 'ssh');
  const operatorDir = join(dir, 'operator');
  const registryDir = join(dir, 'registry');
  return {
    dir,
    runDir,
    stateFile: join(dir, 'state.json'),
    secretsFile: join(dir, 'secrets.json'),
    lockFile: join(dir, 'lock'),
    sshDir,
    clientKey: join(sshDir, 'id_ed25519'),
    authorizedKeys: join(sshDir, 'authorized_keys'),
    knownHosts: join(sshDir, 'known_hosts'),
    operatorDir,
    operatorDockerConfig: join(operatorDir, 'daemon.json'),
    operatorDockerLog: join(operatorDir, 'dockerd.log'),
    registryDir,
    registryConfig: join(registryDir, 'config.yml'),
    registryHtpasswd: join(registryDir, 'htpasswd'),
    registryData: join(registryDir, 'data'),
    registryLog: join(registryDir, 'registry.log'),
    registryPidFile: join(registryDir, 'registry.pid'),
    postgresLog: join(dir, 'postgres', 'postgres.log'),
    postgresSocketDir: join(runDir, 'postgres'),
    imagesDir: join(dir, 'images'),
    host(index: number): HostLayout {
      const name = hostName(index);
      const hostDir = join(dir, 'hosts', name);
      const hostRun = join(runDir, name);
      return {
        name,
        index,
        address: hostAddress(index),
        netns: `sc-${name}`,
        veth: `scv-${name}`,
        dir: hostDir,
        dataRoot: join(hostDir, 'docker'),
        execRoot: join(hostRun, 'exec'),
        dockerSocket: join(hostRun, 'docker.sock'),
        dockerPidFile: join(hostDir, 'dockerd.pid'),
        dockerLog: join(hostDir, 'dockerd.log'),
        dockerConfigFile: join(hostDir, 'daemon.json'),
        engineKeyFile: join(hostDir, 'engine-key.json'),
        clientConfigDir: join(hostDir, 'docker-client'),
        sshdConfig: join(hostDir, 'sshd_config'),
        sshdHostKey: join(hostDir, 'ssh_host_ed25519_key'),
        sshdPidFile: join(hostDir, 'sshd.pid'),
        sshdLog: join(hostDir, 'sshd.log'),
      };
    },
  };
}

export function netnsPath(netns: string): string {
  return `/var/run/netns/${netns}`;
}
