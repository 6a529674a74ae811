import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isReleaseId, newReleaseId } from '../../../src/releases/id.js';

const at = new Date('2026-11-22T09:30:12.345Z');

describe('newReleaseId', () => {
  it.each([
    { name: 'no existing ids', existing: [], expected: 'rel-20261122-093012345' },
    { name: 'ids from other milliseconds', existing: ['rel-20261122-093012344', 'rel-20251122-093012345'], expected: 'rel-20261122-093012345' },
    { name: 'same millisecond once', existing: ['rel-20261122-093012345'], expected: 'rel-20261122-093012345-002' },
    {
      name: 'same millisecond, suffixes taken',
      existing: ['rel-20261122-093012345', 'rel-20261122-093012345-002', 'rel-20261122-093012345-003'],
      expected: 'rel-20261122-093012345-004',
    },
    { name: 'suffix 9 → 10 stays padded', existing: ['rel-20261122-093012345-009'], expected: 'rel-20261122-093012345-010' },
    { name: 'clock stepped back behind the newest id', existing: ['rel-20261122-093013000'], expected: 'rel-20261122-093013000-002' },
    { name: 'malformed ids are ignored', existing: ['rel-x', 'hello', 'rel-20261122-093012345-2'], expected: 'rel-20261122-093012345' },
  ])('$name', ({ existing, expected }) => {
    expect(newReleaseId(at, existing)).toBe(expected);
  });

  it.each(['UTC', 'Pacific/Kiritimati', 'America/Adak'])('formats in UTC whatever the local zone (TZ=%s)', (zone) => {
    // A process of its own: the zone is read once per process.
    const script = `import { newReleaseId } from './src/releases/id.ts';
      const at = new Date('2026-01-02T03:04:05.006Z');
      console.log(JSON.stringify({ id: newReleaseId(at, []), localDay: at.getDate(), localHour: at.getHours() }));`;
    const output = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../../../', import.meta.url)),
      env: { ...process.env, TZ: zone },
      encoding: 'utf8',
    });
    const { id, localDay, localHour } = JSON.parse(output) as { id: string; localDay: number; localHour: number };
    expect(id).toBe('rel-20260102-030405006');
    // The zone really applied (so local-time getters would have given another id).
    expect([localDay, localHour]).toEqual({ UTC: [2, 3], 'Pacific/Kiritimati': [2, 17], 'America/Adak': [1, 17] }[zone]);
  });

  it('string order of ids equals the order they were generated in, even within one millisecond', () => {
    const ids: string[] = [];
    const times = [at, at, at, new Date(at.getTime() + 1), at, new Date(at.getTime() + 1000)];
    for (let i = 0; i < 12; i++) ids.push(newReleaseId(times[i % times.length] as Date, ids));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(ids.every(isReleaseId)).toBe(true);
  });

  it('refuses a thousandth id in one millisecond rather than mis-sorting', () => {
    expect(() => newReleaseId(at, ['rel-20261122-093012345-999'])).toThrow(/one millisecond/);
  });

  it('rejects an invalid date', () => {
    expect(() => newReleaseId(new Date('nope'), [])).toThrow(/invalid date/);
  });
});
