import { createReadStream, existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { execa } from 'execa';
import type { DerivedImage, RootfsCacheMeta } from './debian-recipes.js';
import {
  DEBIAN_LOCAL_REF,
  DEBIAN_RECIPE_VERSION,
  DEBIAN_REGISTRY_REF,
  DEBIAN_SUITE,
  DERIVED_IMAGES,
  INPUTS_LABEL,
  cacheIsUsable,
  chooseMirror,
  debianImportChanges,
  debianInputs,
  derivedDockerfile,
  derivedInputs,
} from './debian-recipes.js';
import { TestbedError, binary, dockerEnv, lastLines, run } from './exec.js';
import { localImage, registryDigest } from './images.js';
import type { TestbedLayout } from './layout.js';
import { OPERATOR_DOCKER_SOCKET, REGISTRY_USER } from './layout.js';
import { formatMs } from './report.js';
import { REGISTRY_SERVER } from './registry.js';

const OPERATOR_DOCKER_HOST = `unix://${OPERATOR_DOCKER_SOCKET}`;
const DEBOOTSTRAP_TIMEOUT_MS = 20 * 60_000;
const BUILD_TIMEOUT_MS = 15 * 60_000;

export interface DebianPaths {
  cacheDir: string;
  tarball: string;
  meta: string;
  logsDir: string;
  debootstrapLog: string;
  buildLog(key: string): string;
}

export function debianPaths(layout: TestbedLayout): DebianPaths {
  const cacheDir = join(layout.dir, 'cache');
  const logsDir = join(layout.dir, 'logs');
  const base = `debian-${DEBIAN_SUITE}-minbase`;
  return {
    cacheDir,
    tarball: join(cacheDir, `${base}.tar`),
    meta: join(cacheDir, `${base}.json`),
    logsDir,
    debootstrapLog: join(logsDir, 'debian-debootstrap.log'),
    buildLog: (key) => join(logsDir, `image-${key.replaceAll('_', '-')}.log`),
  };
}

/** The cache's metadata when the tarball next to it is complete, else undefined. */
export function readRootfsCache(paths: DebianPaths): RootfsCacheMeta | undefined {
  if (!existsSync(paths.tarball) || !existsSync(paths.meta)) return undefined;
  let meta: unknown;
  try {
    meta = JSON.parse(readFileSync(paths.meta, 'utf8'));
  } catch {
    return undefined;
  }
  return cacheIsUsable(meta, statSync(paths.tarball).size) ? meta : undefined;
}

/** The mirror apt on this machine already uses (read at run time; its host never goes into the repository). */
export function aptMirror(): string {
  const files: Array<{ path: string; text: string }> = [];
  const candidates = ['/etc/apt/sources.list'];
  const listDir = '/etc/apt/sources.list.d';
  if (existsSync(listDir)) {
    for (const name of readdirSync(listDir)) {
      if (name.endsWith('.sources') || name.endsWith('.list')) candidates.push(join(listDir, name));
    }
  }
  for (const path of candidates) {
    if (existsSync(path)) files.push({ path, text: readFileSync(path, 'utf8') });
  }
  const mirror = chooseMirror(files);
  if (!mirror) throw new TestbedError('no Debian mirror found in /etc/apt/sources.list or /etc/apt/sources.list.d/*.sources', 'debootstrap needs the mirror apt uses');
  return mirror.uri;
}

function appendLog(logFile: string, line: string): void {
  const fd = openSync(logFile, 'a');
  try {
    writeSync(fd, `\n==== ${new Date().toISOString()} ${line}\n`);
  } finally {
    closeSync(fd);
  }
}

/** Runs a command with stdout and stderr appended to a log file (not the terminal). */
async function runLogged(command: string, args: readonly string[], logFile: string, options: { env?: NodeJS.ProcessEnv; timeout?: number; cwd?: string } = {}): Promise<number> {
  appendLog(logFile, `${command} ${args.join(' ')}`);
  const result = await execa(command, [...args], {
    stdin: 'ignore',
    stdout: { file: logFile, append: true },
    stderr: { file: logFile, append: true },
    reject: false,
    env: options.env,
    extendEnv: options.env === undefined,
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
  });
  if (result.failed && result.exitCode === undefined) {
    appendLog(logFile, result.shortMessage ?? `${command} did not start`);
    return -1;
  }
  return result.exitCode ?? 1;
}

function logTail(logFile: string): string {
  try {
    return lastLines(readFileSync(logFile, 'utf8'), 8);
  } catch {
    return '';
  }
}

/** debootstrap mounts proc/sys (and more) inside the target; a failed run can leave them behind. */
async function unmountUnder(root: string): Promise<void> {
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1]?.replace(/\\040/g, ' '))
    .filter((point): point is string => point !== undefined && (point === root || point.startsWith(`${root}/`)))
    .sort((a, b) => b.length - a.length);
  for (const point of mounts) await run('umount', ['-l', point], { allowFailure: true });
}

