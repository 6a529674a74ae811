/**
 * Secret canaries: every kind of secret stagecraft handles gets a fresh random value (an
 * `env.secret` from the process environment, one from `.stagecraft/secrets`, the password of a
 * scratch PostgreSQL role inside the database URL, and the testbed registry's fixed password), a
 * full cycle runs with the real built CLI on the testbed (deploys that succeed and fail in every
 * phase that touches a secret, a hook and a migration tool that print secrets, a rollback, migrate,
 * config, releases, lock; plain lines, --verbose, --json and one run in a terminal),
 * and then everything the cycle left behind is searched for each secret and for every 8-character
 * piece of it (also base64-encoded): command output, the release store and every other file of the
 * project, each host's home (audit log, locks, but not the one env file, which must be mode 0600),
 * `docker inspect` (without Config.Env) and logs of app, proxy and migration containers, the
 * proxy's site config, the image, the daemons' and PostgreSQL's logs, the tracking table, the argv
 * of every process seen while a command ran (the testbed hosts share this machine's process table,
 * so that includes what ran on them), and files written to the temp dir. Nothing is mocked.
 *
 * Each secret kind gets its own value: stagecraft redacts by value, so one value shared by all
 * kinds would let one kind's redaction hide another kind missing from the redaction list.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NGINX_SITE_PATH } from '../../src/rollout/nginx-config.js';
import { CLI, configDocument, removeServiceFromHosts, ensureHelloDependencies, type CliResult } from './helpers/project.js';
import { scratchDatabase, type ScratchDatabase } from './helpers/scratch-database.js';
import { readTestbedState, testbedStatePath, type TestbedHost, type TestbedState } from './helpers/testbed-state.js';

const PROXY_PORT = 8340;
const ENV = 'e2e';
const service = `e2ek-${randomBytes(3).toString('hex')}`;
const FRAGMENT = 8;
/**
 * The CLI under test: the repository's built one; STAGECRAFT_CANARY_CLI points at another build
 * (e.g. a copy of src/ made to print a secret on purpose, to see this test fail).
 */
const CANARY_CLI = process.env.STAGECRAFT_CANARY_CLI ?? CLI;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** Letters and digits only, so no encoding (URL, shell, JSON) changes how it is spelt. */
function canary(length = 32): string {
  return [...randomBytes(length)].map((byte) => ALPHABET[byte % ALPHABET.length]).join('');
}

interface Secret {
  name: string;
  value: string;
}

/** The raw engine's files: the first succeeds; `0002_boom.sql` is added for the failing deploy. */
const RAW_OK = 'CREATE TABLE IF NOT EXISTS canary_main (id serial PRIMARY KEY, note text);\n';
const RAW_BOOM = 'INSERT INTO canary_main (note) SELECT missing_column FROM canary_main;\n';

/** The post-deploy command migration: uses DATABASE_URL, prints no secret, lingers to be inspected. */
const SIDE_OK_JS = [
  "const pg = require('pg');",
  'const client = new pg.Client({ connectionString: process.env.DATABASE_URL });',
  'client.connect()',
  "  .then(() => client.query('CREATE TABLE IF NOT EXISTS canary_side (version text NOT NULL)'))",
  "  .then(() => client.query('INSERT INTO canary_side (version) VALUES ($1)', [process.env.STAGECRAFT_VERSION]))",
  '  .then(() => client.end())',
  "  .then(() => console.log('side migration recorded ' + process.env.STAGECRAFT_VERSION))",
  '  .then(() => new Promise((resolve) => setTimeout(resolve, 4000)))',
  '  .catch((error) => { console.error(error.message); process.exit(1); });',
].join('\n');

/** A failing tool that prints its secrets the way tools print connection errors: stagecraft must redact them. */
const SIDE_FAIL_JS = [
  'const url = new URL(process.env.DATABASE_URL);',
  "console.log('side migration starting');",
  'console.error(`could not connect to ${process.env.DATABASE_URL}`);',
  'console.error(`password was ${url.password} for ${url.username}`);',
  'console.error(`tokens: ${process.env.APP_TOKEN} / ${process.env.FILE_TOKEN}`);',
  'process.exit(3);',
].join('\n');

