/**
 * Wall time of deploying a prebuilt image on the testbed: `stagecraft deploy --skip-build` to 1
 * and to 3 hosts, next to the same work done by a plain bash loop of `ssh host docker …`
 * commands (pull, run the new container, wait for /up from inside it, point nginx at it, stop
 * the old one). Same image, same hosts, same health interval and drain pause. Prints figures,
 * asserts nothing.
 *
 *   npm run bench:deploy            (or: npm run build && npx tsx bench/deploy.ts [--runs 3])
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { TestProject, imageRepository, onHost, onHostChecked, removeServiceFromHosts, servedVersions, uniqueService } from '../test/e2e/helpers/project.js';
import { readTestbedState, type TestbedState } from '../test/e2e/helpers/testbed-state.js';
import { median } from './support.js';

/** Ports from the deploy e2e range (8100–8199), away from the ones the e2e tests use. */
const PORT_ONE = 8130;
const PORT_THREE = 8131;
const PORT_BASH_ONE = 8132;
const PORT_BASH_THREE = 8133;
const PLAIN_DEPLOY = fileURLToPath(new URL('./plain-deploy.sh', import.meta.url));
const HEALTH_INTERVAL_S = 0.25;
const DRAIN_S = 0.2;

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : Number.NaN;
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

interface Series {
  label: string;
  samples: number[];
}

