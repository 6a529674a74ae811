/**
 * The release store: `.stagecraft/releases.json`, read whole and rewritten whole.
 *
 * Every write is read-modify-write under a lock file (other processes) and an in-process
 * queue (other calls in this process), and lands atomically (temp file + fsync + rename).
 * A file that fails to parse or validate is never written over: every operation refuses.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { displayPath } from '../config/paths.js';
import { ExitCode, StagecraftError, UserError } from '../errors.js';
import { refuseSymlink } from '../local-files.js';
import { removeLeftoverTempFiles, writeFileAtomic } from './atomic-write.js';
import { isReleaseId, newReleaseId } from './id.js';
import { acquireFileLock, type FileLockOptions } from './lock.js';
import type { NewRelease, Release } from './record.js';
import { invalidRecordReason, parseReleasesFile, serializeReleasesFile } from './schema.js';
import { mergeHistories } from './shared-history.js';
import type { MergedHistory } from './shared-history.js';
import { quoteValue } from '../user-text.js';

export interface ReleaseStoreOptions {
  /** Lock wait and staleness bounds (defaults: 10 s wait, 60 s stale). */
  lock?: Pick<FileLockOptions, 'timeoutMs' | 'staleAfterMs'>;
  /** How messages name the file; defaults to the path relative to the working directory. */
  displayPath?: string;
  /** Clock for new ids (tests). */
  now?: () => Date;
  /** Fault injection for tests: runs after the temp file is synced, before the rename. */
  beforeRename?: () => void | Promise<void>;
}

export interface ReleaseFilter {
  environment?: string;
}

/** Serialises this process's writers per file so they queue instead of polling the lock. */
const inProcessQueues = new Map<string, Promise<unknown>>();

export class ReleaseStore {
  readonly file: string;
  readonly displayPath: string;
  private readonly options: ReleaseStoreOptions;
  private heldLock: Awaited<ReturnType<typeof acquireFileLock>> | undefined;

  constructor(file: string, options: ReleaseStoreOptions = {}) {
    this.file = path.resolve(file);
    this.displayPath = options.displayPath ?? displayPath(this.file, process.cwd());
    this.options = options;
  }

  /** Releases, newest first (ids sort chronologically). */
  async list(filter: ReleaseFilter = {}): Promise<Release[]> {
    const releases = await this.readAll();
    return newestFirst(releases.filter((release) => filter.environment === undefined || release.environment === filter.environment));
  }

  async get(id: string): Promise<Release | undefined> {
    return (await this.readAll()).find((release) => release.id === id);
  }

  /** The environment's current release: its newest `completed` one. */
  async current(environment: string): Promise<Release | undefined> {
    const releases = await this.list({ environment });
    const [currentId] = currentReleaseIds(releases);
    return releases.find((release) => release.id === currentId);
  }

  /** Adds a record, assigning a new id unless `release.id` is given; returns the stored record. */
  async append(release: NewRelease): Promise<Release> {
    return this.mutate((releases) => {
      const existing = releases.map((r) => r.id);
      if (release.id !== undefined && (!isReleaseId(release.id) || existing.includes(release.id))) {
        throw internalError(`cannot append release with id "${release.id}": ${isReleaseId(release.id) ? 'already recorded' : 'malformed id'}`);
      }
      const id = release.id ?? newReleaseId(this.options.now?.() ?? new Date(), existing);
      const record: Release = { ...structuredClone(release), id };
      // Put `id` first so the file reads naturally.
      const ordered: Release = { id, ...withoutId(record) };
      return { releases: [...releases, ordered], result: ordered };
    });
  }

  /** Read-modify-write of one record under the lock; returns the stored record. */
  async update(id: string, mutate: (release: Release) => void): Promise<Release> {
    return this.mutate((releases) => {
      const index = releases.findIndex((release) => release.id === id);
      const original = releases[index];
      if (original === undefined) throw unknownReleaseError(id, releases);
      const changed = structuredClone(original);
      mutate(changed);
      if (changed.id !== id) throw internalError(`release ${id}: update must not change its id`);
      const next = releases.slice();
      next[index] = changed;
      return { releases: next, result: changed };
    });
  }

  /**
   * Merges records from the shared history (the primary host's) into this file: append-only by
   * id, a local record replaced only by a newer one of the same release (see shared-history.ts).
   * Writes only when something changed.
   */
  async merge(remote: readonly Release[]): Promise<MergedHistory> {
    return this.queued(() =>
      this.underLock(async () => {
        const merged = mergeHistories(await this.readAll(), remote);
        if (merged.added.length > 0 || merged.updated.length > 0) await this.writeAll(merged.releases);
        return merged;
      }),
    ).catch((error: unknown) => {
      throw userFacingWriteError(error, this.displayPath);
    });
  }