async function removeRoot(root: string): Promise<void> {
  await unmountUnder(root);
  rmSync(root, { recursive: true, force: true });
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * `debootstrap --variant=minbase` into a temp dir, then tar it into the cache under a temp name
 * and rename it into place, metadata last: an interrupted run never leaves a tarball `up` trusts.
 * The download is tried twice.
 */
export async function buildRootfsTarball(paths: DebianPaths, log: (line: string) => void = () => undefined, mirror: string = aptMirror()): Promise<RootfsCacheMeta> {
  mkdirSync(paths.cacheDir, { recursive: true });
  mkdirSync(paths.logsDir, { recursive: true });
  const debootstrap = binary('debootstrap');
  let root: string | undefined;
  let seconds = 0;
  for (let attempt = 1; ; attempt += 1) {
    root = mkdtempSync(join(paths.cacheDir, 'debootstrap-'));
    const started = performance.now();
    const exitCode = await runLogged(debootstrap, ['--variant=minbase', DEBIAN_SUITE, root, mirror], paths.debootstrapLog, {
      timeout: DEBOOTSTRAP_TIMEOUT_MS,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' },
    });
    seconds = (performance.now() - started) / 1000;
    if (exitCode === 0) break;
    await removeRoot(root);
    if (attempt >= 2) {
      throw new TestbedError(`debootstrap ${DEBIAN_SUITE} failed (exit ${exitCode}, twice); log: ${paths.debootstrapLog}\n${logTail(paths.debootstrapLog)}`);
    }
    log(`debootstrap failed (exit ${exitCode}) after ${formatMs(seconds * 1000)}, retrying once; log: ${paths.debootstrapLog}`);
  }
  const temporary = `${paths.tarball}.${process.pid}.partial`;
  try {
    await unmountUnder(root);
    // The image gets apt lists fresh from `apt-get update`; devices come from the engine.
    for (const dir of ['var/lib/apt/lists', 'var/cache/apt']) {
      const full = join(root, dir);
      if (!existsSync(full)) continue;
      for (const entry of readdirSync(full)) if (entry !== 'partial' && entry !== 'archives') rmSync(join(full, entry), { recursive: true, force: true });
    }
    const tar = await run('tar', ['-C', root, '--numeric-owner', '--exclude=./dev/*', '--exclude=./proc/*', '--exclude=./sys/*', '-cf', temporary, '.'], { allowFailure: true });
    if (tar.exitCode !== 0) throw new TestbedError(`tar of the ${DEBIAN_SUITE} root filesystem failed:\n${lastLines(tar.stderr, 8)}`);
    const meta: RootfsCacheMeta = {
      recipe: DEBIAN_RECIPE_VERSION,
      suite: DEBIAN_SUITE,
      variant: 'minbase',
      created_at: new Date().toISOString(),
      bytes: statSync(temporary).size,
      sha256: await sha256File(temporary),
      debootstrap_seconds: Math.round(seconds),
    };
    rmSync(paths.meta, { force: true });
    renameSync(temporary, paths.tarball);
    const metaTemporary = `${paths.meta}.${process.pid}.tmp`;
    writeFileSync(metaTemporary, `${JSON.stringify(meta, null, 2)}\n`);
    renameSync(metaTemporary, paths.meta);
    return meta;
  } finally {
    rmSync(temporary, { force: true });
    await removeRoot(root);
  }
}

/** What an interrupted run (killed `up`) left in the cache dir; runs under the testbed lock, so nothing else uses them. */
async function removeLeftovers(paths: DebianPaths): Promise<void> {
  if (!existsSync(paths.cacheDir)) return;
  for (const name of readdirSync(paths.cacheDir)) {
    const full = join(paths.cacheDir, name);
    if (name.startsWith('debootstrap-')) await removeRoot(full);
    else if (name.startsWith('context-') || name.endsWith('.partial') || name.endsWith('.tmp')) rmSync(full, { recursive: true, force: true });
  }
}

class Pusher {
  private loggedIn = false;
  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly password: string,
  ) {}

  /** Pushes unless the registry already serves this exact image. */
  async pushIfNeeded(ref: string): Promise<boolean> {
    const image = await localImage(ref);
    if (!image) throw new TestbedError(`${ref} missing on the operator engine`);
    const served = await registryDigest(ref, this.password);
    const repository = ref.slice(0, ref.lastIndexOf(':'));
    if (served !== undefined && (image.RepoDigests ?? []).includes(`${repository}@${served}`)) return false;
    if (!this.loggedIn) {
      await run('docker', ['login', REGISTRY_SERVER, '--username', REGISTRY_USER, '--password-stdin'], { env: this.env, input: this.password });
      this.loggedIn = true;
    }
    const result = await run('docker', ['push', ref], { env: this.env, allowFailure: true });
    if (result.exitCode !== 0) throw new TestbedError(`pushing ${ref} failed:\n${lastLines(result.stderr || result.stdout, 10)}`);
    return true;
  }
}

