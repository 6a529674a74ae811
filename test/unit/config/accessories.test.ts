import { describe, expect, it } from 'vitest';
import { HEAD, load, loadErrors, yaml } from './helpers.js';

const ENVIRONMENTS = [
  'environments:',
  '  prod:',
  '    hosts:',
  '      - { address: 10.0.0.1, roles: [primary, web] }',
  '      - { address: 10.0.0.2, roles: [web] }',
];

describe('accessories config', () => {
  it('parses an accessory with defaults, its secrets looked up like the app\'s and redacted', async () => {
    const loaded = await load(
      yaml(
        ...HEAD,
        'accessories:',
        '  db:',
        '    image: postgres:16',
        '    port: 5432',
        '    env:',
        '      clear: { POSTGRES_USER: app }',
        '      secret: [POSTGRES_PASSWORD]',
        '    volumes: ["pgdata:/var/lib/postgresql/data"]',
        '  cache: { image: "redis:7", host: 10.0.0.2, port: "127.0.0.1:6380:6379", cmd: [redis-server, --save, ""] }',
        ...ENVIRONMENTS,
      ),
      { processEnv: { POSTGRES_PASSWORD: 'pg-secret-value' } },
    );
    expect(loaded.config.accessories).toEqual({
      db: {
        image: 'postgres:16',
        host: 'primary',
        port: 5432,
        env: { clear: { POSTGRES_USER: 'app' }, secret: ['POSTGRES_PASSWORD'] },
        volumes: ['pgdata:/var/lib/postgresql/data'],
      },
      cache: { image: 'redis:7', host: '10.0.0.2', port: '127.0.0.1:6380:6379', env: { clear: {}, secret: [] }, volumes: [], cmd: ['redis-server', '--save', ''] },
    });
    expect(loaded.accessorySecretEnv).toEqual({ db: { POSTGRES_PASSWORD: 'pg-secret-value' }, cache: {} });
    expect(loaded.secretValues).toContain('pg-secret-value');
  });

  it('is optional (no accessories: an empty map)', async () => {
    const loaded = await load(yaml(...HEAD, ...ENVIRONMENTS));
    expect(loaded.config.accessories).toEqual({});
  });

  it('merges an environment\'s override over the top level', async () => {
    const loaded = await load(
      yaml(...HEAD, 'accessories:', '  db: { image: "postgres:16", port: 5432 }', ...ENVIRONMENTS, '    accessories:', '      db: { host: 10.0.0.2, image: "postgres:17" }'),
    );
    expect(loaded.config.accessories.db).toMatchObject({ image: 'postgres:17', host: '10.0.0.2', port: 5432 });
  });

  it('reports mistakes with file:line:col', async () => {
    const errors = await loadErrors(
      yaml(
        ...HEAD,
        'accessories:',
        '  db:',
        '    image: postgres:16',
        '    port: "99999:5432"',
        '    volumes: ["data"]',
        '    imgae: x',
        '  Bad_Name: { image: x }',
        '  cache: {}',
        ...ENVIRONMENTS,
      ),
    );
    expect(errors).toEqual([
      'stagecraft.yml:6:11: accessories.db.port: ports must be between 1 and 65535',
      'stagecraft.yml:7:15: accessories.db.volumes[0]: must be "name:/container/path" (a Docker volume) or "/host/path:/container/path", optionally :ro or :rw, got "data"',
      'stagecraft.yml:8:5: unknown key "imgae" in accessories.db — did you mean "image"?',
      'stagecraft.yml:9:3: invalid name "Bad_Name" in accessories: accessory names use lowercase letters, digits and -',
      'stagecraft.yml:10:3: missing required key "image" in accessories.cache',
    ]);
  });

  it('refuses a host that is not the environment\'s, and names stagecraft uses itself', async () => {
    const errors = await loadErrors(
      yaml(...HEAD, 'accessories:', '  db: { image: "postgres:16", host: 10.9.9.9 }', '  proxy: { image: x }', '  web-cache: { image: x }', '  all: { image: x }', '  exec-shell: { image: x }', ...ENVIRONMENTS),
    );
    expect(errors).toEqual([
      'stagecraft.yml:4:37: accessories.db.host: "10.9.9.9" is not a host of this environment (hosts: 10.0.0.1, 10.0.0.2, or "primary")',
      'stagecraft.yml:5:3: accessories.proxy: accessory name "proxy" clashes with the names of stagecraft\'s own proxy containers: choose another',
      'stagecraft.yml:6:3: accessories.web-cache: accessory name "web-cache" clashes with the names of stagecraft\'s own web containers: choose another',
      'stagecraft.yml:7:3: accessories.all: accessory name "all" is reserved: `stagecraft accessory boot all` means every accessory',
      'stagecraft.yml:8:3: accessories.exec-shell: accessory name "exec-shell" clashes with the names of stagecraft\'s own exec containers: choose another',
    ]);
  });

  it('an accessory secret that is not set is an error at its position', async () => {
    const errors = await loadErrors(yaml(...HEAD, 'accessories:', '  db: { image: "postgres:16", env: { secret: [PGPASS] } }', ...ENVIRONMENTS));
    expect(errors).toEqual([expect.stringMatching(/^stagecraft\.yml:4:47: accessories\.db\.env\.secret\[0\]: secret "PGPASS" is not set/)]);
  });
});
