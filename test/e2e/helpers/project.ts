/**
 * A throw-away stagecraft project for end-to-end tests: a stagecraft.yml that deploys
 * examples/hello to testbed hosts, a .stagecraft/secrets file, optional hooks, and a runner
 * for the REAL built CLI (`node bin/stagecraft.js …`, i.e. dist/). Nothing is mocked.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { stringify } from 'yaml';
import type { Release } from '../../../src/releases/record.js';
import { sshArgv, type TestbedHost, type TestbedState } from './testbed-state.js';

export { waitFor } from '../../helpers/wait.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const CLI = join(REPO_ROOT, 'bin', 'stagecraft.js');
export const HELLO_DIR = join(REPO_ROOT, 'examples', 'hello');

export type HookName = 'pre-build' | 'pre-deploy' | 'post-deploy';

export interface DatabaseSpec {
  /** URL as the hosts reach it (10.201.0.1); written to .stagecraft/secrets as DATABASE_URL. */
  url: string;
  command: string[];
  strategy?: 'pre_deploy' | 'post_deploy' | 'manual';
  timeout?: string;
}

export interface ProjectSpec {
  service: string;
  /** Image repository (default `<registry>/e2e/<service>`); projects sharing one share the image. */
  image?: string;
  /** The proxy's port on every host: one of 8100–8199, unique per config. */
  proxyPort: number;
  /** Environment name → host addresses; the first one is the primary. */
  environments: Record<string, string[]>;
  envClear?: Record<string, string>;
  /** Secret app variables: listed in env.secret, values written to .stagecraft/secrets. */
  secretEnv?: Record<string, string>;
  database?: DatabaseSpec;
  healthcheck?: { interval?: string; timeout?: string };
  drainTimeout?: string;
  retain?: number;
  /** Leave `registry:` out (only meaningful when every host is `local`). */
  noRegistry?: boolean;
  /** `rollout:` as written in stagecraft.yml (strategy, batch_size, canary_percent, max_parallel). */
  rollout?: Record<string, unknown>;
  /** `roles:` as written in stagecraft.yml. */
  roles?: Record<string, unknown>;
  /** A host's roles (default: primary + web for the first host of an environment, web for the others). */
  hostRoles?: Record<string, string[]>;
}

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** `$` is the interpolation character of stagecraft.yml: literal values get it doubled. */
function literal(value: string): string {
  return value.replaceAll('$', '$$$$');
}

function literalMap(map: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(map).map(([key, value]) => [key, literal(value)]));
}

export function imageRepository(state: TestbedState, service: string): string {
  return `${state.registry.server}/e2e/${service}`;
}

export function configDocument(spec: ProjectSpec, state: TestbedState): Record<string, unknown> {
  return {
    service: spec.service,
    image: spec.image ?? imageRepository(state, spec.service),
    ...(spec.noRegistry ? {} : { registry: { server: state.registry.server, username: state.registry.username, password: '${REGISTRY_PASSWORD}' } }),
    builder: { context: HELLO_DIR, dockerfile: join(HELLO_DIR, 'Dockerfile') },
    ssh: { user: state.ssh.user, keys: [state.ssh.key], known_hosts: state.ssh.known_hosts },
    env: { clear: literalMap({ PORT: '3000', ...spec.envClear }), secret: Object.keys(spec.secretEnv ?? {}) },
    proxy: {
      image: state.images.nginx,
      port: spec.proxyPort,
      app_port: 3000,
      healthcheck: { path: '/up', interval: spec.healthcheck?.interval ?? '250ms', timeout: spec.healthcheck?.timeout ?? '30s' },
      drain_timeout: spec.drainTimeout ?? '200ms',
    },
    retain: spec.retain ?? 2,
    ...(spec.rollout ? { rollout: spec.rollout } : {}),
    ...(spec.roles ? { roles: spec.roles } : {}),
    ...(spec.database
      ? {
          databases: {
            main: {
              url: '${DATABASE_URL}',
              migrations: {
                engine: 'command',
                command: spec.database.command.map(literal),
                strategy: spec.database.strategy ?? 'pre_deploy',
                timeout: spec.database.timeout ?? '1m',
              },
            },
          },
        }
      : {}),
    environments: Object.fromEntries(
      Object.entries(spec.environments).map(([name, hosts]) => [
        name,
        { hosts: hosts.map((address, index) => ({ address, roles: spec.hostRoles?.[address] ?? (index === 0 ? ['primary', 'web'] : ['web']) })) },
      ]),
    ),
  };
}