/**
 * A pre-deploy hook that reads the project's secrets itself and prints them, as a backup script's
 * log might; the second line reaches stagecraft in two pieces (as block-buffered output can).
 */
const PRINTING_HOOK = [
  '#!/bin/sh',
  '. ./.stagecraft/secrets',
  'echo "pre-deploy hook: backing up $DATABASE_URL"',
  "printf 'pre-deploy hook: token %.12s' \"$FILE_TOKEN\"",
  'sleep 0.5',
  "printf '%s (written in two pieces)\\n' \"${FILE_TOKEN#????????????}\"",
  '',
].join('\n');

let state: TestbedState;
let primary: TestbedHost;
let web: TestbedHost;
let other: TestbedHost;
let dir: string;
let database: ScratchDatabase;
let role: string;
let databaseUrl: string;
let secrets: Secret[];
let envCanary: string;
let startedAt: number;
/** Byte offsets of daemon logs when the test started: only what was written since is searched. */
const logOffsets = new Map<string, number>();

/** Everything to search: a name (file, command) and its text. */
const sources: { kind: string; name: string; text: string }[] = [];
const processArgv = new Map<string, string>();
let cycleCompleted = false;

function addSource(kind: string, name: string, text: string): void {
  sources.push({ kind, name, text });
}

// ---------------------------------------------------------------- project

interface ProjectShape {
  rawFiles: Record<string, string>;
  sideCommand: string[];
  databaseUrl: string;
  unhealthyOn?: string;
  healthTimeout?: string;
}

let shape: ProjectShape;

async function writeProject(change: Partial<ProjectShape>): Promise<void> {
  shape = { ...shape, ...change };
  const document = configDocument(
    {
      service,
      proxyPort: PROXY_PORT,
      environments: { [ENV]: [primary.address, web.address] },
      envClear: shape.unhealthyOn ? { UNHEALTHY_ON_HOSTS: shape.unhealthyOn } : {},
      secretEnv: { APP_TOKEN: '', FILE_TOKEN: '' },
      healthcheck: { timeout: shape.healthTimeout ?? '30s' },
    },
    state,
  );
  document['databases'] = {
    main: { url: '${DATABASE_URL}', migrations: { engine: 'raw', path: 'db/main', strategy: 'pre_deploy', timeout: '1m', lock_timeout: '20s' } },
    side: {
      url: '${DATABASE_URL}',
      migrations: { engine: 'command', command: shape.sideCommand.map((word) => word.replaceAll('$', '$$$$')), strategy: 'post_deploy', timeout: '1m' },
    },
  };
  await mkdir(join(dir, '.stagecraft'), { recursive: true });
  await writeFile(join(dir, 'stagecraft.yml'), stringify(document));
  // APP_TOKEN comes from the process environment (cli() below); the rest from the secrets file.
  const fileSecrets = { REGISTRY_PASSWORD: state.registry.password, FILE_TOKEN: secrets[1]!.value, DATABASE_URL: shape.databaseUrl };
  await writeFile(join(dir, '.stagecraft', 'secrets'), `${Object.entries(fileSecrets).map(([k, v]) => `${k}=${v}`).join('\n')}\n`, { mode: 0o600 });
  await rm(join(dir, 'db'), { recursive: true, force: true });
  await mkdir(join(dir, 'db', 'main'), { recursive: true });
  for (const [name, sql] of Object.entries(shape.rawFiles)) await writeFile(join(dir, 'db', 'main', name), sql);
}

// ---------------------------------------------------------------- commands and watchers

/** argv of every process on this machine while a command runs (a secret must never be in argv). */
function sampleProcesses(): void {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return;
  }
  for (const pid of pids) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      if (argv) processArgv.set(`${pid} ${argv}`, argv);
    } catch {
      // gone already
    }
  }
}

let commandCount = 0;

/**
 * Runs the real CLI in the project dir; records its output as sources; checks the exit code.
 * `tty: true` runs it in a pseudo-terminal (util-linux `script`), without CI: the live task list.
 */
