import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExitCode, StagecraftError } from '../../../src/errors.js';
import { acquireFileLock, breakStaleLock, readLock } from '../../../src/releases/lock.js';
import { ReleaseStore } from '../../../src/releases/store.js';
import { makeRelease } from './fixtures/make-release.js';
import { deadPid } from './fixtures/processes.js';

let dir: string;
let lockPath: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'stagecraft-lock-'));
  lockPath = path.join(dir, 'releases.json.lock');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeLock(content: object | string, ageMs = 0): Promise<string> {
  const text = typeof content === 'string' ? content : `${JSON.stringify(content)}\n`;
  await writeFile(lockPath, text);
  if (ageMs > 0) {
    const then = new Date(Date.now() - ageMs);
    await utimes(lockPath, then, then);
  }
  return text;
}

function holder(pid: number, host = hostname()) {
  return { pid, hostname: host, acquired_at: '2026-11-22T09:00:00.000Z', token: 'f00d' };
}

async function refusal(promise: Promise<unknown>): Promise<StagecraftError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StagecraftError);
  expect((error as StagecraftError).exitCode).toBe(ExitCode.refused);
  return error as StagecraftError;
}

describe('stale locks are taken over', () => {
  it.each([
    { name: 'dead pid on this host', content: () => holder(deadPid()), ageMs: 0 },
    { name: 'older than the bound, other host', content: () => holder(4242, 'elsewhere.example'), ageMs: 120_000 },
    { name: 'older than the bound, live pid on this host', content: () => holder(process.pid), ageMs: 120_000 },
    { name: 'unreadable and older than the bound', content: () => 'garbage', ageMs: 120_000 },
  ])('$name (without waiting: timeout 0)', async ({ content, ageMs }) => {
    await writeLock(content(), ageMs);
    const lock = await acquireFileLock(lockPath, { timeoutMs: 0, staleAfterMs: 60_000 });
    expect((await readLock(lockPath))?.holder).toEqual(lock.holder);
    expect(lock.holder.pid).toBe(process.pid);
    await lock.release();
    expect(await readdir(dir)).toEqual([]);
  });

  it('a store append goes through a lock left by a dead process', async () => {
    await writeLock(holder(deadPid()));
    const store = new ReleaseStore(path.join(dir, 'releases.json'), { lock: { timeoutMs: 0 } });
    await store.append(makeRelease());
    expect(await store.list()).toHaveLength(1);
    expect(await readdir(dir)).toEqual(['releases.json']);
  });

  it('a late breaker holding an outdated observation does not delete the lock that replaced it', async () => {
    await writeLock(holder(deadPid()));
    const outdated = await readLock(lockPath);
    expect(outdated).toBeDefined();
    // Meanwhile another process broke it and took the lock.
    expect(await breakStaleLock(lockPath, outdated!)).toBe(true);
    const fresh = await acquireFileLock(lockPath, { timeoutMs: 0 });
    const freshBytes = await readFile(lockPath, 'utf8');

    expect(await breakStaleLock(lockPath, outdated!)).toBe(true);
    expect(await readFile(lockPath, 'utf8')).toBe(freshBytes);
    await fresh.assertHeld();
    await fresh.release();
    expect(await readdir(dir)).toEqual([]);
  });

  it('while another process is breaking a lock, a second breaker backs off', async () => {
    const text = await writeLock(holder(deadPid()));
    const observed = await readLock(lockPath);
    await writeFile(`${lockPath}.${observed!.identity}.break`, '');
    expect(await breakStaleLock(lockPath, observed!)).toBe(false);
    expect(await readFile(lockPath, 'utf8')).toBe(text);
  });

  it('several waiters noticing the same stale lock never hold it at the same time', async () => {
    await writeLock(holder(deadPid()));
    let inside = 0;
    let maxInside = 0;
    const acquisitions: string[] = [];
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        const lock = await acquireFileLock(lockPath, { timeoutMs: 10_000 });
        inside++;
        maxInside = Math.max(maxInside, inside);
        acquisitions.push(lock.holder.token);
        for (let i = 0; i < 5; i++) await nextTurn();
        await lock.assertHeld();
        inside--;
        await lock.release();
      }),
    );
    expect(maxInside).toBe(1);
    expect(new Set(acquisitions).size).toBe(6);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('live locks are respected', () => {
  it.each([
    { name: 'live pid on this host', content: () => holder(process.pid), expected: `pid ${process.pid} on host "${hostname()}"` },
    { name: 'fresh lock from another host', content: () => holder(4242, 'elsewhere.example'), expected: 'pid 4242 on host "elsewhere.example"' },
    { name: 'fresh unreadable lock', content: () => 'half-writ', expected: 'an unreadable lock file' },
  ])('$name: gives up with exit 2 naming the holder, lock untouched', async ({ content, expected }) => {
    const text = await writeLock(content());
    const error = await refusal(acquireFileLock(lockPath, { timeoutMs: 50, displayPath: '.stagecraft/releases.json.lock' }));
    expect(error.message).toContain(`.stagecraft/releases.json.lock is held by ${expected}`);
    expect(error.hint).toMatch(/delete \.stagecraft\/releases\.json\.lock/);
    expect(await readFile(lockPath, 'utf8')).toBe(text);
    expect(await readdir(dir)).toEqual(['releases.json.lock']);
  });

  it('a store append refuses with exit 2 and leaves the store unchanged', async () => {
    const file = path.join(dir, 'releases.json');
    const store = new ReleaseStore(file, { lock: { timeoutMs: 50 } });
    await store.append(makeRelease({ version: 'before' }));
    const before = await readFile(file);
    await writeLock(holder(process.pid));
    const error = await refusal(store.append(makeRelease({ version: 'after' })));
    expect(error.message).toMatch(/releases\.json\.lock is held by pid \d+/);
    expect(await readFile(file)).toEqual(before);
    // Reads need no lock.
    expect((await store.list()).map((r) => r.version)).toEqual(['before']);
  });

  it('a holder whose lock was taken over notices before writing, and does not delete the new lock', async () => {
    const lock = await acquireFileLock(lockPath);
    const usurper = await writeLock(holder(process.pid, 'usurper.example'));
    const error = await refusal(lock.assertHeld());
    expect(error.message).toMatch(/lost .* to another process/);
    await lock.release();
    expect(await readFile(lockPath, 'utf8')).toBe(usurper);
  });

  it('a store whose lock is taken over mid-write keeps the old file', async () => {
    const file = path.join(dir, 'releases.json');
    await new ReleaseStore(file).append(makeRelease({ version: 'before' }));
    const before = await readFile(file);
    const store = new ReleaseStore(file, {
      beforeRename: async () => {
        await writeLock(holder(process.pid, 'usurper.example'));
      },
    });
    await refusal(store.append(makeRelease({ version: 'after' })));
    expect(await readFile(file)).toEqual(before);
    expect((await readdir(dir)).sort()).toEqual(['releases.json', 'releases.json.lock']);
  });
});
