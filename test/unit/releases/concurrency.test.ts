import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { isReleaseId } from '../../../src/releases/id.js';
import { parseReleasesFile } from '../../../src/releases/schema.js';
import { acquireFileLock } from '../../../src/releases/lock.js';
import { ReleaseStore } from '../../../src/releases/store.js';
import { runWorker } from './fixtures/processes.js';
import { waitFor } from '../../helpers/wait.js';

let dir: string;
let file: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'stagecraft-concurrent-'));
  file = path.join(dir, '.stagecraft', 'releases.json');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true, maxRetries: 5 });
});

it('two processes appending 100 releases each: 200 valid records, unique ids, file valid at every read', { timeout: 120_000 }, async () => {
  const perWorker = 100;
  const workers = [runWorker(['append', file, String(perWorker), 'a']), runWorker(['append', file, String(perWorker), 'b'])];
  await Promise.all(workers.map((w) => w.ready));
  for (const worker of workers) worker.start();
  let running = true;
  const finished = Promise.all(workers.map((w) => w.done)).finally(() => {
    running = false;
  });

  let readsOfExistingFile = 0;
  let largestCountSeen = 0;
  while (running) {
    let text: string | undefined;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (text !== undefined) {
      readsOfExistingFile++;
      expect(() => JSON.parse(text)).not.toThrow();
      const releases = parseReleasesFile(text, file);
      expect(releases.length).toBeGreaterThanOrEqual(largestCountSeen); // append-only
      largestCountSeen = releases.length;
    }
    await nextTurn();
  }

  for (const result of await finished) {
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  }
  expect(readsOfExistingFile).toBeGreaterThan(0);

  const releases = await new ReleaseStore(file).list();
  expect(releases).toHaveLength(2 * perWorker);
  const ids = releases.map((r) => r.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids.every(isReleaseId)).toBe(true);

  // Each worker appended in order, so id order (oldest first) must be its append order.
  const oldestFirst = releases.slice().reverse();
  for (const label of ['a', 'b']) {
    const versions = oldestFirst.filter((r) => r.actor === label).map((r) => r.version);
    expect(versions).toEqual(Array.from({ length: perWorker }, (_, i) => `${label}-${i}`));
  }

  // The file's own order (append order) agrees with id order too.
  const fileOrder = parseReleasesFile(await readFile(file, 'utf8'), file).map((r) => r.id);
  expect(fileOrder).toEqual(ids.slice().reverse());
});

it('an append in another process waits while the lock is held, then lands', { timeout: 60_000 }, async () => {
  const lockPath = `${file}.lock`;
  await mkdir(path.dirname(file), { recursive: true });
  const held = await acquireFileLock(lockPath);
  const worker = runWorker(['append', file, '1', 'waiter']);
  try {
    await worker.ready;
    worker.start();
    // The waiter's candidate lock file appears when it starts trying; its mtime is refreshed on
    // every attempt, so two changes mean it tried and was refused at least twice.
    const candidate = await waitFor('the waiter to try the lock', async () => {
      const names = await readdir(path.dirname(file));
      if (names.includes('releases.json')) throw new Error('the waiter wrote the store while the lock was held');
      const name = names.find((n) => n.startsWith('releases.json.lock.') && n.endsWith('.tmp') && !n.includes(held.holder.token));
      return name === undefined ? undefined : path.join(path.dirname(file), name);
    });
    const mtimes = new Set<number>();
    await waitFor('two refused attempts', async () => {
      const info = await stat(candidate).catch(() => undefined);
      if (info === undefined) throw new Error('the waiter stopped trying before the lock was released');
      mtimes.add(info.mtimeMs);
      return mtimes.size >= 3 ? true : undefined;
    });
    await expect(readFile(file, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  } finally {
    await held.release();
  }
  const result = await worker.done;
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect((await new ReleaseStore(file).list()).map((r) => r.version)).toEqual(['waiter-0']);
});