function secretsFile(spec: ProjectSpec, state: TestbedState): string {
  const values: Record<string, string> = { REGISTRY_PASSWORD: state.registry.password, ...spec.secretEnv };
  if (spec.database) values['DATABASE_URL'] = spec.database.url;
  return `${Object.entries(values)
    .map(([key, value]) => `${key}='${value}'`)
    .join('\n')}\n`;
}

/** Variables of the test runner's own environment that would change what the CLI does. */
const INHERITED_OVERRIDES = ['STAGECRAFT_ENV', 'STAGECRAFT_RELEASES_FILE', 'REGISTRY_PASSWORD', 'REGISTRY_USER', 'DATABASE_URL', 'FORCE_COLOR'];

function cliEnvironment(extra: Record<string, string> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, CI: '1', NO_COLOR: '1' };
  for (const name of INHERITED_OVERRIDES) env[name] = undefined;
  return { ...env, ...extra };
}

export class TestProject {
  private constructor(
    readonly dir: string,
    readonly state: TestbedState,
    private currentSpec: ProjectSpec,
  ) {}

  static async create(spec: ProjectSpec, state: TestbedState): Promise<TestProject> {
    await ensureHelloDependencies();
    const dir = await mkdtemp(join(tmpdir(), `sc-e2e-${spec.service}-`));
    const project = new TestProject(dir, state, spec);
    await project.configure(spec);
    return project;
  }

  get spec(): ProjectSpec {
    return this.currentSpec;
  }

  get configPath(): string {
    return join(this.dir, 'stagecraft.yml');
  }

  get releasesFile(): string {
    return join(this.dir, '.stagecraft', 'releases.json');
  }

  get hooksDir(): string {
    return join(this.dir, '.stagecraft', 'hooks');
  }

  /** Rewrites stagecraft.yml and .stagecraft/secrets from `spec` (merged over the current one). */
  async configure(change: Partial<ProjectSpec>): Promise<void> {
    this.currentSpec = { ...this.currentSpec, ...change };
    await mkdir(join(this.dir, '.stagecraft'), { recursive: true });
    await writeFile(this.configPath, stringify(configDocument(this.currentSpec, this.state)));
    await writeFile(join(this.dir, '.stagecraft', 'secrets'), secretsFile(this.currentSpec, this.state), { mode: 0o600 });
  }

  /** Installs an executable hook script (a `#!/bin/sh` body). */
  async writeHook(name: HookName, body: string): Promise<void> {
    await mkdir(this.hooksDir, { recursive: true });
    const path = join(this.hooksDir, name);
    await writeFile(path, `#!/bin/sh\n${body}\n`);
    await chmod(path, 0o755);
  }

  async removeHook(name: HookName): Promise<void> {
    await rm(join(this.hooksDir, name), { force: true });
  }

  /** Starts the real CLI in the project dir; the caller awaits (or signals) the subprocess. */
  start(args: readonly string[], options: { env?: Record<string, string> } = {}): ResultPromise<{ reject: false; cwd: string; extendEnv: false; env: Record<string, string | undefined>; stdin: 'ignore' }> {
    return execa('node', [CLI, ...args], {
      cwd: this.dir,
      reject: false,
      extendEnv: false,
      env: cliEnvironment(options.env),
      stdin: 'ignore',
    });
  }

  async run(args: readonly string[], options: { env?: Record<string, string> } = {}): Promise<CliResult> {
    const result = await this.start(args, options);
    return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
  }

