/**
 * Throw-away projects for the migration end-to-end tests: a copy of an example app (raw-sql or
 * hello), a stagecraft.yml whose databases are scratch databases on the testbed's PostgreSQL,
 * and a runner for the REAL built CLI. Nothing is mocked.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { stringify } from 'yaml';
import type { Release } from '../../../src/releases/record.js';
import type { TestbedState } from './testbed-state.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = join(REPO_ROOT, 'bin', 'stagecraft.js');

export type ExampleApp = 'raw-sql' | 'hello' | 'drizzle' | 'node-pg-migrate' | 'prisma' | 'sqitch';

/** Examples whose image COPYs node_modules: installed (npm ci) when this package is missing. */
const INSTALLED_BY_NPM: Partial<Record<ExampleApp, string>> = { hello: 'knex', drizzle: 'drizzle-kit', 'node-pg-migrate': 'node-pg-migrate', prisma: 'prisma' };

export interface MigrateDatabaseSpec {
  /** As the hosts reach it. */
  url: string;
  engine: 'raw' | 'knex' | 'command' | 'drizzle' | 'node-pg-migrate' | 'prisma' | 'golang-migrate' | 'sqitch';
  path?: string;
  strategy?: 'pre_deploy' | 'post_deploy' | 'manual';
  command?: string[];
  plan_command?: string[];
  lock_timeout?: string;
  statement_lock_timeout?: string;
  lock_retries?: number;
  /** `databases.X.targets`: name → URL as hosts reach it (written as secrets, like url). */
  targets?: Record<string, string>;
  /** `databases.X.backup`, as written in stagecraft.yml (`$` in the command is kept literal). */
  backup?: { image: string; command: string[]; when?: 'destructive' | 'always'; timeout?: string; volumes?: string[] };
}

export interface MigrateProjectSpec {
  service: string;
  /** 8200–8299 (this suite's range). */
  proxyPort: number;
  app: ExampleApp;
  /** The first is the primary. */
  hosts: string[];
  databases: Record<string, MigrateDatabaseSpec>;
  healthcheck?: { path?: string; timeout?: string };
  /** More environments on the same hosts, besides `e2e`. */
  extraEnvironments?: string[];
  /** Top-level `orchestration` (the plan file, relative to stagecraft.yml). */
  orchestration?: { plan: string };
}

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

function envName(database: string): string {
  return `DB_${database.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_URL`;
}

/** `$` is stagecraft.yml's interpolation character: literal values get it doubled. */
function literal(value: string): string {
  return value.replaceAll('$', '$$$$');
}

function configDocument(spec: MigrateProjectSpec, state: TestbedState): Record<string, unknown> {
  return {
    service: spec.service,
    image: `${state.registry.server}/e2e/${spec.service}`,
    registry: { server: state.registry.server, username: state.registry.username, password: '${REGISTRY_PASSWORD}' },
    builder: { context: '.', dockerfile: 'Dockerfile' },
    ssh: { user: state.ssh.user, keys: [state.ssh.key], known_hosts: state.ssh.known_hosts },
    env: { clear: { PORT: '3000' } },
    proxy: {
      image: state.images.nginx,
      port: spec.proxyPort,
      app_port: 3000,
      healthcheck: { path: spec.healthcheck?.path ?? '/up', interval: '250ms', timeout: spec.healthcheck?.timeout ?? '30s' },
      drain_timeout: '200ms',
    },
    retain: 2,
    databases: Object.fromEntries(
      Object.entries(spec.databases).map(([name, db]) => [
        name,
        {
          url: `\${${envName(name)}}`,
          ...(db.targets ? { targets: Object.fromEntries(Object.keys(db.targets).map((target) => [target, `\${${envName(`${name}_${target}`)}}`])) } : {}),
          migrations: {
            engine: db.engine,
            ...(db.path ? { path: db.path } : {}),
            strategy: db.strategy ?? 'pre_deploy',
            timeout: '2m',
            ...(db.command ? { command: db.command.map(literal) } : {}),
            ...(db.plan_command ? { plan_command: db.plan_command.map(literal) } : {}),
            ...(db.lock_timeout ? { lock_timeout: db.lock_timeout } : {}),
            ...(db.statement_lock_timeout ? { statement_lock_timeout: db.statement_lock_timeout } : {}),
            ...(db.lock_retries !== undefined ? { lock_retries: db.lock_retries } : {}),
          },
          ...(db.backup ? { backup: { ...db.backup, command: db.backup.command.map(literal) } } : {}),
        },
      ]),
    ),
    ...(spec.orchestration ? { orchestration: spec.orchestration } : {}),
    environments: Object.fromEntries(
      ['e2e', ...(spec.extraEnvironments ?? [])].map((name) => [
        name,
        { hosts: spec.hosts.map((address, index) => ({ address, roles: index === 0 ? ['primary', 'web'] : ['web'] })) },
      ]),
    ),
  };
}

