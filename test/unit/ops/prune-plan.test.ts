import { describe, expect, it } from 'vitest';
import type { AppContainerFact, PruneFacts } from '../../../src/ops/host-facts.js';
import { appRoles } from '../../../src/ops/host-facts.js';
import { formatPrunePlan, imageLabel, planHostPrune, planPrune, pruneTotals } from '../../../src/ops/prune-plan.js';

const REPO = 'registry.example.com/acme/shop';

function container(name: string, version: string, minute: number, options: Partial<AppContainerFact> = {}): AppContainerFact {
  const running = options.running ?? false;
  return {
    id: `id-${name}`,
    name,
    role: 'web',
    version,
    image: `${REPO}:${version}`,
    image_id: `sha256:img-${version}`,
    digest: `sha256:${version.padEnd(64, '0')}`,
    created_at: `2026-11-22T10:${String(minute).padStart(2, '0')}:00.000Z`,
    started_at: `2026-11-22T10:${String(minute).padStart(2, '0')}:01.000Z`,
    finished_at: running ? null : `2026-11-22T11:${String(minute).padStart(2, '0')}:00.000Z`,
    state: running ? 'running' : 'exited',
    running,
    exit_code: running ? null : 0,
    ...options,
  };
}

const image = (version: string) => ({ id: `sha256:img-${version}`, refs: [`${REPO}:${version}`, `${REPO}@sha256:${version.padEnd(64, '0')}`] });

/** Five web versions on one host: v5 serving, v1..v4 stopped; each image used by its container. */
function fiveVersions(): PruneFacts {
  const containers = [
    container('shop-web-v5', 'v5', 5, { running: true }),
    container('shop-web-v4', 'v4', 4),
    container('shop-web-v3', 'v3', 3),
    container('shop-web-v2', 'v2', 2),
    container('shop-web-v1', 'v1', 1),
  ];
  return {
    address: '10.0.0.1',
    containers,
    proxy: { container: 'shop-proxy', target: 'shop-web-v5' },
    images: ['v1', 'v2', 'v3', 'v4', 'v5'].map(image),
    image_users: {
      ...Object.fromEntries(containers.map((c) => [c.image_id, [c.name]])),
      'sha256:nginx': ['shop-proxy'],
    },
  };
}

const names = (list: { name: string }[]) => list.map((c) => c.name);

