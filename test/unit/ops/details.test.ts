import { describe, expect, it } from 'vitest';
import type { AppContainerFact, HostFacts } from '../../../src/ops/host-facts.js';
import { buildDetails, formatDetails, healthOf, lockView } from '../../../src/ops/details.js';
import type { Release } from '../../../src/releases/record.js';

const REPO = 'registry.example.com/acme/shop';
const DIGEST = (c: string) => `sha256:${c.repeat(64)}`;

function container(name: string, version: string, minute: number, options: Partial<AppContainerFact> = {}): AppContainerFact {
  const running = options.running ?? false;
  return {
    id: `id-${name}`,
    name,
    role: 'web',
    version,
    image: `${REPO}:${version}`,
    image_id: `sha256:img-${version}`,
    digest: DIGEST(version.slice(-1)),
    created_at: `2026-11-22T10:0${minute}:00.000Z`,
    started_at: `2026-11-22T10:0${minute}:01.000Z`,
    finished_at: null,
    state: running ? 'running' : 'exited',
    running,
    exit_code: running ? null : 0,
    ...options,
  };
}

const HOST: HostFacts = {
  address: '10.0.0.1',
  containers: [container('shop-web-v1', 'v1', 1), container('shop-web-v3', 'v3', 3, { running: true }), container('shop-web-v2', 'v2', 2, { exit_code: 137 })],
  proxy: { container: 'shop-proxy', target: 'shop-web-v3' },
};

const RELEASE = {
  id: 'rel-20261122-100300000',
  environment: 'prod',
  service: 'shop',
  version: 'v3',
  image: { ref: `${REPO}:v3`, digest: DIGEST('3') },
  commit: 'abc1234',
  actor: 'alice@laptop',
  started_at: '2026-11-22T10:02:50.000Z',
  finished_at: '2026-11-22T10:03:10.000Z',
  status: 'completed',
  kind: 'deploy',
} as unknown as Release;

describe('details', () => {
  it('health: serving is the proxy target, standby runs beside it, stopped ones show their exit code', () => {
    expect(healthOf(container('a', 'v1', 1, { running: true }), 'a')).toBe('serving');
    expect(healthOf(container('a', 'v1', 1, { running: true }), 'b')).toBe('standby');
    expect(healthOf(container('a', 'v1', 1, { exit_code: 137 }), 'a')).toBe('exited (137)');
    expect(healthOf(container('a', 'v1', 1, { state: 'created' }), null)).toBe('created');
    // The proxy fronts web only: a worker that runs is just running.
    expect(healthOf(container('w', 'v1', 1, { role: 'worker', running: true }), null)).toBe('running');
  });

  it('lock views', () => {
    expect(lockView({ state: 'free' })).toEqual({ locked: false, holder: null });
    const holder = { service: 'shop', environment: 'prod', actor: 'bob@ci', acquired_at: '2026-11-22T10:00:00.000Z', command: 'deploy', version: 'v4' };
    expect(lockView({ state: 'held', holder })).toEqual({ locked: true, holder });
    expect(lockView({ state: 'corrupt', reason: 'the file is empty' })).toEqual({ locked: true, holder: null, corrupt: 'the file is empty' });
    expect(lockView({ error: 'connection refused' })).toEqual({ locked: null, holder: null, error: 'connection refused' });
  });

  it('the JSON document: hosts in config order, running first then stopped newest first, unreachable hosts marked', () => {
    const details = buildDetails({
      service: 'shop',
      environment: 'prod',
      release: RELEASE,
      lock: { locked: false, holder: null },
      hosts: [HOST, { address: '10.0.0.2', error: 'connection refused' }],
      roleOrder: ['web'],
    });
    expect(details).toEqual({
      service: 'shop',
      environment: 'prod',
      current_release: {
        id: 'rel-20261122-100300000',
        kind: 'deploy',
        version: 'v3',
        image: `${REPO}@${DIGEST('3')}`,
        digest: DIGEST('3'),
        commit: 'abc1234',
        actor: 'alice@laptop',
        finished_at: '2026-11-22T10:03:10.000Z',
      },
      lock: { locked: false, holder: null },
      hosts: [
        {
          address: '10.0.0.1',
          reachable: true,
          roles: [
            {
              role: 'web',
              containers: [
                { name: 'shop-web-v3', version: 'v3', image: `${REPO}:v3`, digest: DIGEST('3'), started_at: '2026-11-22T10:03:01.000Z', state: 'running', health: 'serving' },
                { name: 'shop-web-v2', version: 'v2', image: `${REPO}:v2`, digest: DIGEST('2'), started_at: '2026-11-22T10:02:01.000Z', state: 'exited', health: 'exited (137)' },
                { name: 'shop-web-v1', version: 'v1', image: `${REPO}:v1`, digest: DIGEST('1'), started_at: '2026-11-22T10:01:01.000Z', state: 'exited', health: 'exited (0)' },
              ],
            },
          ],
          proxy: { container: 'shop-proxy', target: 'shop-web-v3' },
        },
        { address: '10.0.0.2', reachable: false, error: 'connection refused', roles: [], proxy: { container: null, target: null } },
      ],
    });
  });

  it('the text view', () => {
    const holder = { service: 'shop', environment: 'prod', actor: 'bob@ci', acquired_at: '2026-11-22T10:00:00.000Z', command: 'deploy', version: 'v4' };
    const details = buildDetails({
      service: 'shop',
      environment: 'prod',
      release: RELEASE,
      lock: { locked: true, holder },
      hosts: [HOST, { address: '10.0.0.2', containers: [], proxy: { container: null, target: null } }, { address: '10.0.0.3', error: 'connection refused' }],
      roleOrder: ['web'],
    });
    expect(formatDetails(details, Date.parse('2026-11-22T10:00:30.000Z')).split('\n')).toEqual([
      'shop/prod',
      'current release: rel-20261122-100300000 v3 (deploy by alice@laptop, finished 2026-11-22T10:03:10.000Z)',
      `  image ${REPO}@${DIGEST('3')}`,
      'deploy lock: locked, held by bob@ci for 30s (since 2026-11-22T10:00:00.000Z), during deploy of v4',
      '',
      '10.0.0.1  proxy shop-proxy → shop-web-v3',
      '  web',
      `    shop-web-v3  v3  serving       started 2026-11-22T10:03:01.000Z  sha256:333333333333  ${REPO}:v3`,
      `    shop-web-v2  v2  exited (137)  started 2026-11-22T10:02:01.000Z  sha256:222222222222  ${REPO}:v2`,
      `    shop-web-v1  v1  exited (0)    started 2026-11-22T10:01:01.000Z  sha256:111111111111  ${REPO}:v1`,
      '',
      '10.0.0.2  no proxy',
      '  no app containers',
      '',
      '10.0.0.3: UNREACHABLE: connection refused',
      '',
    ]);
  });

  it('nothing deployed and a lock that could not be read', () => {
    const details = buildDetails({ service: 'shop', environment: 'prod', release: undefined, lock: { locked: null, holder: null, error: 'connection refused' }, hosts: [], roleOrder: ['web'] });
    expect(details.current_release).toBeNull();
    expect(formatDetails(details)).toBe('shop/prod\ncurrent release: none (nothing deployed yet)\ndeploy lock: not read (connection refused)\n');
  });
});
