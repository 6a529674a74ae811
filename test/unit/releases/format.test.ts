import { describe, expect, it } from 'vitest';
import { formatDuration, formatReleaseTable, formatTimestamp } from '../../../src/releases/format.js';
import type { Release } from '../../../src/releases/record.js';
import { jsonErrorLocation } from '../../../src/releases/schema.js';
import { makeRelease } from './fixtures/make-release.js';

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [999, '999ms'],
    [1000, '1.0s'],
    [12_345, '12.3s'],
    [59_999, '60.0s'],
    [60_000, '1m00s'],
    [64_000, '1m04s'],
    [3_599_000, '59m59s'],
    [3_600_000, '1h00m'],
    [7_380_000, '2h03m'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('formatTimestamp', () => {
  it.each([
    ['2026-11-22T09:30:12.345Z', '2026-11-22 09:30:12'],
    ['2026-11-22T10:30:12.345+01:00', '2026-11-22 09:30:12'],
    ['garbage\u001b[2J', 'garbage'],
  ])('%s → %s', (iso, text) => {
    expect(formatTimestamp(iso)).toBe(text);
  });
});

describe('formatReleaseTable', () => {
  it('neutralises terminal escapes and newlines coming from record text', () => {
    const release = { ...makeRelease({ version: 'v1\u001b]0;pwned\u0007\nrm -rf' }), id: 'rel-20261122-093012345' } as Release;
    const table = formatReleaseTable([release], new Set());
    const controlCharacters = [...table].filter((c) => c !== '\n' && (c < ' ' || c === '\u007f'));
    expect(controlCharacters).toEqual([]);
    expect(table.split('\n')).toHaveLength(3); // header, one row, final newline
    expect(table).toContain('v1?rm -rf');
  });

  it('omits the legend when no row is current', () => {
    const release = { ...makeRelease({ status: 'failed' }), id: 'rel-20261122-093012345' } as Release;
    expect(formatReleaseTable([release], new Set())).not.toContain('current release');
  });
});

describe('jsonErrorLocation', () => {
  const text = '{\n  "a": 1,\n  "b" 2\n}';
  it.each([
    { name: 'Node 20: at position N', message: 'Unexpected number in JSON at position 18', expected: { line: 3, column: 7 } },
    {
      name: 'Node 22: (line L column C)',
      message: `Expected ':' after property name in JSON at position 18 (line 3 column 7)`,
      expected: { line: 3, column: 7 },
    },
    { name: 'unexpected end', message: 'Unexpected end of JSON input', expected: { line: 4, column: 2 } },
    { name: 'no position', message: 'something else', expected: undefined },
  ])('$name', ({ message, expected }) => {
    expect(jsonErrorLocation(new SyntaxError(message), text)).toEqual(expected);
  });

  it('agrees with the real JSON.parse of this Node', () => {
    let error: unknown;
    try {
      JSON.parse(text);
    } catch (e) {
      error = e;
    }
    expect(jsonErrorLocation(error, text)).toEqual({ line: 3, column: 7 });
  });
});