describe('prune plan', () => {
  it('keeps the serving container and the newest N stopped ones; removes the older ones and their images', () => {
    const plan = planHostPrune(fiveVersions(), 1);
    expect(names(plan.keep_containers)).toEqual(['shop-web-v5', 'shop-web-v4']);
    expect(plan.keep_containers.map((c) => c.reason)).toEqual(['running, the proxy\'s target', 'kept for rollback: one of the newest 1 stopped web container']);
    expect(names(plan.remove_containers)).toEqual(['shop-web-v3', 'shop-web-v2', 'shop-web-v1']);
    expect(plan.remove_containers[0]!.reason).toBe('older than the newest 1 stopped web container');
    expect(plan.remove_images.map((i) => i.id)).toEqual(['sha256:img-v1', 'sha256:img-v2', 'sha256:img-v3']);
    expect(plan.remove_images[0]!.reason).toBe('used only by containers this prune removes');
    expect(plan.remove_images[0]!.refs).toEqual([`${REPO}:v1`, `${REPO}@sha256:${'v1'.padEnd(64, '0')}`].sort());
    expect(plan.keep_images).toEqual([
      { id: 'sha256:img-v4', refs: expect.any(Array), versions: ['v4'], reason: 'used by shop-web-v4' },
      { id: 'sha256:img-v5', refs: expect.any(Array), versions: ['v5'], reason: 'used by shop-web-v5' },
    ]);
  });

  it('--keep 0 keeps only what runs; keep beyond the count removes nothing', () => {
    expect(names(planHostPrune(fiveVersions(), 0).remove_containers)).toEqual(['shop-web-v4', 'shop-web-v3', 'shop-web-v2', 'shop-web-v1']);
    const all = planHostPrune(fiveVersions(), 10);
    expect(all.remove_containers).toEqual([]);
    expect(all.remove_images).toEqual([]);
    expect(all.keep_containers).toHaveLength(5);
  });

  it('"newest" is the creation time, whatever order the facts come in', () => {
    const facts = fiveVersions();
    facts.containers.reverse();
    expect(names(planHostPrune(facts, 2).keep_containers)).toEqual(['shop-web-v5', 'shop-web-v4', 'shop-web-v3']);
  });

  it('never removes a running container, nor a stopped one the proxy points at; they do not count against N', () => {
    const facts = fiveVersions();
    // A standby container left running (a failed deploy's, say) and the proxy pointing at a stopped one.
    facts.containers[2] = container('shop-web-v3', 'v3', 3, { running: true });
    facts.proxy.target = 'shop-web-v1';
    const plan = planHostPrune(facts, 1);
    expect(plan.keep_containers.map((c) => [c.name, c.reason])).toEqual([
      ['shop-web-v5', 'running'],
      ['shop-web-v4', 'kept for rollback: one of the newest 1 stopped web container'],
      ['shop-web-v3', 'running'],
      ['shop-web-v1', 'the proxy\'s target'],
    ]);
    expect(names(plan.remove_containers)).toEqual(['shop-web-v2']);
  });

  it('counts N per role', () => {
    const facts = fiveVersions();
    facts.containers.push(
      container('shop-worker-v5', 'v5', 5, { role: 'worker', running: true }),
      container('shop-worker-v4', 'v4', 4, { role: 'worker' }),
      container('shop-worker-v3', 'v3', 3, { role: 'worker' }),
    );
    facts.image_users['sha256:img-v3'] = ['shop-web-v3', 'shop-worker-v3'];
    const plan = planHostPrune(facts, 1);
    expect(names(plan.keep_containers)).toEqual(['shop-web-v5', 'shop-web-v4', 'shop-worker-v5', 'shop-worker-v4']);
    expect(names(plan.remove_containers)).toEqual(['shop-web-v3', 'shop-web-v2', 'shop-web-v1', 'shop-worker-v3']);
    expect(plan.remove_containers.at(-1)!.reason).toBe('older than the newest 1 stopped worker container');
  });

  it('keeps an image another container still uses (a migration one-off, another service), and images no container uses go', () => {
    const facts = fiveVersions();
    facts.image_users['sha256:img-v2'] = ['shop-web-v2', 'shop-migrate-main-v2'];
    facts.images.push({ id: 'sha256:orphan', refs: [`${REPO}:v0`] });
    const plan = planHostPrune(facts, 1);
    expect(plan.keep_images.map((i) => [i.id, i.reason])).toContainEqual(['sha256:img-v2', 'used by shop-migrate-main-v2']);
    expect(plan.remove_images.map((i) => [i.id, i.reason])).toContainEqual(['sha256:orphan', 'used by no container']);
    expect(plan.remove_images.map((i) => i.id)).not.toContain('sha256:img-v2');
  });

  it('an unread host is carried through with its error; totals and the text count the others', () => {
    const plan = planPrune({ service: 'shop', environment: 'prod', keep: 1, hosts: [fiveVersions(), { address: '10.0.0.2', error: 'connection refused' }] });
    expect(plan.hosts[1]).toEqual({ address: '10.0.0.2', error: 'connection refused' });
    expect(pruneTotals(plan)).toEqual({ containers: 3, images: 3 });
    expect(formatPrunePlan(plan).split('\n')).toEqual([
      'prune shop/prod: keep the newest 1 stopped app container per host and role',
      '10.0.0.1',
      '  remove container shop-web-v3  web v3, exited: older than the newest 1 stopped web container',
      '  remove container shop-web-v2  web v2, exited: older than the newest 1 stopped web container',
      '  remove container shop-web-v1  web v1, exited: older than the newest 1 stopped web container',
      '  keep   container shop-web-v5  web v5, running: running, the proxy\'s target',
      '  keep   container shop-web-v4  web v4, exited: kept for rollback: one of the newest 1 stopped web container',
      `  remove image ${REPO}:v1 (v1): used only by containers this prune removes`,
      `  remove image ${REPO}:v2 (v2): used only by containers this prune removes`,
      `  remove image ${REPO}:v3 (v3): used only by containers this prune removes`,
      `  keep   image ${REPO}:v4 (v4): used by shop-web-v4`,
      `  keep   image ${REPO}:v5 (v5): used by shop-web-v5`,
      '10.0.0.2: not read: connection refused',
    ]);
  });

  it('names an image by its tag, or by its digest and the versions that use it when it was pulled by digest', () => {
    expect(imageLabel({ id: 'sha256:0123456789abcdef', refs: [`${REPO}:v2`, `${REPO}@sha256:${'a'.repeat(64)}`], versions: ['v2'] })).toBe(`${REPO}:v2 (v2)`);
    expect(imageLabel({ id: 'sha256:0123456789abcdef', refs: [`${REPO}@sha256:${'a'.repeat(64)}`], versions: ['v2'] })).toBe(`${REPO}@sha256:aaaaaaaaaaaa (v2)`);
    expect(imageLabel({ id: 'sha256:0123456789abcdef', refs: [`${REPO}@sha256:${'a'.repeat(64)}`], versions: [] })).toBe(`${REPO}@sha256:aaaaaaaaaaaa (image 0123456789ab)`);
  });

  it('refuses a negative or fractional keep', () => {
    expect(() => planPrune({ service: 's', environment: 'e', keep: -1, hosts: [] })).toThrow(RangeError);
    expect(() => planPrune({ service: 's', environment: 'e', keep: 1.5, hosts: [] })).toThrow(RangeError);
  });

  it('app roles: web and every host role but primary and the infrastructure ones', () => {
    expect(appRoles({ hosts: [{ address: 'a', roles: ['primary', 'web'] }, { address: 'b', roles: ['worker', 'proxy', 'migrate'] }] as never })).toEqual(['web', 'worker']);
  });
});
