import { describe, expect, it } from 'vitest';
import { describeAge, describeHolder } from '../../../src/lock/deploy-lock.js';

describe('deploy lock descriptions', () => {
  const now = Date.parse('2026-11-22T10:00:00Z');

  it.each([
    ['2026-11-22T09:59:30Z', '30s'],
    ['2026-11-22T09:58:00Z', '2m'],
    ['2026-11-22T07:00:00Z', '3h'],
    ['2026-11-22T10:00:05Z', '0s'],
  ])('age since %s is %s', (since, expected) => {
    expect(describeAge(since, now)).toBe(expected);
  });

  it('names holder, age, command, version and message', () => {
    const text = describeHolder(
      { service: 'hello', environment: 'prod', actor: 'alice@laptop', acquired_at: '2026-11-22T09:55:00Z', command: 'deploy', version: 'abc1234', message: 'db maintenance' },
      now,
    );
    expect(text).toBe('held by alice@laptop for 5m (since 2026-11-22T09:55:00Z), during deploy of abc1234, message: "db maintenance"');
  });
});