/** Variables of the runner's own environment that would change what the CLI does. */
const INHERITED_OVERRIDES = ['STAGECRAFT_ENV', 'STAGECRAFT_RELEASES_FILE', 'REGISTRY_PASSWORD', 'REGISTRY_USER', 'FORCE_COLOR'];

function cliEnvironment(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, CI: '1', NO_COLOR: '1' };
  for (const name of INHERITED_OVERRIDES) env[name] = undefined;
  return env;
}

export class MigrateProject {
  private constructor(
    readonly dir: string,
    readonly state: TestbedState,
    private current: MigrateProjectSpec,
  ) {}

  static async create(spec: MigrateProjectSpec, state: TestbedState): Promise<MigrateProject> {
    const dir = await mkdtemp(join(tmpdir(), `sc-e2em-${spec.service}-`));
    const source = join(REPO_ROOT, 'examples', spec.app);
    const marker = INSTALLED_BY_NPM[spec.app];
    if (marker !== undefined && !existsSync(join(source, 'node_modules', marker))) {
      await execa('npm', ['--prefix', source, 'ci', '--omit=dev', '--no-audit', '--no-fund'], { stdio: 'inherit' });
    }
    await cp(source, dir, { recursive: true, verbatimSymlinks: true, filter: (path) => !path.includes(`${source}/.stagecraft`) });
    const project = new MigrateProject(dir, state, spec);
    await project.configure({});
    return project;
  }

  get spec(): MigrateProjectSpec {
    return this.current;
  }

  get service(): string {
    return this.current.service;
  }

  async configure(change: Partial<MigrateProjectSpec>): Promise<void> {
    this.current = { ...this.current, ...change };
    await mkdir(join(this.dir, '.stagecraft'), { recursive: true });
    await writeFile(join(this.dir, 'stagecraft.yml'), stringify(configDocument(this.current, this.state)));
    const secrets = { REGISTRY_PASSWORD: this.state.registry.password, ...Object.fromEntries(Object.entries(this.current.databases).flatMap(([name, db]) => [
        [envName(name), db.url],
        ...Object.entries(db.targets ?? {}).map(([target, url]) => [envName(`${name}_${target}`), url]),
      ])) };
    await writeFile(join(this.dir, '.stagecraft', 'secrets'), `${Object.entries(secrets).map(([k, v]) => `${k}='${v}'`).join('\n')}\n`, { mode: 0o600 });
  }

  async writeFile(relative: string, content: string): Promise<void> {
    await mkdir(dirname(join(this.dir, relative)), { recursive: true });
    await writeFile(join(this.dir, relative), content);
  }

  async readFile(relative: string): Promise<string> {
    return readFile(join(this.dir, relative), 'utf8');
  }

  async removeFile(relative: string): Promise<void> {
    await rm(join(this.dir, relative), { force: true });
  }

  /** Starts the CLI and resolves once `text` shows up in its output; rejects with the output if it exits first. */
  async startUntil(args: string[], text: string): Promise<{ child: ReturnType<MigrateProject['start']>; output: () => string }> {
    const child = this.start(args);
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const look = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes(text)) resolve();
      };
      child.stdout?.on('data', look);
      child.stderr?.on('data', look);
      void child.then((result) => reject(new Error(`${args.join(' ')} exited ${result.exitCode} before printing "${text}": ${output}`)));
    });
    return { child, output: () => output };
  }

  /** Starts the real CLI (`--env e2e` added unless `args` name an environment) in the project dir. */
  start(args: readonly string[]): ResultPromise<{ reject: false; cwd: string; extendEnv: false; env: Record<string, string | undefined>; stdin: 'ignore' }> {
    return execa('node', [CLI, ...args, ...(args.includes('--env') ? [] : ['--env', 'e2e'])], { cwd: this.dir, reject: false, extendEnv: false, env: cliEnvironment(), stdin: 'ignore' });
  }

  async run(...args: string[]): Promise<CliResult> {
    const result = await this.start(args);
    return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
  }

  /** `migrate plan --json`, parsed; fails the test with the CLI's output when it does not exit 0. */
  async plan(...extra: string[]): Promise<PlanJson> {
    const result = await this.run('migrate', 'plan', '--json', ...extra);
    if (result.exitCode !== 0) throw new Error(`migrate plan exited ${result.exitCode}: ${result.stderr}${result.stdout}`);
    return JSON.parse(result.stdout) as PlanJson;
  }

  async releases(): Promise<Release[]> {
    const file = join(this.dir, '.stagecraft', 'releases.json');
    if (!existsSync(file)) return [];
    return (JSON.parse(await readFile(file, 'utf8')) as { releases: Release[] }).releases;
  }

  async lastRelease(): Promise<Release> {
    const last = (await this.releases()).at(-1);
    if (!last) throw new Error('no release recorded');
    return last;
  }

  async cleanup(): Promise<void> {
    await removeService(this.state, this.current.service);
    await rm(this.dir, { recursive: true, force: true });
  }
}

