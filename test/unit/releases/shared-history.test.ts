import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Release } from '../../../src/releases/record.js';
import { historyLine, mergeHistories, newerRecord, parseHistory } from '../../../src/releases/shared-history.js';
import { appendHistoryArgv, readHistoryArgv } from '../../../src/releases/host-history.js';
import { ReleaseStore } from '../../../src/releases/store.js';
import { makeRelease } from './fixtures/make-release.js';

function release(id: string, overrides: Partial<Release> = {}): Release {
  return { ...makeRelease(overrides), id } as Release;
}

const A = release('rel-20261201-100000000', { version: 'a' });
const B = release('rel-20261201-110000000', { version: 'b' });
const C = release('rel-20261201-120000000', { version: 'c' });

describe('the shared history file', () => {
  it('is a JSON record per line; the newest line of an id wins, in first-seen order', () => {
    const running = release(B.id, { version: 'b', status: 'running', finished_at: undefined });
    const text = historyLine(A) + historyLine(running) + historyLine(B);
    expect(historyLine(A).split('\n')).toHaveLength(2);
    expect(parseHistory(text)).toEqual({ releases: [A, B], skipped: [] });
  });

  it('skips a torn line or a record of another shape, saying which line, and keeps the rest', () => {
    const text = `${historyLine(A)}{"id": "rel-2026\n${JSON.stringify({ ...B, surprise: true })}\n\n${historyLine(C)}`;
    const parsed = parseHistory(text);
    expect(parsed.releases).toEqual([A, C]);
    expect(parsed.skipped).toEqual([
      { line: 2, reason: 'not JSON' },
      { line: 3, reason: expect.stringContaining('surprise') },
    ]);
  });

  it('an empty or missing file is no history', () => {
    expect(parseHistory('')).toEqual({ releases: [], skipped: [] });
  });

  it('reaches the host as fixed scripts with the service as an argument, never as code', () => {
    expect(readHistoryArgv('web')).toEqual(['sh', '-c', 'f="$HOME/.stagecraft/releases/$1.jsonl"; if [ -f "$f" ]; then cat "$f"; fi', 'sh', 'web']);
    expect(appendHistoryArgv('web')).toEqual(['sh', '-c', 'mkdir -p "$HOME/.stagecraft/releases" && cat >> "$HOME/.stagecraft/releases/$1.jsonl"', 'sh', 'web']);
  });
});

describe('merging the host history into the local one', () => {
  it('adds what only the host has, in id order, and drops nothing local', () => {
    expect(mergeHistories([A, C], [B])).toEqual({ releases: [A, B, C], added: [B.id], updated: [] });
    expect(mergeHistories([A, C], [])).toEqual({ releases: [A, C], added: [], updated: [] });
  });

  it('rebuilds a lost local file from the host', () => {
    expect(mergeHistories([], [A, B])).toEqual({ releases: [A, B], added: [A.id, B.id], updated: [] });
  });

  it('a finished record beats a running one of the same release, either way round', () => {
    const running = release(B.id, { status: 'running', finished_at: undefined });
    expect(newerRecord(running, B)).toBe(B);
    expect(newerRecord(B, running)).toBe(B);
    expect(mergeHistories([A, running], [B])).toEqual({ releases: [A, B], added: [], updated: [B.id] });
    expect(mergeHistories([A, B], [running])).toEqual({ releases: [A, B], added: [], updated: [] });
  });

  it('of two finished records the later-finished wins; a tie keeps the local one', () => {
    const early = release(B.id, { status: 'failed', finished_at: '2026-12-01T11:00:05.000Z' });
    const late = release(B.id, { status: 'completed', finished_at: '2026-12-01T11:00:09.000Z' });
    expect(newerRecord(early, late)).toBe(late);
    expect(newerRecord(late, early)).toBe(late);
    const twin = structuredClone(late);
    expect(newerRecord(late, twin)).toBe(late);
  });
});

describe('ReleaseStore.merge', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sc-shared-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the merged records, and does not touch the file when nothing is new', async () => {
    const store = new ReleaseStore(path.join(dir, 'releases.json'));
    const mine = await store.append(makeRelease({ version: 'mine' }));
    const theirs = release('rel-20200101-000000000', { version: 'theirs' });
    expect(await store.merge([theirs, mine])).toMatchObject({ added: [theirs.id], updated: [] });
    expect((await store.list()).map((r) => r.version)).toEqual(['mine', 'theirs']);
    const text = await readFile(store.file, 'utf8');
    expect(await store.merge([theirs])).toMatchObject({ added: [], updated: [] });
    expect(await readFile(store.file, 'utf8')).toBe(text);
  });

  it('creates the local file from the host history when there is none', async () => {
    const store = new ReleaseStore(path.join(dir, '.stagecraft', 'releases.json'));
    await store.merge([A, B]);
    expect((await store.list()).map((r) => r.id)).toEqual([B.id, A.id]);
  });
});
