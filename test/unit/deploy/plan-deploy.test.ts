import { describe, expect, it } from 'vitest';
import { planDeploy, rolloutBatches } from '../../../src/plan/plan-deploy.js';
import { formatPlan } from '../../../src/plan/format-plan.js';
import type { PlannedPhase } from '../../../src/plan/deploy-plan.js';
import { load, yaml } from '../config/helpers.js';

const CONFIG = yaml(
  'service: shop',
  'image: registry.example.com/acme/shop',
  'registry: { server: registry.example.com, username: deploy, password: "${REGISTRY_PASSWORD}" }',
  'builder: { context: app, dockerfile: app/Dockerfile, args: { NODE_ENV: production }, target: runtime }',
  'proxy: { app_port: 8080, healthcheck: { path: /healthz, interval: 2s, timeout: 45s }, drain_timeout: 3s }',
  'retain: 2',
  'databases:',
  '  main:',
  '    url: ${MAIN_URL}',
  '    migrations: { engine: command, command: [npm, run, migrate], strategy: pre_deploy, timeout: 5m }',
  '  events:',
  '    url: ${EVENTS_URL}',
  '    migrations: { engine: command, command: [node, events.js], strategy: post_deploy }',
  '  reports:',
  '    url: ${REPORTS_URL}',
  '    migrations: { engine: command, command: ["true"], strategy: manual }',
  'environments:',
  '  prod:',
  '    rollout: { strategy: rolling, batch_size: 2, max_parallel: 2 }',
  '    hosts:',
  '      - { address: 10.0.0.1, roles: [web] }',
  '      - { address: 10.0.0.2, roles: [primary, web] }',
  '      - { address: 10.0.0.3 }',
  '      - { address: 10.0.0.4 }',
  '      - { address: 10.0.0.5 }',
);
const ENV = { REGISTRY_PASSWORD: 'pw', MAIN_URL: 'postgres://a', EVENTS_URL: 'postgres://b', REPORTS_URL: 'postgres://c' };

/** The phase variant whose `name` can be N (migrate_pre and migrate_post share one variant). */
type PhaseOf<N extends PlannedPhase['name'], P = PlannedPhase> = P extends { name: infer M } ? (N extends M ? P : never) : never;

function phase<N extends PlannedPhase['name']>(phases: PlannedPhase[], name: N): PhaseOf<N> {
  const found = phases.find((p) => p.name === name);
  if (!found) throw new Error(`no phase ${name}`);
  return found as PhaseOf<N>;
}