async function tag(env: NodeJS.ProcessEnv, source: string, target: string): Promise<void> {
  const [from, to] = await Promise.all([localImage(source), localImage(target)]);
  if (from && to?.Id === from.Id) return;
  await run('docker', ['tag', source, target], { env });
}

export interface DebianOutcome {
  /** 'unchanged': the image with this tarball's label was there; 'cached': imported from the cached tarball; 'debootstrap': made from scratch. */
  source: 'unchanged' | 'cached' | 'debootstrap';
  debootstrapMs: number;
  importMs: number;
  pushed: boolean;
  rootfs: RootfsCacheMeta;
  refs: { debian: string };
}

/**
 * Real `debian:bookworm-slim` on the operator engine (local tag) and in the registry: an image
 * whose label names the cached tarball → nothing; tarball cached → import only; else debootstrap.
 */
export async function ensureDebianBase(layout: TestbedLayout, registryPassword: string, log: (line: string) => void = () => undefined): Promise<DebianOutcome> {
  const paths = debianPaths(layout);
  mkdirSync(paths.logsDir, { recursive: true });
  const dockerConfig = mkdtempSync(join(paths.logsDir, '.docker-config-'));
  const env = dockerEnv(OPERATOR_DOCKER_HOST, dockerConfig);
  try {
    await removeLeftovers(paths);
    let rootfs = readRootfsCache(paths);
    let source: DebianOutcome['source'] = 'unchanged';
    let debootstrapMs = 0;
    let importMs = 0;
    if (!rootfs) {
      const started = performance.now();
      rootfs = await buildRootfsTarball(paths, log);
      debootstrapMs = performance.now() - started;
      source = 'debootstrap';
    }
    const wanted = debianInputs(rootfs.sha256);
    const [local, registryTagged] = await Promise.all([localImage(DEBIAN_LOCAL_REF), localImage(DEBIAN_REGISTRY_REF)]);
    const current = [local, registryTagged].find((image) => image?.Config?.Labels?.[INPUTS_LABEL] === wanted);
    if (!current) {
      if (source === 'unchanged') source = 'cached';
      const started = performance.now();
      const args = ['import', ...debianImportChanges(rootfs.sha256).flatMap((change) => ['--change', change]), paths.tarball, DEBIAN_LOCAL_REF];
      const result = await run('docker', args, { env, allowFailure: true });
      if (result.exitCode !== 0) throw new TestbedError(`docker import of ${paths.tarball} failed:\n${lastLines(result.stderr || result.stdout, 8)}`);
      importMs = performance.now() - started;
      await tag(env, DEBIAN_LOCAL_REF, DEBIAN_REGISTRY_REF);
    } else {
      const currentRef = current === local ? DEBIAN_LOCAL_REF : DEBIAN_REGISTRY_REF;
      await tag(env, currentRef, DEBIAN_LOCAL_REF);
      await tag(env, currentRef, DEBIAN_REGISTRY_REF);
    }
    const pushed = await new Pusher(env, registryPassword).pushIfNeeded(DEBIAN_REGISTRY_REF);
    return { source, debootstrapMs, importMs, pushed, rootfs, refs: { debian: DEBIAN_REGISTRY_REF } };
  } finally {
    rmSync(dockerConfig, { recursive: true, force: true });
  }
}