async function cli(args: string[], expectedExit: number, label = args.join(' '), options: { tty?: boolean } = {}): Promise<CliResult> {
  commandCount += 1;
  const sampler = setInterval(sampleProcesses, 150);
  const env: Record<string, string | undefined> = { ...process.env, CI: '1', NO_COLOR: '1', APP_TOKEN: envCanary };
  for (const name of ['STAGECRAFT_ENV', 'STAGECRAFT_RELEASES_FILE', 'REGISTRY_PASSWORD', 'REGISTRY_USER', 'DATABASE_URL', 'FILE_TOKEN', 'FORCE_COLOR']) env[name] = undefined;
  if (options.tty) env['CI'] = undefined;
  // The words are this test's own fixed values; quoted for the shell `script` starts.
  const words = ['node', CANARY_CLI, ...args].map((word) => `'${word.replaceAll("'", `'\\''`)}'`).join(' ');
  const [file, argv] = options.tty ? ['script', ['-qefc', `stty cols 120 2>/dev/null; exec ${words}`, '/dev/null']] : ['node', [CANARY_CLI, ...args]];
  try {
    const result = await execa(file, argv, { cwd: dir, reject: false, extendEnv: false, env, stdin: 'ignore' });
    const out = { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
    addSource('command output', `\`stagecraft ${label}\` ${options.tty ? 'terminal' : 'stdout'}`, out.stdout);
    addSource('command output', `\`stagecraft ${label}\` stderr`, out.stderr);
    // The output is searched later; a wrong exit code fails now, with the (secret-masked) output.
    expect(out.exitCode, `stagecraft ${label}: exit ${out.exitCode}\n${mask(out.stdout)}\n${mask(out.stderr)}`).toBe(expectedExit);
    return out;
  } finally {
    clearInterval(sampler);
  }
}