describe('planDeploy', () => {
  it('plans all six phases in pipeline order, per host and per database', async () => {
    const { config } = await load(CONFIG, { processEnv: ENV });
    const plan = planDeploy(config, { environment: 'prod', version: 'abc1234', commit: 'abc1234ffff' });
    expect(plan.phases.map((p) => p.name)).toEqual(['build', 'push', 'migrate_pre', 'rollout', 'migrate_post', 'finalize']);
    expect(plan).toMatchObject({ kind: 'deploy', service: 'shop', environment: 'prod', version: 'abc1234', image: 'registry.example.com/acme/shop:abc1234', primary: '10.0.0.2' });
    expect(phase(plan.phases, 'build').build).toEqual({
      context: 'app',
      dockerfile: 'app/Dockerfile',
      args: { NODE_ENV: 'production' },
      target: 'runtime',
      labels: { service: 'shop', version: 'abc1234' },
    });
    expect(phase(plan.phases, 'push').registry).toBe('registry.example.com');

    const pre = phase(plan.phases, 'migrate_pre');
    expect(pre.migrations).toEqual([
      { database: 'main', engine: 'command', strategy: 'pre_deploy', host: '10.0.0.2', container: 'shop-migrate-main-abc1234', command: ['npm', 'run', 'migrate'], timeout_ms: 300_000 },
    ]);
    expect(pre.not_run).toEqual([{ database: 'reports', reason: expect.stringContaining('manual') }]);
    const post = phase(plan.phases, 'migrate_post');
    expect(post.migrations.map((m) => [m.database, m.timeout_ms])).toEqual([['events', 600_000]]);

    const rollout = phase(plan.phases, 'rollout').rollout;
    expect(rollout.batches.map((b) => b.map((h) => h.address))).toEqual([['10.0.0.1', '10.0.0.2'], ['10.0.0.3', '10.0.0.4'], ['10.0.0.5']]);
    expect(rollout.batches[0]![0]!.container).toBe('shop-web-abc1234');
    expect(rollout).toMatchObject({
      strategy: 'rolling',
      max_parallel: 2,
      network: 'shop-net',
      proxy: { container: 'shop-proxy', image: 'nginx:stable', port: 80, app_port: 8080 },
      healthcheck: { path: '/healthz', interval_ms: 2000, timeout_ms: 45_000 },
      drain_ms: 3000,
      retain: 2,
    });
    expect(phase(plan.phases, 'finalize').audit_hosts).toHaveLength(5);
  });

  it('never puts a secret into the plan', async () => {
    const { config } = await load(CONFIG, { processEnv: ENV });
    const text = JSON.stringify(planDeploy(config, { environment: 'prod', version: 'v1' }));
    for (const secret of Object.values(ENV)) expect(text).not.toContain(secret);
  });

  it('--skip-build skips build and push but still migrates and rolls out', async () => {
    const { config } = await load(CONFIG, { processEnv: ENV });
    const plan = planDeploy(config, { environment: 'prod', version: 'v2', skipBuild: true });
    expect(plan.phases.filter((p) => p.skip).map((p) => p.name)).toEqual(['build', 'push']);
    expect(phase(plan.phases, 'migrate_pre').migrations).toHaveLength(1);
  });

  it('a rollback redeploys the recorded image and runs no build, push or migrations', async () => {
    const { config } = await load(CONFIG, { processEnv: ENV });
    const image = 'registry.example.com/acme/shop@sha256:' + 'a'.repeat(64);
    const plan = planDeploy(config, { environment: 'prod', version: 'v1', rollback: { of: 'rel-20261122-100000000', image } });
    expect(plan).toMatchObject({ kind: 'rollback', image, rollback_of: 'rel-20261122-100000000' });
    expect(plan.phases.filter((p) => p.skip).map((p) => p.name)).toEqual(['build', 'push', 'migrate_pre', 'migrate_post']);
    expect(phase(plan.phases, 'rollout').rollout.batches.flat().map((h) => h.container)).toContain('shop-web-v1');
  });

  it('with no registry and only local hosts, pushes and pulls nothing: the built image runs', async () => {
    const local = yaml('service: demo', 'image: demo', 'environments:', '  dev:', '    hosts:', '      - { address: local, roles: [primary, web] }');
    const plan = planDeploy((await load(local)).config, { environment: 'dev', version: 'v1' });
    expect(plan.pull_images).toBe(false);
    expect(phase(plan.phases, 'rollout').rollout.pull_images).toBe(false);
    expect(phase(plan.phases, 'build').skip).toBeUndefined();
    expect(phase(plan.phases, 'push').skip).toMatch(/no registry/);
  });

  it('a registry, or any host that is not this machine, means push and pull', async () => {
    const { config } = await load(CONFIG, { processEnv: ENV });
    expect(planDeploy(config, { environment: 'prod', version: 'v1' }).pull_images).toBe(true);
    const mixed = yaml('service: demo', 'image: r.example.com/demo', 'environments:', '  dev:', '    hosts:', '      - { address: local, roles: [primary, web] }', '      - { address: 10.0.0.9 }');
    expect(planDeploy((await load(mixed)).config, { environment: 'dev', version: 'v1' }).pull_images).toBe(true);
  });

  it('prints a dry-run plan that names every phase, host and database', async () => {
    const { config } = await load(CONFIG, { processEnv: ENV });
    const text = formatPlan(planDeploy(config, { environment: 'prod', version: 'v3' }));
    for (const expected of ['1. build', '6. finalize', 'batch 3: 10.0.0.5 → shop-web-v3', 'main [command] on 10.0.0.2: npm run migrate', 'reports: not run', 'events [command]', 'dry run: nothing was built']) {
      expect(text).toContain(expected);
    }
  });
});

describe('rolloutBatches', () => {
  const hosts = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
  it.each([
    [{ strategy: 'all', max_parallel: 4 }, [hosts]],
    [{ strategy: 'rolling', batch_size: 3, max_parallel: 4 }, [['a', 'b', 'c'], ['d', 'e', 'f'], ['g']]],
    [{ strategy: 'rolling', batch_size: 10, max_parallel: 4 }, [hosts]],
    [{ strategy: 'canary', canary_percent: 20, max_parallel: 4 }, [['a'], ['b', 'c', 'd', 'e', 'f', 'g']]],
    [{ strategy: 'canary', canary_percent: 30, max_parallel: 4 }, [['a', 'b'], ['c', 'd', 'e', 'f', 'g']]],
    [{ strategy: 'canary', canary_percent: 1, max_parallel: 4 }, [['a'], ['b', 'c', 'd', 'e', 'f', 'g']]],
    [{ strategy: 'canary', canary_percent: 100, max_parallel: 4 }, [hosts]],
  ] as const)('%j', (rollout, expected) => {
    expect(rolloutBatches(hosts, rollout as never)).toEqual(expected);
  });

  it('a single host is one batch whatever the strategy', () => {
    expect(rolloutBatches(['only'], { strategy: 'canary', canary_percent: 50, max_parallel: 1 } as never)).toEqual([['only']]);
  });
});

