import { describe, expect, it } from 'vitest';
import { engineMessage, splitImageRef } from '../../../src/remote/docker-ops.js';

describe('splitImageRef', () => {
  it('splits tags, registry ports and digests', () => {
    expect(splitImageRef('busybox')).toEqual({ repository: 'busybox', tag: 'latest' });
    expect(splitImageRef('busybox:1.36')).toEqual({ repository: 'busybox', tag: '1.36' });
    expect(splitImageRef('10.201.0.1:5000/testbed/busybox')).toEqual({ repository: '10.201.0.1:5000/testbed/busybox', tag: 'latest' });
    expect(splitImageRef('10.201.0.1:5000/testbed/busybox:abc123-dirty')).toEqual({
      repository: '10.201.0.1:5000/testbed/busybox',
      tag: 'abc123-dirty',
    });
    expect(splitImageRef('reg:5000/app@sha256:0123abcd')).toEqual({ repository: 'reg:5000/app', tag: 'sha256:0123abcd' });
  });
});

describe('engineMessage', () => {
  it("prefers the engine's own message over docker-modem's wrapper", () => {
    const error = Object.assign(new Error('(HTTP code 404) no such container - No such container: x '), {
      statusCode: 404,
      json: { message: 'No such container: x' },
    });
    expect(engineMessage(error)).toBe('No such container: x');
    expect(engineMessage(Object.assign(new Error('wrapped'), { json: Buffer.from('plain text body\n') }))).toBe('plain text body');
    expect(engineMessage(new Error('socket hang up'))).toBe('socket hang up');
  });
});