/** The docker CLI against one host's engine directly (its socket is on this machine). */
async function dockerOn(host: TestbedHost, args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const result = await execa('docker', args, { reject: false, env: { DOCKER_HOST: host.docker_host }, stdin: 'ignore' });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** `docker inspect` minus Config.Env (where the app's environment legitimately is), plus logs. */
async function collectContainer(host: TestbedHost, id: string, why: string): Promise<boolean> {
  const inspect = await dockerOn(host, ['inspect', '--type', 'container', id]);
  if (inspect.exitCode !== 0) return false;
  const [info] = JSON.parse(inspect.stdout) as { Name: string; Config: Record<string, unknown> }[];
  if (!info) return false;
  const { Env: _env, ...config } = info.Config;
  addSource('containers', `docker inspect ${info.Name} on ${host.name} (${why}, without Config.Env)`, JSON.stringify({ ...info, Config: config }, null, 1));
  const logs = await dockerOn(host, ['logs', id]);
  addSource('containers', `docker logs ${info.Name} on ${host.name} (${why})`, `${logs.stdout}\n${logs.stderr}`);
  return true;
}

/**
 * While a deploy runs: reads the lock file on the primary host (its home is a directory of the
 * testbed) and catches the one-off migration container to inspect it and read its logs.
 */
function watchDeploy(): { stop: () => Promise<{ lockSeen: number; migrationContainers: number }> } {
  let running = true;
  let lockSeen = 0;
  const seen = new Set<string>();
  const lockTexts = new Set<string>();
  const lockFile = join(hostHome(primary), '.stagecraft', 'locks', `${service}-${ENV}.json`);
  const loop = (async () => {
    while (running) {
      if (existsSync(lockFile)) {
        try {
          const text = await readFile(lockFile, 'utf8');
          if (!lockTexts.has(text)) addSource('lock file', `lock file ~/.stagecraft/locks/${service}-${ENV}.json on ${primary.name} (held, during a deploy)`, text);
          lockTexts.add(text);
          lockSeen += 1;
        } catch {
          // released between the check and the read
        }
      }
      const ps = await dockerOn(primary, ['ps', '-q', '--filter', `label=stagecraft.service=${service}`, '--filter', 'label=stagecraft.role=migrate']);
      for (const id of ps.stdout.split('\n').map((line) => line.trim()).filter(Boolean)) {
        if (seen.has(id)) continue;
        // Let it print what it prints before its pause.
        await new Promise((resolve) => setTimeout(resolve, 1500));
        if (await collectContainer(primary, id, 'migration container, while it ran')) seen.add(id);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { lockSeen, migrationContainers: seen.size };
    },
  };
}

// ---------------------------------------------------------------- collecting

function hostHome(host: TestbedHost): string {
  return join(state.dir, 'hosts', host.name, 'home');
}

function envFileOf(host: TestbedHost): string {
  return join(hostHome(host), '.stagecraft', 'env', `${service}-${ENV}.env`);
}

async function walk(root: string, skip: (path: string) => boolean, out: string[] = []): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    const path = join(root, entry.name);
    if (skip(path)) continue;
    if (entry.isDirectory()) await walk(path, skip, out);
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

async function readTail(path: string, from: number): Promise<string> {
  if (!existsSync(path)) return '';
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    const start = from <= size ? from : 0;
    const buffer = Buffer.alloc(size - start);
    await handle.read(buffer, 0, buffer.length, start);
    return buffer.toString('utf8');
  } finally {
    await handle.close();
  }
}

function daemonLogs(): Record<string, string> {
  const logs: Record<string, string> = {
    'registry log': join(state.dir, 'registry', 'registry.log'),
    'PostgreSQL log': join(state.dir, 'postgres', 'postgres.log'),
  };
  for (const host of state.hosts) {
    logs[`dockerd log of ${host.name}`] = join(state.dir, 'hosts', host.name, 'dockerd.log');
    logs[`sshd log of ${host.name}`] = host.sshd_log;
  }
  return logs;
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

async function collectAfterCycle(): Promise<void> {
  // The project: release store, its lock, config, migrations; never the secrets file itself.
  for (const file of await walk(dir, (path) => path === join(dir, '.stagecraft', 'secrets'))) {
    addSource('project files', `project file ${relative(dir, file)}`, await readFile(file, 'utf8'));
  }
  // Each host's home: audit log, locks, other files; the service's env file is checked for its mode.
  for (const host of state.hosts) {
    for (const file of await walk(hostHome(host), (path) => path === envFileOf(host))) {
      addSource('host files', `${host.name}:~/${relative(hostHome(host), file)}`, await readFile(file, 'utf8'));
    }
    const audit = await execa('ssh', [...sshArgv(host), 'cat', '.stagecraft/audit.log'], { reject: false, stdin: 'ignore' });
    addSource('host files', `${host.name}:~/.stagecraft/audit.log (over ssh)`, String(audit.stdout));
    for (const file of await walk(join(state.dir, 'hosts', host.name, 'docker-client'), () => false)) {
      addSource('host files', `${host.name} DOCKER_CONFIG ${relative(state.dir, file)}`, await readFile(file, 'utf8'));
    }
  }
  // Every container of the service on every host (app and proxy) and the image.
  for (const host of state.hosts) {
    const ps = await dockerOn(host, ['ps', '-aq', '--filter', `label=stagecraft.service=${service}`]);
    const ids = ps.stdout.split('\n').map((line) => line.trim()).filter(Boolean);
    const proxy = await dockerOn(host, ['ps', '-aq', '--filter', `name=^${service}-proxy$`]);
    for (const id of new Set([...ids, ...proxy.stdout.split('\n').map((line) => line.trim()).filter(Boolean)])) {
      await collectContainer(host, id, 'after the cycle');
    }
    // The proxy's site config lives inside its container (a tar stream of the one file).
    const site = await dockerOn(host, ['cp', `${service}-proxy:${NGINX_SITE_PATH}`, '-']);
    if (site.exitCode === 0) addSource('containers', `${NGINX_SITE_PATH} in ${service}-proxy on ${host.name}`, site.stdout);
    const images = await dockerOn(host, ['images', '--no-trunc', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}', `${state.registry.server}/e2e/${service}`]);
    addSource('images', `docker images on ${host.name}`, images.stdout);
  }
  const local = await execa('docker', ['images', '-q', `${state.registry.server}/e2e/${service}`], { reject: false });
  for (const id of new Set(String(local.stdout).split('\n').filter(Boolean))) {
    const inspect = await execa('docker', ['image', 'inspect', id], { reject: false });
    addSource('images', `docker image inspect ${id} (operator)`, String(inspect.stdout));
    const history = await execa('docker', ['history', '--no-trunc', id], { reject: false });
    addSource('images', `docker history ${id} (operator)`, String(history.stdout));
  }
  // What the tracking table and the migration recorded.
  const rows = await asRole('SELECT * FROM stagecraft_migrations').catch((error: unknown) => [{ error: String(error) }]);
  addSource('database', 'stagecraft_migrations rows', JSON.stringify(rows, null, 1));
  // Daemon logs written since the test started.
  for (const [name, path] of Object.entries(daemonLogs())) addSource('daemon logs', `${name} (since the test started)`, await readTail(path, logOffsets.get(path) ?? 0));
  // argv of every process seen while a command ran.
  addSource('process argv', 'argv of processes seen during commands', [...processArgv.values()].join('\n'));
  // Files written to the temp dir since the test started (other projects' secrets files and
  // throw-away DOCKER_CONFIG dirs of concurrent pushes aside: they hold the registry password by
  // design; so does the testbed itself when the checkout lives under the temp dir, as in CI: its
  // hosts' Docker data keeps each container's Env and their homes the 0600 env files, which are
  // checked above by mode, and their audit logs and locks are searched above as host files).
  const tmp = tmpdir();
  const testbedDir = dirname(testbedStatePath());
  const files = await walk(
    tmp,
    (path) =>
      path === testbedDir ||
      /\/\.stagecraft\/secrets$/.test(path) ||
      /\/stagecraft-docker-[^/]*$/.test(path) ||
      /\/node_modules$/.test(path) ||
      path.startsWith('/tmp/bash_jobs'),
  );
  let budget = 64 * 1024 * 1024;
  for (const file of files) {
    const info = await stat(file).catch(() => undefined);
    if (!info || info.mtimeMs < startedAt || info.size > 8 * 1024 * 1024 || info.size > budget) continue;
    budget -= info.size;
    addSource('temp files', `temp file ${file}`, await readFile(file, 'utf8').catch(() => ''));
  }
}

/** A query as the canary role (it owns the tables the migrations create). */
async function asRole(sql: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query(sql)).rows as Record<string, unknown>[];
  } finally {
    await client.end();
  }
}

function sshArgv(host: TestbedHost): string[] {
  return ['-i', state.ssh.key, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', `UserKnownHostsFile=${state.ssh.known_hosts}`, '-o', 'StrictHostKeyChecking=yes', '-p', String(host.port), `${state.ssh.user}@${host.address}`];
}

// ---------------------------------------------------------------- searching

interface Needle {
  secret: string;
  form: 'plain' | 'base64';
}

/**
 * Every 8-character piece of each secret, lower-cased (matching ignores case), and of its base64
 * encodings at the three byte alignments (only the characters that depend on the secret alone).
 */
function needlesOf(list: readonly Secret[]): Map<string, Needle> {
  const needles = new Map<string, Needle>();
  const add = (text: string, needle: Needle) => {
    for (let i = 0; i + FRAGMENT <= text.length; i += 1) {
      const piece = text.slice(i, i + FRAGMENT).toLowerCase();
      if (!needles.has(piece) || needle.form === 'plain') needles.set(piece, needle);
    }
  };
  for (const secret of list) {
    add(secret.value, { secret: secret.name, form: 'plain' });
    for (let pad = 0; pad < 3; pad += 1) {
      const encoded = Buffer.from(`${'x'.repeat(pad)}${secret.value}`).toString('base64');
      const first = Math.ceil(pad / 3) * 4;
      const last = Math.floor((pad + secret.value.length) / 3) * 4;
      add(encoded.slice(first, last), { secret: secret.name, form: 'base64' });
    }
  }
  return needles;
}

/** Replaces every secret piece in `text` with `•`. */
function mask(text: string): string {
  if (!secrets) return text;
  const needles = needlesOf(secrets);
  const lower = text.toLowerCase();
  const hidden = new Uint8Array(text.length);
  for (let i = 0; i + FRAGMENT <= lower.length; i += 1) {
    if (needles.has(lower.slice(i, i + FRAGMENT))) hidden.fill(1, i, i + FRAGMENT);
  }
  let out = '';
  for (let i = 0; i < text.length; i += 1) out += hidden[i] ? '•' : text[i];
  return out;
}

interface Finding {
  where: string;
  line: number;
  secret: string;
  form: string;
  excerpt: string;
}

interface Tally {
  sources: number;
  lines: number;
  bytes: number;
}

function search(): { findings: Finding[]; tally: Map<string, Tally> } {
  const needles = needlesOf(secrets);
  const findings: Finding[] = [];
  const tally = new Map<string, Tally>();
  for (const source of sources) {
    const sourceLines = source.text.split('\n');
    const counted = tally.get(source.kind) ?? { sources: 0, lines: 0, bytes: 0 };
    tally.set(source.kind, { sources: counted.sources + 1, lines: counted.lines + sourceLines.length, bytes: counted.bytes + Buffer.byteLength(source.text) });
    sourceLines.forEach((text, index) => {
      const lower = text.toLowerCase();
      for (let i = 0; i + FRAGMENT <= lower.length; i += 1) {
        const needle = needles.get(lower.slice(i, i + FRAGMENT));
        if (!needle) continue;
        const start = Math.max(0, i - 80);
        findings.push({ where: source.name, line: index + 1, secret: needle.secret, form: needle.form, excerpt: mask(text.slice(start, i + 120)) });
        return; // one finding per line
      }
    });
  }
  return { findings, tally };
}

/** A search that finds nothing proves little if a source came back empty: each must hold what it should. */
function expectSource(kind: string, namePart: string, content: string): void {
  const found = sources.some((source) => source.kind === kind && source.name.includes(namePart) && source.text.includes(content));
  expect(found, `a ${kind} source named like "${namePart}" containing "${content}"`).toBe(true);
}

// ---------------------------------------------------------------- the test

beforeAll(async () => {
  state = readTestbedState();
  [primary, web, other] = [state.hosts[0]!, state.hosts[1]!, state.hosts[2]!];
  expect(other).toBeDefined();
  envCanary = canary();
  const fileCanary = canary();
  const databaseCanary = canary();
  secrets = [
    { name: 'env.secret APP_TOKEN (from the process environment)', value: envCanary },
    { name: 'env.secret FILE_TOKEN (from .stagecraft/secrets)', value: fileCanary },
    { name: 'the database password (in the database URL)', value: databaseCanary },
    { name: 'registry.password (the testbed registry’s)', value: state.registry.password },
  ];
  await ensureHelloDependencies();
  database = await scratchDatabase(state, 'e2ek');
  role = `e2ek_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: state.postgres.admin_url });
  await admin.connect();
  try {
    // The testbed's PostgreSQL does not log statements (log_statement is off), and its log is only
    // searched from here on.
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${databaseCanary}'`);
    await admin.query(`ALTER DATABASE ${database.name} OWNER TO ${role}`);
  } finally {
    await admin.end();
  }
  databaseUrl = `postgres://${role}:${databaseCanary}@${state.postgres.host}:${state.postgres.port}/${database.name}`;
  startedAt = Date.now() - 1000;
  for (const path of Object.values(daemonLogs())) logOffsets.set(path, sizeOf(path));
  dir = await mkdtemp(join(tmpdir(), `sc-e2e-${service}-`));
  shape = { rawFiles: { '0001_create_main.sql': RAW_OK }, sideCommand: ['node', '-e', SIDE_OK_JS], databaseUrl };
  await writeProject({});
});

afterAll(async () => {
  await removeServiceFromHosts(state, service).catch(() => undefined);
  await database?.drop().catch(() => undefined);
  if (role) {
    const admin = new pg.Client({ connectionString: state.postgres.admin_url });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS ${role}`).finally(() => admin.end());
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('secret canaries', () => {
  it('a full cycle of commands runs on the testbed', { timeout: 900_000 }, async () => {
    await cli(['config', '--env', ENV], 0);
    await cli(['config', '--env', ENV, '--json', '--verbose'], 0);
    await cli(['migrate', 'validate'], 0);
    await cli(['deploy', '--env', ENV, '--version', 'k1', '--dry-run', '--verbose'], 0, 'deploy --dry-run --verbose');
    await cli(['migrate', 'plan', '--env', ENV, '--verbose'], 0);

    // A successful deploy, watched: the lock file while held and the migration container.
    const watch = watchDeploy();
    await cli(['deploy', '--env', ENV, '--version', 'k1', '--verbose'], 0, 'deploy k1 --verbose');
    const watched = await watch.stop();
    expect(watched.lockSeen, 'the lock file was read while the deploy held it').toBeGreaterThan(0);
    expect(watched.migrationContainers, 'the post-deploy migration container was inspected while it ran').toBe(1);
    expect(await asRole('SELECT version FROM canary_side')).toEqual([{ version: 'k1' }]);

    // The env file on each host of the environment holds the env secrets and is private.
    for (const host of [primary, web]) {
      expect((statSync(envFileOf(host)).mode & 0o777).toString(8), `${host.name} env file mode`).toBe('600');
      const mode = await execa('ssh', [...sshArgv(host), 'stat', '-c', '%a', `.stagecraft/env/${service}-${ENV}.env`], { reject: false, stdin: 'ignore' });
      expect(String(mode.stdout).trim(), `${host.name} env file mode over ssh`).toBe('600');
    }
    expect(existsSync(envFileOf(other)), 'no env file on a host outside the environment').toBe(false);

    // The lock, held by hand: status while held, the file itself, released.
    await cli(['lock', 'acquire', '--env', ENV, '-m', 'canary check'], 0);
    await cli(['lock', 'status', '--env', ENV], 0);
    await cli(['lock', 'status', '--env', ENV, '--json'], 0);
    addSource('lock file', 'lock file while held by `lock acquire`', await readFile(join(hostHome(primary), '.stagecraft', 'locks', `${service}-${ENV}.json`), 'utf8'));
    await cli(['deploy', '--env', ENV, '--version', 'klocked'], 2, 'deploy while the lock is held');
    await cli(['lock', 'release', '--env', ENV], 0);

    // A second successful deploy with --json, with a hook that prints secrets.
    await mkdir(join(dir, '.stagecraft', 'hooks'), { recursive: true });
    await writeFile(join(dir, '.stagecraft', 'hooks', 'pre-deploy'), PRINTING_HOOK, { mode: 0o755 });
    const hooked = await cli(['deploy', '--env', ENV, '--version', 'k2', '--json'], 0, 'deploy k2 --json (a hook prints secrets)');
    await rm(join(dir, '.stagecraft', 'hooks', 'pre-deploy'));
    expect(hooked.stderr).toContain('pre-deploy hook: backing up [REDACTED]');
    expect(hooked.stderr).toContain('pre-deploy hook: token [REDACTED] (written in two pieces)');

    // The database URL on error paths without a deploy: unreachable, wrong role.
    await writeProject({ databaseUrl: databaseUrl.replace(`:${state.postgres.port}/`, ':5999/') });
    await cli(['migrate', 'run', '--env', ENV, '--database', 'main', '--yes', '--verbose'], 4, 'migrate run (unreachable database) --verbose');
    await cli(['migrate', 'plan', '--env', ENV, '--json'], 4, 'migrate plan --json (unreachable database)');
    await writeProject({ databaseUrl: databaseUrl.replace(`//${role}:`, `//${role}_nobody:`) });
    await cli(['migrate', 'plan', '--env', ENV, '--verbose'], 4, 'migrate plan --verbose (authentication fails)');
    await writeProject({ databaseUrl });

    // A deploy whose new version never gets healthy on one host: exit 5, every host back on k2.
    await writeProject({ unhealthyOn: web.address, healthTimeout: '4s' });
    await cli(['deploy', '--env', ENV, '--version', 'k3'], 5, 'deploy k3 (unhealthy) in a terminal', { tty: true });
    await writeProject({ unhealthyOn: undefined, healthTimeout: undefined });

    // A post-deploy migration that prints its secrets and fails: exit 4 (redacted output expected).
    await writeProject({ sideCommand: ['node', '-e', SIDE_FAIL_JS] });
    const printed = await cli(['deploy', '--env', ENV, '--version', 'k4', '--verbose'], 4, 'deploy k4 (post-deploy migration prints secrets, fails) --verbose');
    expect(printed.stdout + printed.stderr).toContain('could not connect to [REDACTED]');
    expect(printed.stdout + printed.stderr).toContain('tokens: [REDACTED] / [REDACTED]');
    await writeProject({ sideCommand: ['node', '-e', SIDE_OK_JS] });

    // A pre-deploy raw migration that fails: exit 4.
    await writeProject({ rawFiles: { '0001_create_main.sql': RAW_OK, '0002_boom.sql': RAW_BOOM } });
    await cli(['deploy', '--env', ENV, '--version', 'k5'], 4, 'deploy k5 (raw migration fails)');
    await cli(['migrate', 'plan', '--env', ENV], 0, 'migrate plan (a failed migration)');
    await writeProject({ rawFiles: { '0001_create_main.sql': RAW_OK } });

    // Back to k2, then read everything the store holds.
    await cli(['rollback', '--env', ENV, '--to', 'previous', '--verbose'], 0, 'rollback --to previous --verbose');
    await cli(['migrate', 'plan', '--env', ENV, '--json'], 0, 'migrate plan --json');
    await cli(['releases', 'list'], 0);
    const list = await cli(['releases', 'list', '--env', ENV, '--json'], 0);
    const ids = (JSON.parse(list.stdout) as { id: string }[]).map((release) => release.id);
    expect(ids.length).toBeGreaterThanOrEqual(6);
    for (const id of ids) {
      await cli(['releases', 'show', id], 0, `releases show ${id}`);
      await cli(['releases', 'show', id, '--json'], 0, `releases show ${id} --json`);
    }
    await cli(['releases', 'show', 'rel-00000000-000000000', '--verbose'], 1, 'releases show (unknown id) --verbose');
    await cli(['lock', 'status', '--env', ENV, '--json'], 0);
    cycleCompleted = true;
  });

  it('no secret, nor any 8-character piece of one, is anywhere the cycle left output', { timeout: 300_000 }, async () => {
    await collectAfterCycle();
    const { findings, tally } = search();
    const total = [...tally.values()].reduce((sum, t) => ({ sources: sum.sources + t.sources, lines: sum.lines + t.lines, bytes: sum.bytes + t.bytes }), { sources: 0, lines: 0, bytes: 0 });
    const rows = [...tally.entries()].map(([kind, t]) => `  ${kind}: ${t.sources} sources, ${t.lines} lines, ${t.bytes} bytes`);
    process.stdout.write(
      `[secret-canaries] ${commandCount} commands; searched ${total.sources} sources, ${total.lines} lines, ${total.bytes} bytes for ${secrets.length} secrets (${needlesOf(secrets).size} pieces)\n${rows.join('\n')}\n`,
    );
    const report = findings
      .slice(0, 40)
      .map((f) => `- ${f.where}, line ${f.line}: ${f.secret} (${f.form}): ${f.excerpt}`)
      .join('\n');
    expect(findings.length, `secrets found (masked as •):\n${report}`).toBe(0);

    // Each kind of place was really read (and would have been searched).
    expectSource('command output', 'deploy k1 --verbose', 'is live on');
    expectSource('command output', 'deploy k4', '[REDACTED]');
    expectSource('command output', 'in a terminal` terminal', 'rollout');
    expectSource('project files', '.stagecraft/releases.json', '"version": "k5"');
    expectSource('host files', `${primary.name}:~/.stagecraft/audit.log`, `${service}\t${ENV}\tk2`);
    expectSource('host files', `${web.name}:~/.stagecraft/audit.log (over ssh)`, `${service}\t${ENV}\tk1`);
    expectSource('lock file', 'during a deploy', 'k1');
    expectSource('lock file', '`lock acquire`', 'canary check');
    expectSource('containers', `${service}-migrate-side-k1`, 'side migration recorded k1');
    expectSource('containers', `${service}-proxy on ${web.name}`, '"Path"');
    expectSource('containers', `${service}-web-k2 on ${primary.name}`, '"Args"');
    expectSource('containers', `in ${service}-proxy on ${web.name}`, 'proxy_pass');
    expectSource('images', 'docker history', 'node');
    expectSource('database', 'stagecraft_migrations', '0001_create_main');
    expectSource('daemon logs', `dockerd log of ${primary.name}`, '');
    expectSource('process argv', 'argv', 'docker');
    expect(cycleCompleted, 'the cycle ran to its end (else not everything was searched)').toBe(true);
  });
});