export interface DerivedOutcome {
  key: DerivedImage['key'];
  ref: string;
  built: boolean;
  pushed: boolean;
  ms: number;
}

async function buildDerived(image: DerivedImage, rootfsSha256: string, paths: DebianPaths, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<boolean> {
  const inputs = derivedInputs(image, rootfsSha256);
  const existing = await localImage(image.ref);
  if (existing?.Config?.Labels?.[INPUTS_LABEL] === inputs) return false;
  const logFile = paths.buildLog(image.key);
  const context = mkdtempSync(join(paths.cacheDir, `context-${image.key}-`));
  try {
    writeFileSync(join(context, 'Dockerfile'), derivedDockerfile(image));
    for (let attempt = 1; ; attempt += 1) {
      const exitCode = await runLogged('docker', ['build', '--label', `${INPUTS_LABEL}=${inputs}`, '--tag', image.ref, context], logFile, { env, timeout: BUILD_TIMEOUT_MS });
      if (exitCode === 0) break;
      if (attempt >= 2) throw new TestbedError(`building ${image.ref} failed (exit ${exitCode}, twice); log: ${logFile}\n${logTail(logFile)}`);
      log(`building ${image.ref} failed (exit ${exitCode}), retrying once; log: ${logFile}`);
    }
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
  for (const command of image.check) {
    const result = await run('docker', ['run', '--rm', image.ref, ...command], { env, allowFailure: true });
    if (result.exitCode !== 0) throw new TestbedError(`${image.ref}: \`${command.join(' ')}\` exited with ${result.exitCode}:\n${lastLines(result.stderr || result.stdout, 8)}`);
  }
  return true;
}

/** The images the tests need, built FROM debian:bookworm-slim (apt output goes to `.testbed/logs/`), pushed. */
export async function ensureDerivedImages(layout: TestbedLayout, rootfsSha256: string, registryPassword: string, log: (line: string) => void = () => undefined): Promise<DerivedOutcome[]> {
  const paths = debianPaths(layout);
  mkdirSync(paths.logsDir, { recursive: true });
  mkdirSync(paths.cacheDir, { recursive: true });
  const dockerConfig = mkdtempSync(join(paths.logsDir, '.docker-config-'));
  const env = dockerEnv(OPERATOR_DOCKER_HOST, dockerConfig);
  const pusher = new Pusher(env, registryPassword);
  try {
    const outcomes = await Promise.allSettled(
      DERIVED_IMAGES.map(async (image): Promise<DerivedOutcome> => {
        const started = performance.now();
        const built = await buildDerived(image, rootfsSha256, paths, env, log);
        return { key: image.key, ref: image.ref, built, pushed: false, ms: performance.now() - started };
      }),
    );
    const failure = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (failure) throw failure.reason;
    const results = outcomes.map((outcome) => (outcome as PromiseFulfilledResult<DerivedOutcome>).value);
    for (const result of results) result.pushed = await pusher.pushIfNeeded(result.ref);
    return results;
  } finally {
    rmSync(dockerConfig, { recursive: true, force: true });
  }
}

export function describeDebian(outcome: DebianOutcome): string {
  const size = `${Math.round(outcome.rootfs.bytes / 1e6)} MB rootfs`;
  const pushed = outcome.pushed ? ', pushed' : '';
  if (outcome.source === 'debootstrap') return `from scratch: debootstrap + tar ${formatMs(outcome.debootstrapMs)} + import ${formatMs(outcome.importMs)}, ${size}${pushed}`;
  if (outcome.source === 'cached') return `from the cached tarball: import ${formatMs(outcome.importMs)}, ${size}${pushed}`;
  return `unchanged, ${size} cached ${outcome.rootfs.created_at.slice(0, 10)}${pushed}`;
}

export function describeDerived(outcomes: readonly DerivedOutcome[]): string {
  return outcomes.map((outcome) => `${outcome.ref.split('/').pop()}: ${outcome.built ? `built ${formatMs(outcome.ms)}` : 'unchanged'}${outcome.pushed ? ', pushed' : ''}`).join('; ');
}
