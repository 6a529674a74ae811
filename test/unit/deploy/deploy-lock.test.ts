import { describe, expect, it } from 'vitest';
import { describeAge, describeHolder, parseLockFile } from '../../../src/lock/deploy-lock.js';

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

describe('deploy lock file validation', () => {
  const valid = { service: 'hello', environment: 'prod', actor: 'alice@laptop', acquired_at: '2026-11-22T09:55:00.000Z', command: 'deploy', version: 'v1' };
  const bytes = (text: string) => Buffer.from(text, 'utf8');

  it('accepts what acquire writes, and ignores keys a newer stagecraft may add', () => {
    expect(parseLockFile(bytes(`${JSON.stringify(valid)}\n`))).toEqual({ holder: valid });
    expect(parseLockFile(bytes(JSON.stringify({ ...valid, pid: 42 })))).toEqual({ holder: valid });
  });

  it.each<[string, Buffer, string]>([
    ['an empty file', Buffer.alloc(0), 'the file is empty'],
    ['white space', bytes(' \n\t\n'), 'the file holds only white space'],
    ['null', bytes('null'), 'it holds null, not a lock record'],
    ['0', bytes('0\n'), 'it holds the number 0, not a lock record'],
    ['false', bytes('false'), 'it holds the boolean false, not a lock record'],
    ['[]', bytes('[]'), 'it holds an empty array, not a lock record'],
    ['[1]', bytes('[1]'), 'it holds an array, not a lock record'],
    ['a string', bytes('"locked"'), 'it holds the string "locked", not a lock record'],
    ['{}', bytes('{}'), 'not a lock record: service is missing, environment is missing, actor is missing, acquired_at is missing'],
    ['a bad timestamp', bytes(JSON.stringify({ ...valid, acquired_at: 'yesterday' })), 'not a lock record: acquired_at is invalid'],
    ['an empty actor', bytes(JSON.stringify({ ...valid, actor: '' })), 'not a lock record: actor is invalid'],
    ['a numeric message', bytes(JSON.stringify({ ...valid, message: 7 })), 'not a lock record: message is invalid'],
    ['binary garbage', Buffer.from([0xff, 0xfe, 0x00, 0x9c, 0x13]), 'it is not text (5 bytes of binary data)'],
    ['control characters', Buffer.from([0x7b, 0x00, 0x01, 0x7d]), 'it is not text (4 bytes with control characters)'],
  ])('%s is corrupt', (_name, content, reason) => {
    const result = parseLockFile(content);
    expect(result).toHaveProperty('corrupt');
    expect((result as { corrupt: string }).corrupt.startsWith(reason), (result as { corrupt: string }).corrupt).toBe(true);
  });

  it('truncated JSON is corrupt, naming the parser error', () => {
    const truncated = JSON.stringify(valid).slice(0, 30);
    const result = parseLockFile(bytes(truncated)) as { corrupt: string };
    expect(result.corrupt).toMatch(/^it is not valid JSON \(.+\)$/);
  });

  it('no corrupt content describes a holder with undefined or NaN', () => {
    for (const text of ['null', '0', 'false', '{}', '[]', '{"actor":"x"}', '{"acquired_at":"nope","actor":"x","service":"s","environment":"e"}']) {
      const result = parseLockFile(bytes(text));
      expect(result, text).not.toHaveProperty('holder');
      expect(JSON.stringify(result), text).not.toMatch(/undefined|NaN/);
    }
  });
});
