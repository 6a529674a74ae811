import { linkSync, mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestbedError } from './exec.js';
import { isRunning, readPidFile } from './processes.js';

const WAIT_LIMIT_MS = 15 * 60_000;

/**
 * Serialises `up`/`down` across processes (several test runs may call setup at once).
 * The lock file holds the owner's pid; a lock left by a dead process is taken over.
 */
export async function withTestbedLock<T>(lockFile: string, onWait: (ownerPid: number) => void, action: () => Promise<T>): Promise<T> {
  mkdirSync(dirname(lockFile), { recursive: true });
  const deadline = Date.now() + WAIT_LIMIT_MS;
  let announcedOwner: number | undefined;
  for (;;) {
    if (tryCreate(lockFile)) break;
    const owner = readPidFile(lockFile);
    if (owner === undefined || !isRunning(owner)) {
      removeIfOwnedBy(lockFile, owner);
      continue;
    }
    if (owner === process.pid) throw new TestbedError('testbed lock is already held by this process (nested up/down)');
    if (announcedOwner !== owner) {
      onWait(owner);
      announcedOwner = owner;
    }
    if (Date.now() > deadline) throw new TestbedError(`another testbed command (pid ${owner}) still holds ${lockFile}`);
    await sleep(200);
  }
  try {
    return await action();
  } finally {
    removeIfOwnedBy(lockFile, process.pid);
  }
}

/** Writes the pid to a private file first and links it into place, so the lock is never seen empty. */
function tryCreate(lockFile: string): boolean {
  const candidate = `${lockFile}.${process.pid}`;
  writeFileSync(candidate, `${process.pid}\n`);
  try {
    linkSync(candidate, lockFile);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(candidate);
  }
}

function removeIfOwnedBy(lockFile: string, pid: number | undefined): void {
  if (readPidFile(lockFile) !== pid) return;
  try {
    unlinkSync(lockFile);
  } catch {
    // Someone else removed it first.
  }
}
