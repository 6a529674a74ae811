import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { releasesFilePath } from '../../../src/releases/paths.js';

describe('releasesFilePath', () => {
  it.each([
    { name: 'default config', config: undefined, env: {}, expected: path.resolve('.stagecraft/releases.json') },
    { name: '-c in another folder', config: '/srv/app/deploy/stagecraft.yml', env: {}, expected: '/srv/app/deploy/.stagecraft/releases.json' },
    { name: 'relative -c', config: 'sub/dir/custom.yml', env: {}, expected: path.resolve('sub/dir/.stagecraft/releases.json') },
    {
      name: 'STAGECRAFT_RELEASES_FILE wins',
      config: '/srv/app/stagecraft.yml',
      env: { STAGECRAFT_RELEASES_FILE: '/var/lib/releases.json' },
      expected: '/var/lib/releases.json',
    },
    { name: 'blank override is ignored', config: '/srv/app/stagecraft.yml', env: { STAGECRAFT_RELEASES_FILE: ' ' }, expected: '/srv/app/.stagecraft/releases.json' },
  ])('$name', ({ config, env, expected }) => {
    expect(releasesFilePath(config, env)).toBe(expected);
  });
});
