/**
 * A lock file that serialises writers across processes (and hosts sharing a folder).
 *
 * Acquire: write our holder record (pid, hostname, time, random token) to a private temp
 * file, then hard-link it to the lock path. `link` fails with EEXIST when the lock exists,
 * like O_EXCL, and unlike open+write a reader never sees a half-written lock file.
 *
 * Stale locks (holder's pid gone on this host, or older than `staleAfterMs`) are broken
 * safely even when several waiters notice at once: breaking a given lock file first needs
 * an exclusive "break" file named after that lock's identity (content hash + inode). Under
 * it the breaker re-reads the lock and deletes it only if it is still that same file. A lock
 * created after the stale one has another identity, so a late breaker can never delete it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, open, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { RefusedError } from '../errors.js';
import { writeNewFileDurably } from './atomic-write.js';

export interface LockHolder {
  pid: number;
  hostname: string;
  acquired_at: string;
  token: string;
}

export interface FileLockOptions {
  /** How long to wait for a live holder before giving up (exit 2). Default 10 s. */
  timeoutMs?: number;
  /** A lock older than this is stale whoever holds it. Default 60 s (writes take milliseconds). */
  staleAfterMs?: number;
  /** How messages name the lock file, e.g. relative to the working directory. */
  displayPath?: string;
}

export interface HeldLock {
  readonly holder: LockHolder;
  /** Throws a RefusedError if another process has since taken the lock over as stale. */
  assertHeld(): Promise<void>;
  /** Removes the lock file if it is still ours. */
  release(): Promise<void>;
}

export interface ObservedLock {
  holder: LockHolder | undefined;
  identity: string;
  mtimeMs: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_STALE_AFTER_MS = 60_000;
const MAX_BACKOFF_MS = 250;

export async function acquireFileLock(lockPath: string, options: FileLockOptions = {}): Promise<HeldLock> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  const displayPath = options.displayPath ?? lockPath;
  const deadline = Date.now() + timeoutMs;

  const holder: LockHolder = {
    pid: process.pid,
    hostname: hostname(),
    acquired_at: new Date().toISOString(),
    token: randomBytes(12).toString('hex'),
  };
  const candidate = `${lockPath}.${holder.token}.tmp`;
  await writeNewFileDurably(candidate, `${JSON.stringify(holder)}\n`);

  try {
    let backoffMs = 5;
    for (;;) {
      // The lock's mtime is its age; the candidate may have been written a while ago.
      const now = new Date();
      await utimes(candidate, now, now);
      if (await linkExclusive(candidate, lockPath)) {
        return heldLock(lockPath, holder, displayPath);
      }
      const observed = await readLock(lockPath);
      if (observed === undefined) continue; // released between our attempt and the read
      const staleness = stalenessReason(observed, staleAfterMs);
      if (staleness !== undefined && (await breakStaleLock(lockPath, observed))) continue;

      const remaining = deadline - Date.now();
      if (remaining <= 0) throw lockedError(displayPath, observed, staleness);
      await sleep(Math.min(remaining, backoffMs * (0.5 + Math.random())));
      backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
    }
  } finally {
    await unlink(candidate).catch(() => undefined);
  }
}

/** Reads a lock file as it is now, or undefined if there is none. */
export async function readLock(lockPath: string): Promise<ObservedLock | undefined> {
  let handle;
  try {
    // Never through a link (ELOOP): a planted dangling link would otherwise look like a lock
    // that exists (link() fails) yet cannot be read, and the acquire loop would spin.
    handle = await open(lockPath, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const [stats, raw] = await Promise.all([handle.stat(), handle.readFile('utf8')]);
    const identity = `${createHash('sha256').update(raw).digest('hex').slice(0, 16)}-${stats.ino}`;
    return { holder: parseHolder(raw), identity, mtimeMs: stats.mtimeMs };
  } finally {
    await handle.close();
  }
}

function describeHolder(holder: LockHolder | undefined): string {
  if (holder === undefined) return 'an unreadable lock file';
  return `pid ${holder.pid} on host "${holder.hostname}" (since ${holder.acquired_at})`;
}

function heldLock(lockPath: string, holder: LockHolder, displayPath: string): HeldLock {
  const stillOurs = async () => (await readLock(lockPath))?.holder?.token === holder.token;
  return {
    holder,
    async assertHeld() {
      if (!(await stillOurs())) {
        throw new RefusedError(
          `lost ${displayPath} to another process, which took it over as stale; nothing was written`,
          { hint: 'run the command again' },
        );
      }
    },
    async release() {
      if (await stillOurs()) await unlink(lockPath).catch(ignoreMissing);
    },
  };
}

/** Why this lock is stale, or undefined while its holder may still be working. */
function stalenessReason(observed: ObservedLock, staleAfterMs: number): string | undefined {
  const { holder } = observed;
  if (holder !== undefined && holder.hostname === hostname() && !isProcessAlive(holder.pid)) {
    return `process ${holder.pid} is no longer running`;
  }
  if (Date.now() - observed.mtimeMs > staleAfterMs) {
    return `it is older than ${Math.round(staleAfterMs / 1000)} s`;
  }
  return undefined;
}

/**
 * Deletes `observed` if it is still the lock file. Returns false if another process is
 * breaking it right now (the caller then waits and looks again). Exported for tests.
 */
export async function breakStaleLock(lockPath: string, observed: ObservedLock): Promise<boolean> {
  const breakPath = `${lockPath}.${observed.identity}.break`;
  try {
    await (await open(breakPath, 'wx')).close();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    const current = await readLock(lockPath);
    if (current?.identity === observed.identity) await unlink(lockPath).catch(ignoreMissing);
    return true;
  } finally {
    await unlink(breakPath).catch(ignoreMissing);
  }
}

function lockedError(displayPath: string, observed: ObservedLock, staleness: string | undefined): RefusedError {
  const holder = describeHolder(observed.holder);
  if (staleness !== undefined) {
    return new RefusedError(`${displayPath} is held by ${holder}, which looks stale (${staleness}) but another process is taking it over`, {
      hint: `if this persists, no stagecraft is writing: delete ${displayPath} and its .break files`,
    });
  }
  return new RefusedError(`${displayPath} is held by ${holder}; gave up waiting`, {
    hint: `wait for that stagecraft command to finish; if none is running, delete ${displayPath}`,
  });
}

async function linkExclusive(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

function parseHolder(raw: string): LockHolder | undefined {
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value !== 'object' || value === null) return undefined;
    const { pid, hostname: host, acquired_at, token } = value as Record<string, unknown>;
    if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) return undefined;
    if (typeof host !== 'string' || typeof acquired_at !== 'string' || typeof token !== 'string') return undefined;
    return { pid, hostname: host, acquired_at, token };
  } catch {
    return undefined;
  }
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function ignoreMissing(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
}