  /** The releases file's records (empty when none was ever written). */
  async releases(): Promise<Release[]> {
    if (!existsSync(this.releasesFile)) return [];
    const data = JSON.parse(await readFile(this.releasesFile, 'utf8')) as { releases: Release[] };
    return data.releases;
  }

  async releasesText(): Promise<string> {
    return existsSync(this.releasesFile) ? readFile(this.releasesFile, 'utf8') : '';
  }

  async release(id: string): Promise<Release> {
    const found = (await this.releases()).find((r) => r.id === id);
    if (!found) throw new Error(`no release ${id} in ${this.releasesFile}`);
    return found;
  }

  async lastRelease(): Promise<Release> {
    const all = await this.releases();
    const last = all.at(-1);
    if (!last) throw new Error(`no release recorded in ${this.releasesFile}`);
    return last;
  }

  async cleanup(): Promise<void> {
    await removeServiceFromHosts(this.state, this.currentSpec.service, this.currentSpec.image);
    await rm(this.dir, { recursive: true, force: true });
  }
}

let helloDependencies: Promise<void> | undefined;

/** The example's Dockerfile copies node_modules in: install them once (no network at build time). */
export function ensureHelloDependencies(): Promise<void> {
  helloDependencies ??= (async () => {
    if (existsSync(join(HELLO_DIR, 'node_modules', 'pg'))) return;
    await execa('npm', ['--prefix', HELLO_DIR, 'ci', '--omit=dev', '--no-audit', '--no-fund'], { stdio: 'inherit' });
  })();
  return helloDependencies;
}

export function testbedHost(state: TestbedState, address: string): TestbedHost {
  const host = state.hosts.find((h) => h.address === address);
  if (!host) throw new Error(`no testbed host ${address}`);
  return host;
}

