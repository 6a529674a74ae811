import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { isReleaseId } from '../../../src/releases/id.js';
import { parseReleasesFile } from '../../../src/releases/schema.js';
import { ReleaseStore } from '../../../src/releases/store.js';
import { runWorker } from './fixtures/processes.js';

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
  // The workers really ran at the same time: their records interleave.
  const switches = oldestFirst.filter((r, i) => i > 0 && r.actor !== oldestFirst[i - 1]?.actor).length;
  expect(switches).toBeGreaterThan(1);

  // The file's own order (append order) agrees with id order too.
  const fileOrder = parseReleasesFile(await readFile(file, 'utf8'), file).map((r) => r.id);
  expect(fileOrder).toEqual(ids.slice().reverse());
});
