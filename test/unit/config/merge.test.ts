import { describe, expect, it } from 'vitest';
import { HEAD, PROD, load, loadErrors, yaml } from './helpers.js';

describe('merging an environment over the top level', () => {
  const text = yaml(
    ...HEAD,
    'ssh:',
    '  user: deploy',
    '  keys: [~/.ssh/a, ~/.ssh/b]',
    'proxy:',
    '  app_port: 8080',
    '  healthcheck: { path: /health, timeout: 10s }',
    'env:',
    '  clear: { A: "1", B: "2" }',
    '  secret: [API_KEY]',
    'retain: 3',
    'databases:',
    '  main:',
    '    url: postgres://db/main',
    '    migrations: { engine: knex, path: migrations, timeout: 10m, command: [a, b] }',
    'environments:',
    '  staging:',
    '    hosts: [{ address: local, roles: [primary, web] }]',
    '  prod:',
    '    require_approval: true',
    '    hosts:',
    '      - { address: 10.0.1.1, roles: [primary, web], port: 2222, user: ops }',
    '      - { address: 10.0.1.2 }',
    '    ssh: { keys: [~/.ssh/prod] }',
    '    proxy: { healthcheck: { timeout: 60s } }',
    '    env: { clear: { B: "20", C: "3" }, secret: [PROD_KEY] }',
    '    retain: 10',
    '    rollout: { strategy: rolling }',
    '    databases:',
    '      main: { migrations: { timeout: 30m, command: [c] } }',
    '      reports: { url: postgres://db/reports, migrations: { engine: raw, path: db/reports, strategy: post_deploy } }',
  );
  const processEnv = { API_KEY: 'k1', PROD_KEY: 'k2' };

  it('deep-merges mappings and replaces lists and scalars', async () => {
    const { config } = await load(text, { env: 'prod', processEnv });
    expect(config.ssh).toEqual({
      user: 'deploy',
      port: 22,
      keys: ['~/.ssh/prod'],
      known_hosts: '~/.ssh/known_hosts',
      strict_host_key_checking: true,
      connect_timeout: '5s',
    });
    expect(config.proxy.app_port).toBe(8080);
    expect(config.proxy.healthcheck).toEqual({ path: '/health', interval: '1s', timeout: '60s' });
    expect(config.env).toEqual({ clear: { A: '1', B: '20', C: '3' }, secret: ['PROD_KEY'] });
    expect(config.retain).toBe(10);
  });

  it('merges a partial database override over the top-level entry and adds complete new ones', async () => {
    const { config } = await load(text, { env: 'prod', processEnv });
    expect(config.databases).toEqual({
      main: {
        url: 'postgres://db/main',
        migrations: { engine: 'knex', path: 'migrations', strategy: 'pre_deploy', timeout: '30m', command: ['c'] },
      },
      reports: {
        url: 'postgres://db/reports',
        migrations: { engine: 'raw', path: 'db/reports', strategy: 'post_deploy', timeout: '10m' },
      },
    });
  });

  it('takes hosts and require_approval from the environment and drops environments', async () => {
    const loaded = await load(text, { env: 'prod', processEnv });
    expect(loaded.config.hosts).toEqual([
      { address: '10.0.1.1', roles: ['primary', 'web'], port: 2222, user: 'ops' },
      { address: '10.0.1.2', roles: ['web'] },
    ]);
    expect(loaded.config.require_approval).toBe(true);
    expect(loaded.config).not.toHaveProperty('environments');
    expect(loaded.environment).toBe('prod');
    expect(loaded.environments).toEqual(['staging', 'prod']);
  });

  it('leaves the top level alone for another environment, with defaults applied', async () => {
    const { config } = await load(text, { env: 'staging', processEnv });
    expect(config.hosts).toEqual([{ address: 'local', roles: ['primary', 'web'] }]);
    expect(config.require_approval).toBe(false);
    expect(config.ssh.keys).toEqual(['~/.ssh/a', '~/.ssh/b']);
    expect(config.env.secret).toEqual(['API_KEY']);
    expect(config.retain).toBe(3);
    expect(config.databases).not.toHaveProperty('reports');
    expect(config.rollout).toEqual({ strategy: 'all', max_parallel: 4 });
    expect(config.proxy.image).toBe('nginx:stable');
    expect(config.proxy.port).toBe(80);
    expect(config.proxy.drain_timeout).toBe('5s');
    expect(config.hooks).toEqual({ path: '.stagecraft/hooks' });
    expect(config.builder).toEqual({ context: '.', dockerfile: 'Dockerfile', args: {} });
  });

  it('gives rolling a batch size of 1 when none is set', async () => {
    const { config } = await load(text, { env: 'prod', processEnv });
    expect(config.rollout).toEqual({ strategy: 'rolling', batch_size: 1, max_parallel: 4 });
  });

  it('returns a deep-frozen result', async () => {
    const loaded = await load(text, { env: 'prod', processEnv });
    expect(Object.isFrozen(loaded)).toBe(true);
    expect(Object.isFrozen(loaded.config.hosts[0])).toBe(true);
    expect(Object.isFrozen(loaded.config.databases.main?.migrations)).toBe(true);
    expect(() => {
      (loaded.config.proxy as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('completes a top-level entry from the environment', async () => {
    const loaded = await load(
      yaml(...HEAD, 'registry: { server: r.example.com }', 'databases:', '  main: { migrations: { engine: raw, path: db } }', ...PROD,
        '    registry: { password: "${PROD_REGISTRY_PASSWORD}" }', '    databases: { main: { url: "${PROD_DB}" } }'),
      { processEnv: { PROD_REGISTRY_PASSWORD: 'secret-1', PROD_DB: 'postgres://db/prod' } },
    );
    expect(loaded.config.registry).toEqual({ server: 'r.example.com', password: 'secret-1' });
    expect(loaded.config.databases.main?.url).toBe('postgres://db/prod');
  });

  it('a list replaced by an environment must be valid on its own', async () => {
    expect(await loadErrors(yaml(...HEAD, 'ssh: { keys: [a] }', ...PROD, '    ssh: { keys: [""] }'))).toEqual([
      'stagecraft.yml:8:19: environments.prod.ssh.keys[0]: must not be empty',
    ]);
  });

  it('supports YAML anchors and merge keys, with positions inside them', async () => {
    const anchored = yaml(
      ...HEAD,
      'x-host: &host { roles: [web], user: ops, port: 2222 }',
      'environments:',
      '  prod:',
      '    hosts:',
      '      - { <<: *host, address: 10.0.0.1, roles: [primary] }',
      '      - { <<: *host, address: 10.0.0.2 }',
    );
    expect((await load(anchored)).config.hosts).toEqual([
      { address: '10.0.0.1', roles: ['primary'], user: 'ops', port: 2222 },
      { address: '10.0.0.2', roles: ['web'], user: 'ops', port: 2222 },
    ]);
    expect(await loadErrors(anchored.replace('port: 2222', 'port: ssh'))).toEqual([
      'stagecraft.yml:3:48: environments.prod.hosts[0].port: expected an integer, got a string',
      'stagecraft.yml:3:48: environments.prod.hosts[1].port: expected an integer, got a string',
    ]);

    const merged = yaml(
      ...HEAD,
      'proxy: &p { app_port: 8080 }',
      'environments:',
      '  prod:',
      '    proxy: { <<: *p, port: 8081 }',
      '    hosts: [{ address: a, roles: [primary] }]',
    );
    expect((await load(merged)).config.proxy).toMatchObject({ app_port: 8080, port: 8081 });
  });

  it('ignores top-level x-* keys, including variables in them', async () => {
    const loaded = await load(yaml(...HEAD, 'x-notes: { owner: "${NOT_SET}" }', ...PROD));
    expect(loaded.config).not.toHaveProperty('x-notes');
  });
});