function line(series: Series): string {
  const secs = (ms: number) => `${(ms / 1000).toFixed(2)}s`;
  return `  ${series.label.padEnd(46)} median ${secs(median(series.samples)).padStart(7)}  min ${secs(Math.min(...series.samples)).padStart(7)}  runs ${series.samples.map(secs).join(' ')}`;
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

async function mustSucceed(what: string, run: Promise<{ exitCode: number; stdout: string; stderr: string }>): Promise<void> {
  const result = await run;
  if (result.exitCode !== 0) throw new Error(`${what} failed (exit ${result.exitCode}):\n${result.stdout}\n${result.stderr}`);
}

/** Logs in every host's engine once, into a DOCKER_CONFIG of its own (the bash loop pulls with it). */
async function loginHosts(state: TestbedState, hosts: readonly string[], dockerConfig: string): Promise<void> {
  for (const address of hosts) {
    const result = await execa(
      'ssh',
      ['-i', state.ssh.key, '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${state.ssh.known_hosts}`, `root@${address}`, `DOCKER_CONFIG=${dockerConfig}`, 'docker', 'login', state.registry.server, '-u', state.registry.username, '--password-stdin'],
      { input: state.registry.password, reject: false },
    );
    if (result.exitCode !== 0) throw new Error(`docker login on ${address}: ${result.stderr}`);
  }
}

/** Tags the built image under more names and pushes them, so every timed deploy has a version of its own. */
async function pushTags(state: TestbedState, repository: string, from: string, tags: readonly string[]): Promise<void> {
  const config = await mkdtemp(join(tmpdir(), 'bench-docker-'));
  try {
    const env = { ...process.env, DOCKER_CONFIG: config };
    await execa('docker', ['login', state.registry.server, '-u', state.registry.username, '--password-stdin'], { env, input: state.registry.password });
    for (const tag of tags) {
      await execa('docker', ['tag', `${repository}:${from}`, `${repository}:${tag}`], { env });
      await execa('docker', ['push', `${repository}:${tag}`], { env });
    }
  } finally {
    await rm(config, { recursive: true, force: true });
  }
}

/** One "service" deployed by bench/plain-deploy.sh: its network, proxy and the container it serves now. */
class PlainTarget {
  private serving: string;
  private counter = 0;

  private constructor(
    private readonly state: TestbedState,
    readonly name: string,
    readonly hosts: readonly string[],
    private readonly repository: string,
    private readonly hostDockerConfig: string,
  ) {
    this.serving = `${name}-web-0`;
  }

  /** Untimed: network, proxy, and a first app container through one warm-up deploy. */
  static async create(state: TestbedState, name: string, hosts: readonly string[], port: number, repository: string, hostDockerConfig: string): Promise<PlainTarget> {
    const target = new PlainTarget(state, name, hosts, repository, hostDockerConfig);
    const label = `stagecraft.service=${name}`;
    for (const address of hosts) {
      await onHostChecked(state, address, ['docker', 'network', 'create', '--label', label, `${name}-net`]);
      await onHostChecked(state, address, ['docker', 'run', '-d', '--name', `${name}-proxy`, '--label', label, '--network', `${name}-net`, '-p', `${port}:80`, state.images.nginx]);
      // Something for the warm-up deploy to stop.
      await onHostChecked(state, address, ['docker', 'run', '-d', '--name', target.serving, '--label', label, '--network', `${name}-net`, state.images.busybox, 'sleep', '3600']);
    }
    await target.deploy(true);
    return target;
  }

  async deploy(parallel: boolean): Promise<void> {
    const next = `${this.name}-web-${++this.counter}`;
    await execa('bash', [PLAIN_DEPLOY, `${this.repository}:base`, next, this.serving, ...this.hosts], {
      env: {
        ...process.env,
        KEY: this.state.ssh.key,
        KNOWN_HOSTS: this.state.ssh.known_hosts,
        HOST_DOCKER_CONFIG: this.hostDockerConfig,
        NETWORK: `${this.name}-net`,
        PROXY: `${this.name}-proxy`,
        LABEL: `stagecraft.service=${this.name}`,
        HEALTH_INTERVAL_S: String(HEALTH_INTERVAL_S),
        DRAIN_S: String(DRAIN_S),
        PARALLEL: parallel ? '1' : '0',
      },
    });
    this.serving = next;
  }
}

async function main(): Promise<void> {
  const runs = option('runs', 3);
  const state = readTestbedState();
  const hosts = state.hosts.slice(0, 3).map((host) => host.address);
  if (hosts.length < 3) throw new Error('the bench needs a testbed with 3 hosts');
  const [first] = hosts as [string, ...string[]];
  const three = uniqueService('bench3');
  const one = uniqueService('bench1');
  const bash = uniqueService('benchsh');
  const repository = imageRepository(state, three);
  const hostDockerConfig = `/tmp/${bash}-docker`;
  const projects: TestProject[] = [];

  try {
    console.log(`deploy bench: ${runs} run(s) each; image ${repository}; hosts ${hosts.join(', ')}\n`);
    // Untimed setup: one normal deploy builds and pushes the image; every later deploy reuses it.
    const projectThree = await TestProject.create({ service: three, image: repository, proxyPort: PORT_THREE, environments: { bench: hosts } }, state);
    const projectOne = await TestProject.create({ service: one, image: repository, proxyPort: PORT_ONE, environments: { bench: [first] } }, state);
    projects.push(projectThree, projectOne);
    await mustSucceed('the first (building) deploy', projectThree.run(['deploy', '--env', 'bench', '--version', 'base']));
    await mustSucceed('the 1-host warm-up deploy', projectOne.run(['deploy', '--env', 'bench', '--version', 'base', '--skip-build']));
    const tags = (prefix: string) => Array.from({ length: runs }, (_, i) => `${prefix}${i + 1}`);
    await pushTags(state, repository, 'base', [...tags('one-'), ...tags('three-')]);

    // The bash loop's own services (network, proxy of the same nginx image), one on host 1, one on all three.
    await loginHosts(state, hosts, hostDockerConfig);
    const bashOne = await PlainTarget.create(state, `${bash}-one`, [first], PORT_BASH_ONE, repository, hostDockerConfig);
    const bashThree = await PlainTarget.create(state, `${bash}-three`, hosts, PORT_BASH_THREE, repository, hostDockerConfig);

    const series: Series[] = [
      { label: 'stagecraft deploy --skip-build, 1 host', samples: [] },
      { label: 'stagecraft deploy --skip-build, 3 hosts', samples: [] },
      { label: 'bash loop of ssh docker …, 1 host', samples: [] },
      { label: 'bash loop of ssh docker …, 3 hosts in turn', samples: [] },
      { label: 'bash loop of ssh docker …, 3 hosts at once (&)', samples: [] },
    ];
    for (let run = 1; run <= runs; run++) {
      series[0]!.samples.push(await timed(() => mustSucceed('1-host deploy', projectOne.run(['deploy', '--env', 'bench', '--version', `one-${run}`, '--skip-build']))));
      series[1]!.samples.push(await timed(() => mustSucceed('3-host deploy', projectThree.run(['deploy', '--env', 'bench', '--version', `three-${run}`, '--skip-build']))));
      series[2]!.samples.push(await timed(() => bashOne.deploy(false)));
      series[3]!.samples.push(await timed(() => bashThree.deploy(false)));
      series[4]!.samples.push(await timed(() => bashThree.deploy(true)));
    }

    const check = async (port: number, targets: readonly string[]) => Object.values(await servedVersions(targets, port)).join(' ');
    console.log(
      `served now: stagecraft 1 host [${await check(PORT_ONE, [first])}], 3 hosts [${await check(PORT_THREE, hosts)}]; ` +
        `bash 1 host [${await check(PORT_BASH_ONE, [first])}], 3 hosts [${await check(PORT_BASH_THREE, hosts)}]\n`,
    );
    for (const entry of series) console.log(line(entry));
    console.log(
      '\nstagecraft also takes the deploy lock, records the release, writes the env file, appends the audit log and prunes old containers;' +
        '\nthe bash loop opens a new SSH connection for every command, stagecraft one per host.',
    );
  } finally {
    for (const project of projects) await project.cleanup().catch((error: unknown) => console.error(`cleanup: ${String(error)}`));
    for (const target of [`${bash}-one`, `${bash}-three`]) await removeServiceFromHosts(state, target, repository).catch(() => undefined);
    for (const address of hosts) await onHost(state, address, ['rm', '-rf', hostDockerConfig]);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