export interface PlanJson {
  image: string | null;
  databases: {
    database: string;
    engine: string;
    readable: boolean;
    reason?: string;
    applied_count: number;
    pending_count: number | null;
    migrations: { id: string; state: string; error?: string }[];
    would_run: string[];
    blocked?: string;
  }[];
  deploy: {
    migrate_pre: { database: string; would_run: string[] | null }[];
    migrate_post: { database: string; would_run: string[] | null }[];
    not_run: { database: string; reason: string }[];
  };
}

export function databaseIn(plan: PlanJson, name: string): PlanJson['databases'][number] {
  const found = plan.databases.find((d) => d.database === name);
  if (!found) throw new Error(`no database ${name} in the plan`);
  return found;
}

/** Runs fixed words on a host with the `ssh` client (independent of stagecraft's SSH code). */
async function onHost(state: TestbedState, address: string, words: readonly string[]): Promise<string> {
  const host = state.hosts.find((h) => h.address === address);
  if (!host) throw new Error(`no testbed host ${address}`);
  const result = await execa(
    'ssh',
    ['-i', state.ssh.key, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', `UserKnownHostsFile=${state.ssh.known_hosts}`, '-o', 'StrictHostKeyChecking=yes', '-p', String(host.port), `${state.ssh.user}@${host.address}`, ...words],
    { reject: false, stdin: 'ignore' },
  );
  return String(result.stdout);
}

/** Removes every container, the network, image tags, env and lock files of a service on every host. */
export async function removeService(state: TestbedState, service: string): Promise<void> {
  if (!/^e2em-[a-z0-9-]+$/.test(service)) throw new Error(`refusing to clean up ${service}: not a migrate e2e service`);
  await Promise.all(
    state.hosts.map(async (host) => {
      const names = (await onHost(state, host.address, ['docker', 'ps', '-aq', '--filter', `label=stagecraft.service=${service}`])).split('\n').filter(Boolean);
      if (names.length) await onHost(state, host.address, ['docker', 'rm', '-f', ...names]);
      await onHost(state, host.address, ['docker', 'network', 'rm', `${service}-net`]);
      const images = (await onHost(state, host.address, ['docker', 'images', '-q', `${state.registry.server}/e2e/${service}`])).split('\n').filter(Boolean);
      if (images.length) await onHost(state, host.address, ['docker', 'rmi', '-f', ...new Set(images)]);
      await onHost(state, host.address, ['rm', '-f', `.stagecraft/env/${service}-*.env`, `.stagecraft/locks/${service}-*.json`]);
    }),
  );
  const local = await execa('docker', ['images', '-q', `${state.registry.server}/e2e/${service}`], { reject: false });
  const ids = [...new Set(String(local.stdout).split('\n').filter(Boolean))];
  if (ids.length) await execa('docker', ['rmi', '-f', ...ids], { reject: false });
}

export { scratchDatabase, type ScratchDatabase } from './scratch-database.js';

export function uniqueService(kind: string): string {
  return `e2em-${kind}-${randomBytes(3).toString('hex')}`;
}

/**
 * The proxy port of one test file, in the migrate suites' range (8200–8299): each file passes its
 * own offset, so files that deploy to the same host at the same time never share a port.
 */
export function suitePort(offset: number): number {
  if (!Number.isInteger(offset) || offset < 0 || offset > 99) throw new Error(`suitePort offset ${offset}: expected 0..99`);
  return 8200 + offset;
}

/** GET `/` through a host's proxy: the version it reports, or the failure. */
export async function servedVersion(address: string, port: number): Promise<string> {
  try {
    const response = await fetch(`http://${address}:${port}/`, { signal: AbortSignal.timeout(5_000) });
    const body = await response.text();
    return /version (\S+) on /.exec(body)?.[1] ?? `(${response.status}: ${body.trim().slice(0, 80)})`;
  } catch (error) {
    return `(unreachable: ${String((error as Error).cause ?? error)})`;
  }
}
