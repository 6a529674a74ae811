import { describe, expect, it } from 'vitest';
import { isDuration, parseDuration } from '../../../src/config/index.js';
import { UserError } from '../../../src/errors.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['0s', 0],
    ['90s', 90_000],
    ['10m', 600_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1h30m', 5_400_000],
    ['2h0m5s250ms', 7_205_250],
    ['1.5s', 1_500],
    ['0.25h', 900_000],
  ])('%s = %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
    expect(isDuration(text)).toBe(true);
  });

  it.each(['', '5', '5 s', ' 5s', '5sec', '1d', '-1s', '30s1m', '1m1m', 's', '1.s', 'ms', '1e3ms', '5S'])('rejects %j', (text) => {
    expect(isDuration(text)).toBe(false);
    expect(() => parseDuration(text)).toThrow(UserError);
    expect(() => parseDuration(text)).toThrow(`invalid duration "${text}": expected a duration like 500ms, 90s, 10m, 1h or 1m30s`);
  });
});
