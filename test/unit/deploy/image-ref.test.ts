import { describe, expect, it } from 'vitest';
import { digestOf, pinnedRef, splitImageRef } from '../../../src/plan/image-ref.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('image references', () => {
  it.each([
    ['busybox', 'busybox', 'latest'],
    ['10.201.0.1:5000/acme/hello:abc1234-dirty', '10.201.0.1:5000/acme/hello', 'abc1234-dirty'],
    ['10.201.0.1:5000/acme/hello', '10.201.0.1:5000/acme/hello', 'latest'],
    [`10.201.0.1:5000/acme/hello@${DIGEST}`, '10.201.0.1:5000/acme/hello', DIGEST],
  ])('splits %s', (ref, repository, tag) => {
    expect(splitImageRef(ref)).toEqual({ repository, tag });
  });

  it('pins a tagged or already pinned reference to a digest', () => {
    expect(pinnedRef('reg:5000/app:v1', DIGEST)).toBe(`reg:5000/app@${DIGEST}`);
    expect(pinnedRef(`reg:5000/app@sha256:${'cd'.repeat(32)}`, DIGEST)).toBe(`reg:5000/app@${DIGEST}`);
  });

  it('reads the digest of a pinned reference only', () => {
    expect(digestOf(`reg:5000/app@${DIGEST}`)).toBe(DIGEST);
    expect(digestOf('reg:5000/app:v1')).toBeUndefined();
    expect(digestOf('reg:5000/app@sha256:short')).toBeUndefined();
  });
});
