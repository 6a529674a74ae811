import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExitCode, StagecraftError } from '../../../src/errors.js';
import { pendingPhases, type Release } from '../../../src/releases/record.js';
import { ReleaseStore } from '../../../src/releases/store.js';
import { makeRelease } from './fixtures/make-release.js';

let dir: string;
let file: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'stagecraft-releases-'));
  file = path.join(dir, '.stagecraft', 'releases.json');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A store whose clock returns the given instants in turn. */
function storeWithClock(...instants: string[]): ReleaseStore {
  let i = 0;
  return new ReleaseStore(file, { now: () => new Date(instants[Math.min(i++, instants.length - 1)] as string) });
}

async function rejection(promise: Promise<unknown>): Promise<StagecraftError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StagecraftError);
  return error as StagecraftError;
}

describe('missing file', () => {
  it('reads as an empty store and creates nothing', async () => {
    const store = new ReleaseStore(file);
    expect(await store.list()).toEqual([]);
    expect(await store.get('rel-20261122-093012345')).toBeUndefined();
    expect(await store.current('staging')).toBeUndefined();
    await expect(readdir(dir)).resolves.toEqual([]);
  });

  it('the first append creates the folder and a version-1 file', async () => {
    const stored = await storeWithClock('2026-11-22T09:30:12.345Z').append(makeRelease());
    expect(stored.id).toBe('rel-20261122-093012345');
    const onDisk = JSON.parse(await readFile(file, 'utf8')) as { version: number; releases: Release[] };
    expect(onDisk.version).toBe(1);
    expect(onDisk.releases).toEqual([stored]);
    expect(Object.keys(onDisk.releases[0] as object)[0]).toBe('id');
    // No lock, temp or break files are left behind.
    expect(await readdir(path.dirname(file))).toEqual(['releases.json']);
  });

  it('update of an unknown id fails with exit 1 and creates no file', async () => {
    const error = await rejection(new ReleaseStore(file).update('rel-20261122-093012345', () => undefined));
    expect(error.exitCode).toBe(ExitCode.user);
    expect(error.message).toBe('unknown release "rel-20261122-093012345" (no releases recorded yet)');
    await expect(readFile(file)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('an unusable folder', () => {
  it('reading and writing fail with exit 1 and a plain message', async () => {
    await writeFile(path.join(dir, '.stagecraft'), 'a file where the folder should be');
    const store = new ReleaseStore(file);
    const read = await rejection(store.list());
    expect(read.exitCode).toBe(ExitCode.user);
    expect(read.message).toMatch(/^cannot read \S*releases\.json: ENOTDIR/);
    const write = await rejection(store.append(makeRelease()));
    expect(write.exitCode).toBe(ExitCode.user);
    expect(write.message).toMatch(/^cannot write \S*releases\.json: EEXIST/);
  });
});

describe('list, get and current', () => {
  const seed = [
    { at: '2026-11-20T10:00:00.000Z', environment: 'staging', status: 'completed', version: 's1' },
    { at: '2026-11-20T11:00:00.000Z', environment: 'prod', status: 'completed', version: 'p1' },
    { at: '2026-11-20T11:00:00.000Z', environment: 'prod', status: 'completed', version: 'p2' },
    { at: '2026-11-21T09:00:00.000Z', environment: 'staging', status: 'completed', version: 's2' },
    { at: '2026-11-21T10:00:00.000Z', environment: 'prod', status: 'failed', version: 'p3' },
    { at: '2026-11-22T08:00:00.000Z', environment: 'staging', status: 'running', version: 's3' },
  ] as const;
  let store: ReleaseStore;

  beforeEach(async () => {
    store = storeWithClock(...seed.map((s) => s.at));
    for (const s of seed) {
      await store.append(makeRelease({ environment: s.environment, status: s.status, version: s.version, started_at: s.at }));
    }
  });

  it('lists newest first, suffixing ids that share a millisecond', async () => {
    expect((await store.list()).map((r) => [r.id, r.version])).toEqual([
      ['rel-20261122-080000000', 's3'],
      ['rel-20261121-100000000', 'p3'],
      ['rel-20261121-090000000', 's2'],
      ['rel-20261120-110000000-002', 'p2'],
      ['rel-20261120-110000000', 'p1'],
      ['rel-20261120-100000000', 's1'],
    ]);
  });

  it.each([
    { environment: 'prod', versions: ['p3', 'p2', 'p1'] },
    { environment: 'staging', versions: ['s3', 's2', 's1'] },
    { environment: 'qa', versions: [] },
  ])('filters by environment $environment', async ({ environment, versions }) => {
    expect((await store.list({ environment })).map((r) => r.version)).toEqual(versions);
  });

  it.each([
    { environment: 'prod', version: 'p2' }, // p3 failed
    { environment: 'staging', version: 's2' }, // s3 still running
    { environment: 'qa', version: undefined },
  ])('current($environment) is the newest completed release', async ({ environment, version }) => {
    expect((await store.current(environment))?.version).toBe(version);
  });

  it('get finds by exact id', async () => {
    expect((await store.get('rel-20261120-110000000-002'))?.version).toBe('p2');
    expect(await store.get('rel-20261120-110000000-00')).toBeUndefined();
  });

  it('holds no cache: a record another process appended shows up, and reading never writes', async () => {
    const before = await readFile(file, 'utf8');
    const [newest] = await store.list();
    (newest as Release).version = 'tampered';
    expect(await readFile(file, 'utf8')).toBe(before);
    await new ReleaseStore(file).append(makeRelease({ version: 'from-elsewhere' }));
    expect((await store.list())[0]?.version).toBe('from-elsewhere');
    expect((await store.get((await store.list())[1]!.id))?.version).toBe('s3');
  });
});

describe('append', () => {
  it('keeps a caller-given id and refuses a duplicate or malformed one', async () => {
    const store = new ReleaseStore(file);
    const stored = await store.append({ ...makeRelease(), id: 'rel-20200101-000000000' });
    expect(stored.id).toBe('rel-20200101-000000000');
    for (const id of ['rel-20200101-000000000', 'release-1']) {
      const error = await rejection(store.append({ ...makeRelease(), id }));
      expect(error.exitCode).toBe(ExitCode.internal);
    }
    expect(await store.list()).toHaveLength(1);
  });

  it('refuses to write a record of the wrong shape and leaves the file as it was', async () => {
    const store = new ReleaseStore(file);
    await store.append(makeRelease());
    const before = await readFile(file);
    const bad = { ...makeRelease(), status: 'done' } as unknown as Release;
    const error = await rejection(store.append(bad));
    expect(error.exitCode).toBe(ExitCode.internal);
    expect(error.message).toMatch(/status/);
    expect(await readFile(file)).toEqual(before);
  });
});

describe('update', () => {
  it('read-modify-writes one record and leaves the others alone', async () => {
    const store = storeWithClock('2026-11-22T09:00:00.000Z', '2026-11-22T09:05:00.000Z');
    const first = await store.append(makeRelease({ version: 'one' }));
    const second = await store.append(makeRelease({ version: 'two', status: 'running', phases: pendingPhases() }));

    const updated = await store.update(second.id, (release) => {
      release.status = 'failed';
      release.finished_at = '2026-11-22T09:06:00.000Z';
      release.phases.rollout = { status: 'failed', duration_ms: 1200, error: 'health check timed out' };
      release.hosts.push({ address: '10.0.0.1', status: 'failed', error: 'health check timed out' });
    });

    expect(updated.status).toBe('failed');
    expect(await store.get(second.id)).toEqual(updated);
    expect(await store.get(first.id)).toEqual(first);
    expect((await store.list()).map((r) => r.id)).toEqual([second.id, first.id]);
  });

  it('refuses a mutation that breaks the schema or changes the id, writing nothing', async () => {
    const store = new ReleaseStore(file);
    const stored = await store.append(makeRelease());
    const before = await readFile(file);

    const badStatus = await rejection(
      store.update(stored.id, (release) => {
        (release as { status: string }).status = 'exploded';
      }),
    );
    expect(badStatus.exitCode).toBe(ExitCode.internal);
    const newId = await rejection(
      store.update(stored.id, (release) => {
        release.id = 'rel-20000101-000000000';
      }),
    );
    expect(newId.message).toMatch(/must not change its id/);
    expect(await readFile(file)).toEqual(before);
  });

  it('an unknown id names the newest known ids', async () => {
    const store = storeWithClock(...Array.from({ length: 7 }, (_, i) => `2026-11-22T09:00:0${i}.000Z`));
    for (let i = 0; i < 7; i++) await store.append(makeRelease());
    const error = await rejection(store.update('rel-x', () => undefined));
    expect(error.exitCode).toBe(ExitCode.user);
    expect(error.message).toBe(
      'unknown release "rel-x" (known: rel-20261122-090006000, rel-20261122-090005000, rel-20261122-090004000, rel-20261122-090003000, rel-20261122-090002000, …)',
    );
  });
});

describe('a corrupt file is never overwritten', () => {
  const valid = () => ({ version: 1, releases: [{ ...makeRelease(), id: 'rel-20261122-093012345' }] });

  const cases: Array<{ name: string; content: () => string; message: RegExp }> = [
    {
      name: 'bad JSON',
      content: () => '{\n  "version": 1,\n  "releases": [\n    {"id": "rel-1",}\n  ]\n}\n',
      message: /^\S*releases\.json: not valid JSON at line 4 column 20 — fix or move it aside; stagecraft will not overwrite it$/,
    },
    {
      name: 'truncated JSON',
      content: () => JSON.stringify(valid(), null, 2).slice(0, 50),
      message: /releases\.json: not valid JSON at line \d+ column \d+ — fix or move it aside/,
    },
    { name: 'empty file', content: () => '', message: /releases\.json: file is empty — fix or move it aside/ },
    {
      name: 'wrong top-level shape',
      content: () => JSON.stringify([valid().releases[0]]),
      message: /releases\.json: \(top level\): .* — fix or move it aside/,
    },
    {
      name: 'missing version',
      content: () => JSON.stringify({ releases: [] }),
      message: /releases\.json: version: /,
    },
    {
      name: 'newer format version',
      content: () => JSON.stringify({ version: 2, releases: [] }),
      message: /format version 2 is newer than this stagecraft reads \(1\)/,
    },
    {
      name: 'a wrong field deep inside a record',
      content: () => {
        const data = valid();
        (data.releases[0] as { phases: Record<string, unknown> }).phases['rollout'] = { status: 'done' };
        return JSON.stringify(data, null, 2);
      },
      message: /releases\.json: releases\[0\] \(rel-20261122-093012345\)\.phases\.rollout\.status: Invalid option/,
    },
    {
      name: 'an unknown key (would be lost on rewrite)',
      content: () => {
        const data = valid();
        (data.releases[0] as Record<string, unknown>)['colour'] = 'blue';
        return JSON.stringify(data);
      },
      message: /releases\[0\] \(rel-20261122-093012345\): Unrecognized key: "colour"/,
    },
  ];

  it.each(cases)('$name: list, get, current, append and update all fail with exit 1; bytes unchanged', async ({ content, message }) => {
    await mkdir(path.dirname(file), { recursive: true });
    const bytes = content();
    await writeFile(file, bytes);
    const store = new ReleaseStore(file);

    const attempts: Array<() => Promise<unknown>> = [
      () => store.list(),
      () => store.get('rel-20261122-093012345'),
      () => store.current('staging'),
      () => store.append(makeRelease()),
      () =>
        store.update('rel-20261122-093012345', (release) => {
          release.version = 'changed';
        }),
    ];
    for (const attempt of attempts) {
      const error = await rejection(attempt());
      expect(error.exitCode).toBe(ExitCode.user);
      expect(error.message).toMatch(message);
    }
    expect(await readFile(file, 'utf8')).toBe(bytes);
    expect(await readdir(path.dirname(file))).toEqual(['releases.json']);
  });
});
