import { describe, expect, it } from 'vitest';
import { buildInvocation } from '../../../src/build/build.js';
import { parsePushedDigest } from '../../../src/build/push.js';
import { resolveRollbackTarget } from '../../../src/cli/commands/rollback.js';
import { pendingPhases, type Release } from '../../../src/releases/record.js';

describe('docker build argv', () => {
  it('passes args, labels and target as separate argv words, paths resolved against the config dir', () => {
    const { argv, env } = buildInvocation({
      baseDir: '/srv/app',
      context: 'web',
      dockerfile: 'web/Dockerfile.prod',
      args: { NODE_ENV: 'production', GREETING: `it's "$(rm -rf /)"; echo` },
      target: 'runtime',
      imageRef: 'reg:5000/acme/web:abc1234',
      labels: { service: 'web', version: 'abc1234' },
    });
    expect(argv).toEqual([
      'build', '--file', '/srv/app/web/Dockerfile.prod', '--tag', 'reg:5000/acme/web:abc1234',
      '--build-arg', 'NODE_ENV', '--build-arg', 'GREETING',
      '--label', 'service=web', '--label', 'version=abc1234',
      '--target', 'runtime',
      '/srv/app/web',
    ]);
    expect(env).toEqual({ NODE_ENV: 'production', GREETING: `it's "$(rm -rf /)"; echo` });
  });

  it('never puts a build-arg value in argv (ps shows argv to every user): docker reads it from its environment', () => {
    const value = 'build-arg-canary-7c1d';
    const { argv, env } = buildInvocation({ baseDir: '/a', context: '.', dockerfile: 'Dockerfile', args: { NPM_REGISTRY: value, A_B_9: `x${value}` }, imageRef: 'x:1', labels: {} });
    expect(argv.join('\n')).not.toContain(value);
    expect(argv.filter((_word, index) => argv[index - 1] === '--build-arg')).toEqual(['NPM_REGISTRY', 'A_B_9']);
    expect(env).toEqual({ NPM_REGISTRY: value, A_B_9: `x${value}` });
  });

  it.each(['PATH', 'HOME', 'DOCKER_HOST', 'docker_config', 'HTTP_PROXY', 'no_proxy', 'LD_PRELOAD', 'SSH_AUTH_SOCK', 'BUILDKIT_INLINE_CACHE', 'not-an-env-name', 'A=B'])(
    'a build arg named %s, which the docker CLI would read itself (or no environment can carry), keeps NAME=value in argv',
    (name) => {
      const { argv, env } = buildInvocation({ baseDir: '/a', context: '.', dockerfile: 'Dockerfile', args: { [name]: 'v' }, imageRef: 'x:1', labels: {} });
      expect(argv).toContain(`${name}=v`);
      expect(env).toEqual({});
    },
  );

  it('leaves --target out when none is configured', () => {
    expect(buildInvocation({ baseDir: '/a', context: '.', dockerfile: 'Dockerfile', args: {}, imageRef: 'x:1', labels: {} }).argv).not.toContain('--target');
  });
});

describe('pushed digest', () => {
  const digest = `sha256:${'0f'.repeat(32)}`;
  it('is read from docker push output', () => {
    expect(parsePushedDigest(`The push refers to repository [reg:5000/acme/web]\nabc1234: digest: ${digest} size: 1573\n`)).toBe(digest);
  });
  it('is undefined when the output has none', () => {
    expect(parsePushedDigest('Layer already exists\n')).toBeUndefined();
  });
});

function release(id: string, environment: string, status: Release['status']): Release {
  return {
    id, environment, status, service: 'web', version: id.slice(-3), kind: 'deploy', actor: 'me',
    image: { ref: 'reg/web:v' }, started_at: '2026-11-22T10:00:00Z', phases: pendingPhases(), hosts: [], migrations: [],
  };
}

describe('rollback target', () => {
  // Newest first, as the store lists them.
  const releases = [
    release('rel-20261122-100000005', 'prod', 'failed'),
    release('rel-20261122-100000004', 'prod', 'completed'),
    release('rel-20261122-100000003', 'staging', 'completed'),
    release('rel-20261122-100000002', 'prod', 'completed'),
    release('rel-20261122-100000001', 'prod', 'interrupted'),
  ];

  it('"previous" is the completed release before the current one of that environment', () => {
    expect(resolveRollbackTarget(releases, 'prod', 'previous').id).toBe('rel-20261122-100000002');
  });

  it('an explicit id of a completed release of the environment', () => {
    expect(resolveRollbackTarget(releases, 'prod', 'rel-20261122-100000004').id).toBe('rel-20261122-100000004');
  });

  it.each([
    ['rel-20261122-100000003', /belongs to environment "staging", not "prod"/],
    ['rel-20261122-100000005', /is failed, not completed/],
    ['rel-20261122-100000001', /is interrupted, not completed/],
    ['rel-nope', /unknown release "rel-nope"/],
  ])('refuses %s with exit 1', (id, message) => {
    let error: unknown;
    try {
      resolveRollbackTarget(releases, 'prod', id);
    } catch (caught) {
      error = caught;
    }
    expect((error as Error).message).toMatch(message);
    expect((error as { exitCode: number }).exitCode).toBe(1);
  });

  it('refuses "previous" when there is only one completed release', () => {
    expect(() => resolveRollbackTarget(releases, 'staging', 'previous')).toThrow(/no previous completed release of staging to roll back to \(1 completed so far\)/);
  });
});