/** Runs fixed words on a host with the `ssh` client (independent of stagecraft's own SSH code). */
export async function onHost(state: TestbedState, address: string, words: readonly string[]): Promise<CliResult> {
  const result = await execa('ssh', [...sshArgv(state, testbedHost(state, address)), ...words], { reject: false, stdin: 'ignore' });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

export async function onHostChecked(state: TestbedState, address: string, words: readonly string[]): Promise<string> {
  const result = await onHost(state, address, words);
  if (result.exitCode !== 0) throw new Error(`ssh ${address} ${words.join(' ')}: exit ${result.exitCode}: ${result.stderr}`);
  return result.stdout;
}

/** Names of every container (running or not) of a service on a host. */
export async function serviceContainers(state: TestbedState, address: string, service: string): Promise<string[]> {
  const out = await onHostChecked(state, address, ['docker', 'ps', '-a', '--filter', `label=stagecraft.service=${service}`, '--format', '{{.Names}}']);
  return out.split('\n').map((line) => line.trim()).filter(Boolean).sort();
}

/** `docker inspect` of one container on a host, or undefined when it does not exist. */
export async function inspectOnHost(state: TestbedState, address: string, container: string): Promise<DockerInspect | undefined> {
  const result = await onHost(state, address, ['docker', 'inspect', '--type', 'container', container]);
  if (result.exitCode !== 0) return undefined;
  return (JSON.parse(result.stdout) as DockerInspect[])[0];
}

export interface DockerInspect {
  Name: string;
  Path: string;
  Args: string[];
  Config: { Image: string; Cmd: string[] | null; Entrypoint: string[] | null; Env: string[] | null; Labels: Record<string, string> };
  State: { Running: boolean };
}

/** Removes every container, the network, image tags, env file and lock file of a service on every host. */
export async function removeServiceFromHosts(state: TestbedState, service: string, repository = imageRepository(state, service)): Promise<void> {
  await Promise.all(
    state.hosts.map(async (host) => {
      const names = await serviceContainers(state, host.address, service).catch(() => []);
      if (names.length) await onHost(state, host.address, ['docker', 'rm', '-f', ...names]);
      await onHost(state, host.address, ['docker', 'network', 'rm', `${service}-net`]);
      const images = await onHost(state, host.address, ['docker', 'images', '-q', repository]);
      const ids = [...new Set(images.stdout.split('\n').map((l) => l.trim()).filter(Boolean))];
      if (ids.length) await onHost(state, host.address, ['docker', 'rmi', '-f', ...ids]);
      // The remote shell expands the globs; the service name is the test's own [a-z0-9-] value.
      await onHost(state, host.address, ['rm', '-f', `.stagecraft/env/${service}-*.env`, `.stagecraft/locks/${service}-*.json`, `.stagecraft/releases/${service}.jsonl`]);
    }),
  );
  // The operator's local tags of the test images.
  const local = await execa('docker', ['images', '-q', `${state.registry.server}/e2e/${service}`], { reject: false });
  const ids = [...new Set(String(local.stdout).split('\n').map((l) => l.trim()).filter(Boolean))];
  if (ids.length) await execa('docker', ['rmi', '-f', ...ids], { reject: false });
}

/**
 * The deploy lock file as it is on the host (read with the `ssh` client, not through
 * stagecraft), or undefined when there is none.
 */
export async function deployLockFile(state: TestbedState, address: string, service: string, environment: string): Promise<string | undefined> {
  const path = `.stagecraft/locks/${service}-${environment}.json`;
  const result = await onHost(state, address, ['cat', path]);
  if (result.exitCode === 0) return result.stdout;
  if (/No such file/.test(result.stderr)) return undefined;
  throw new Error(`ssh ${address} cat ${path}: exit ${result.exitCode}: ${result.stderr}`);
}

/**
 * Samples what each host's proxy serves until `done` settles; per host, the distinct versions
 * in the order they were seen ([`v1`] when nothing changed).
 */
export async function watchServedVersions(addresses: readonly string[], port: number, done: Promise<unknown>, maxSamples = 5_000): Promise<Record<string, string[]>> {
  let finished = false;
  void done.finally(() => (finished = true));
  const seen: Record<string, string[]> = Object.fromEntries(addresses.map((address) => [address, []]));
  for (let i = 0; i < maxSamples && !finished; i++) {
    const now = await servedVersions(addresses, port);
    for (const address of addresses) {
      const versions = seen[address]!;
      if (versions.at(-1) !== now[address]) versions.push(now[address]!);
    }
  }
  return seen;
}

/** GET through a host's proxy; the body, or the error text when nothing answered. */
export async function fetchText(address: string, port: number, path = '/'): Promise<{ status: number; body: string }> {
  try {
    const response = await fetch(`http://${address}:${port}${path}`, { signal: AbortSignal.timeout(5_000) });
    return { status: response.status, body: await response.text() };
  } catch (error) {
    return { status: 0, body: String((error as Error).cause ?? error) };
  }
}

/** The `version <v>` each host's proxy serves right now. */
export async function servedVersions(addresses: readonly string[], port: number): Promise<Record<string, string>> {
  const entries = await Promise.all(
    addresses.map(async (address) => {
      const { status, body } = await fetchText(address, port);
      const version = /version (\S+) on /.exec(body)?.[1];
      return [address, status === 200 && version ? version : `(${status}: ${body.trim().slice(0, 80)})`] as const;
    }),
  );
  return Object.fromEntries(entries);
}

/** Tags of a repository in the testbed's registry (empty when the repository does not exist). */
export async function registryTags(state: TestbedState, repository: string): Promise<string[]> {
  const auth = Buffer.from(`${state.registry.username}:${state.registry.password}`).toString('base64');
  const response = await fetch(`http://${state.registry.server}/v2/${repository}/tags/list`, { headers: { authorization: `Basic ${auth}` } });
  if (response.status === 404) return [];
  if (!response.ok) throw new Error(`registry tags/list ${repository}: HTTP ${response.status}`);
  const body = (await response.json()) as { tags: string[] | null };
  return body.tags ?? [];
}

export function uniqueService(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