  private async readAll(): Promise<Release[]> {
    await this.refuseLinks(false);
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new UserError(`cannot read ${this.displayPath}: ${(error as Error).message}`, { cause: error });
    }
    return parseReleasesFile(text, this.displayPath);
  }

  private async mutate(change: (releases: Release[]) => { releases: Release[]; result: Release }): Promise<Release> {
    return this.queued(() => this.lockedReadModifyWrite(change)).catch((error: unknown) => {
      throw userFacingWriteError(error, this.displayPath);
    });
  }

  /**
   * Refuses (exit 1) when the file, its lock or the `.stagecraft` folder holding it is a
   * symbolic link: a cloned repository can plant one pointing outside the project, and the store
   * never reads or writes through it. Temp and break files are created with O_EXCL, which never
   * follows a link, and the rename replaces the file itself, so they need no check.
   */
  private async refuseLinks(writing: boolean): Promise<void> {
    const dir = path.dirname(this.file);
    if (path.basename(dir) === '.stagecraft') {
      await refuseSymlink(dir, path.dirname(this.displayPath));
    }
    await refuseSymlink(this.file, this.displayPath);
    if (writing) await refuseSymlink(`${this.file}.lock`, `${this.displayPath}.lock`);
  }

  private async lockedReadModifyWrite(change: (releases: Release[]) => { releases: Release[]; result: Release }): Promise<Release> {
    return this.underLock(async () => {
      const { releases, result } = change(await this.readAll());
      // Records already in the file were validated on read; check the one we add or change.
      const reason = invalidRecordReason(result);
      if (reason !== undefined) throw internalError(`refusing to record release ${result.id}: ${reason}`);
      await this.writeAll(releases);
      return structuredClone(result);
    });
  }

  private async underLock<T>(work: () => Promise<T>): Promise<T> {
    await this.refuseLinks(true);
    await mkdir(path.dirname(this.file), { recursive: true });
    const lock = await acquireFileLock(`${this.file}.lock`, {
      ...this.options.lock,
      displayPath: `${this.displayPath}.lock`,
    });
    this.heldLock = lock;
    try {
      return await work();
    } finally {
      this.heldLock = undefined;
      await lock.release();
    }
  }

  private async writeAll(releases: readonly Release[]): Promise<void> {
    const lock = this.heldLock;
    if (!lock) throw internalError('writing the release store without its lock');
    await removeLeftoverTempFiles(this.file);
    await writeFileAtomic(this.file, serializeReleasesFile(releases), {
      beforeRename: async () => {
        await this.options.beforeRename?.();
        await lock.assertHeld();
      },
    });
  }

  private async queued<T>(task: () => Promise<T>): Promise<T> {
    const previous = inProcessQueues.get(this.file) ?? Promise.resolve();
    const run = previous.then(task, task);
    const tail = run.catch(() => undefined);
    inProcessQueues.set(this.file, tail);
    try {
      return await run;
    } finally {
      if (inProcessQueues.get(this.file) === tail) inProcessQueues.delete(this.file);
    }
  }
}

/** `unknown release "rel-x" (known: newest few ids…)`, exit 1. */
export function unknownReleaseError(id: string, releases: readonly Release[]): UserError {
  const newest = newestFirst(releases).map((release) => release.id);
  if (newest.length === 0) return new UserError(`unknown release ${quoteValue(id)} (no releases recorded yet)`);
  const shown = newest.slice(0, 5).join(', ');
  return new UserError(`unknown release ${quoteValue(id)} (known: ${shown}${newest.length > 5 ? ', …' : ''})`, {
    hint: 'stagecraft releases list shows them all',
  });
}

/** Ids of each environment's current release (its newest `completed` one). */
export function currentReleaseIds(releases: readonly Release[]): Set<string> {
  const byEnvironment = new Map<string, Release>();
  for (const release of releases) {
    if (release.status !== 'completed') continue;
    const best = byEnvironment.get(release.environment);
    if (best === undefined || release.id > best.id) byEnvironment.set(release.environment, release);
  }
  return new Set([...byEnvironment.values()].map((release) => release.id));
}

function newestFirst(releases: readonly Release[]): Release[] {
  return releases.slice().sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

function withoutId(release: Release): Omit<Release, 'id'> {
  const { id: _id, ...rest } = release;
  return rest;
}

/** Permission, read-only or full-disk failures are the user's to fix, not a stagecraft bug. */
function userFacingWriteError(error: unknown, displayPath: string): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (error instanceof StagecraftError || code === undefined) return error;
  if (['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EDQUOT', 'ENOTDIR', 'EEXIST', 'EISDIR', 'ELOOP'].includes(code)) {
    return new UserError(`cannot write ${displayPath}: ${(error as Error).message}`, { cause: error });
  }
  return error;
}

function internalError(message: string): StagecraftError {
  return new StagecraftError(message, ExitCode.internal);
}