describe('roles', () => {
  const ROLES = yaml(
    'service: shop',
    'image: registry.example.com/acme/shop',
    'roles:',
    '  web: { env: { MODE: web } }',
    '  worker: { cmd: [node, worker.js], env: { QUEUE: "${QUEUE_NAME}" } }',
    '  mailer: { cmd: [node, mailer.js], healthcheck: { cmd: [test, -f, /tmp/ready], interval: 2s, timeout: 20s } }',
    'environments:',
    '  prod:',
    '    hosts:',
    '      - { address: 10.0.0.1, roles: [primary, web] }',
    '      - { address: 10.0.0.2, roles: [worker, web] }',
    '      - { address: 10.0.0.3, roles: [worker, mailer] }',
  );

  it('each host runs the roles it lists, web first; workers run without the proxy with their own command and health', async () => {
    const config = (await load(ROLES, { processEnv: { QUEUE_NAME: 'jobs-secret' } })).config;
    const hosts = phase(planDeploy(config, { environment: 'prod', version: 'v2' }).phases, 'rollout').rollout.batches.flat();
    expect(hosts.map((h) => [h.address, h.container, h.roles.map((r) => r.role)])).toEqual([
      ['10.0.0.1', 'shop-web-v2', ['web']],
      ['10.0.0.2', 'shop-web-v2', ['web', 'worker']],
      ['10.0.0.3', 'shop-worker-v2', ['worker', 'mailer']],
    ]);
    expect(hosts[1]!.roles).toEqual([
      { role: 'web', container: 'shop-web-v2', proxy: true, env_keys: ['MODE'], health: { kind: 'http' } },
      { role: 'worker', container: 'shop-worker-v2', proxy: false, cmd: ['node', 'worker.js'], env_keys: ['QUEUE'], health: { kind: 'running', min_running_ms: 5000 } },
    ]);
    expect(hosts[2]!.roles[1]).toMatchObject({ role: 'mailer', health: { kind: 'command', cmd: ['test', '-f', '/tmp/ready'], interval_ms: 2000, timeout_ms: 20_000 } });
    // The plan carries role env keys, never their values.
    const plan = planDeploy(config, { environment: 'prod', version: 'v2' });
    expect(JSON.stringify(plan)).not.toContain('jobs-secret');
    expect(formatPlan(plan)).toContain('10.0.0.3 → shop-worker-v2 (node worker.js, no proxy; healthy when running after 5s) + shop-mailer-v2 (node mailer.js, no proxy; healthy when test -f /tmp/ready exits 0)');
  });

  it('a host that lists only primary runs web, as before roles existed', async () => {
    const text = yaml('service: shop', 'image: registry.example.com/acme/shop', 'roles: { worker: { cmd: [node, w.js] } }', 'environments:', '  prod:', '    hosts: [{ address: 10.0.0.4, roles: [primary] }]');
    const config = (await load(text)).config;
    expect(phase(planDeploy(config, { environment: 'prod', version: 'v1' }).phases, 'rollout').rollout.batches.flat()[0]!.roles.map((r) => r.container)).toEqual(['shop-web-v1']);
  });
});

describe('databases with targets', () => {
  const TARGETS = yaml(
    'service: shop',
    'image: registry.example.com/acme/shop',
    'databases:',
    '  main:',
    '    targets: { tenant_a: "postgres://a/x", tenant_b: "postgres://b/x" }',
    '    migrations: { engine: raw, path: db, strategy: pre_deploy }',
    'environments:',
    '  prod:',
    '    hosts: [{ address: 10.0.0.1, roles: [primary, web] }]',
  );

  it('a deploy refuses (exit 2) instead of migrating one target of several; manual databases and rollbacks are fine', async () => {
    const config = (await load(TARGETS)).config;
    expect(() => planDeploy(config, { environment: 'prod', version: 'v1' })).toThrow(
      expect.objectContaining({ exitCode: 2, message: expect.stringContaining('databases.main has targets (tenant_a, tenant_b): deploys do not migrate targets yet') }),
    );
    const manual = { ...config, databases: { main: { ...config.databases['main']!, migrations: { ...config.databases['main']!.migrations, strategy: 'manual' as const } } } };
    expect(phase(planDeploy(manual, { environment: 'prod', version: 'v1' }).phases, 'migrate_pre').migrations).toEqual([]);
    expect(planDeploy(config, { environment: 'prod', version: 'v1', rollback: { of: 'rel-20261202-100000000', image: 'registry.example.com/acme/shop@sha256:abc' } }).kind).toBe('rollback');
  });
});
