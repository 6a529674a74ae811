import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../../src/releases/atomic-write.js';
import { readLock } from '../../../src/releases/lock.js';
import { ReleaseStore } from '../../../src/releases/store.js';
import { makeRelease } from './fixtures/make-release.js';
import { runWorker } from './fixtures/processes.js';

let dir: string;
let file: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'stagecraft-atomic-'));
  file = path.join(dir, '.stagecraft', 'releases.json');
  await mkdir(path.dirname(file));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const folder = () => readdir(path.dirname(file)).then((names) => names.sort());

describe('writeFileAtomic', () => {
  it('the target holds the old bytes until the rename, and the new bytes after', async () => {
    await writeFile(file, 'old');
    let seenBeforeRename: string | undefined;
    await writeFileAtomic(file, 'new', {
      beforeRename: async () => {
        seenBeforeRename = await readFile(file, 'utf8');
      },
    });
    expect(seenBeforeRename).toBe('old');
    expect(await readFile(file, 'utf8')).toBe('new');
    expect(await folder()).toEqual(['releases.json']);
  });

  it('a failure before the rename leaves the old file and removes the temp file', async () => {
    await writeFile(file, 'old');
    await expect(
      writeFileAtomic(file, 'new', {
        beforeRename: () => {
          throw new Error('injected fault');
        },
      }),
    ).rejects.toThrow('injected fault');
    expect(await readFile(file, 'utf8')).toBe('old');
    expect(await folder()).toEqual(['releases.json']);
  });
});

describe('a store write interrupted before the rename', () => {
  it('in-process failure: old file intact, lock released, next append works', async () => {
    await new ReleaseStore(file).append(makeRelease({ version: 'first' }));
    const before = await readFile(file);
    const faulty = new ReleaseStore(file, {
      beforeRename: () => {
        throw new Error('disk on fire');
      },
    });
    await expect(faulty.append(makeRelease({ version: 'lost' }))).rejects.toThrow('disk on fire');
    expect(await readFile(file)).toEqual(before);
    expect(await folder()).toEqual(['releases.json']);

    await new ReleaseStore(file, { lock: { timeoutMs: 0 } }).append(makeRelease({ version: 'second' }));
    expect((await new ReleaseStore(file).list()).map((r) => r.version)).toEqual(['second', 'first']);
  });

  it('process killed between fsync and rename: old file intact; the leftover temp and lock do not block the next write', async () => {
    const store = new ReleaseStore(file, { lock: { timeoutMs: 0 } });
    await store.append(makeRelease({ version: 'first' }));
    const before = await readFile(file);

    const worker = runWorker(['crash-before-rename', file]);
    const result = await worker.done;
    expect(result.signal).toBe('SIGKILL');

    // What the crash left behind: the old file, a complete temp file, the dead writer's lock.
    expect(await readFile(file)).toEqual(before);
    const leftovers = await folder();
    const temps = leftovers.filter((name) => name.startsWith('.releases.json.') && name.endsWith('.tmp'));
    expect(temps).toHaveLength(1);
    expect(await readFile(path.join(path.dirname(file), temps[0] as string), 'utf8')).toContain('never-written');
    expect((await readLock(`${file}.lock`))?.holder?.pid).toBe(worker.pid);
    expect(await store.list()).toHaveLength(1);

    // timeout 0: the dead pid's lock is taken over at once, not waited out.
    await store.append(makeRelease({ version: 'second' }));
    expect((await store.list()).map((r) => r.version)).toEqual(['second', 'first']);
    expect(await folder()).toEqual(['releases.json']);
  });
});
