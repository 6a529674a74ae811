import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/index.js';
import { HEAD, PROD, load, loadErrors, yaml } from './helpers.js';

const DB = ['databases:', '  main:', '    url: postgres://db/app'];

interface ErrorCase {
  name: string;
  lines: string[];
  errors: string[];
  env?: string;
  processEnv?: Record<string, string>;
  secrets?: string;
}

/** Each case: the file, and every `file:line:col: message` line it must produce, in order. */
const cases: ErrorCase[] = [
  {
    name: 'unknown nested key, with the nearest valid key',
    lines: ['service: web', 'proxy:', '    helthcheck: {}', 'image: registry.example.com/acme/web', ...PROD],
    errors: ['stagecraft.yml:3:5: unknown key "helthcheck" in proxy — did you mean "healthcheck"?'],
  },
  {
    name: 'unknown top-level key',
    lines: [...HEAD, 'retian: 3', ...PROD],
    errors: ['stagecraft.yml:3:1: unknown key "retian" at top level — did you mean "retain"?'],
  },
  {
    name: 'unknown key with no close match lists the allowed keys',
    lines: [...HEAD, 'hooks: { wat: 1 }', ...PROD],
    errors: ['stagecraft.yml:3:10: unknown key "wat" in hooks (allowed: path)'],
  },
  {
    name: 'integer field given a word',
    lines: [...HEAD, 'retain: many', ...PROD],
    errors: ['stagecraft.yml:3:9: retain: expected an integer, got a string'],
  },
  {
    name: 'mapping given a number',
    lines: [...HEAD, 'proxy: 80', ...PROD],
    errors: ['stagecraft.yml:3:8: proxy: expected a mapping, got a number (80)'],
  },
  {
    name: 'enumeration typo lists allowed values and suggests one',
    lines: [...HEAD, 'rollout:', '  strategy: rollng', ...PROD],
    errors: ['stagecraft.yml:4:13: rollout.strategy: expected one of all, rolling, canary, got "rollng" — did you mean "rolling"?'],
  },
  {
    name: 'unknown migration engine',
    lines: [...HEAD, ...DB, '    migrations: { engine: flyway, path: db }', ...PROD],
    errors: [
      'stagecraft.yml:6:27: databases.main.migrations.engine: expected one of raw, knex, prisma, drizzle, golang-migrate, sqitch, node-pg-migrate, command, got "flyway"',
    ],
  },
  {
    name: 'missing service is reported at the top-level mapping',
    lines: ['image: registry.example.com/acme/web', ...PROD],
    errors: ['stagecraft.yml:1:1: missing required key "service" at top level'],
  },
  {
    name: 'missing environments',
    lines: [...HEAD],
    errors: ['stagecraft.yml:1:1: missing required key "environments" at top level'],
  },
  {
    name: 'no environment defined',
    lines: [...HEAD, 'environments: {}'],
    errors: ['stagecraft.yml:3:1: environments: define at least one environment'],
  },
  {
    name: 'environment without hosts',
    lines: [...HEAD, 'environments:', '  prod:', '    require_approval: true'],
    errors: ['stagecraft.yml:4:3: missing required key "hosts" in environments.prod'],
  },
  {
    name: 'empty host list',
    lines: [...HEAD, 'environments:', '  prod:', '    hosts: []'],
    errors: ['stagecraft.yml:5:5: environments.prod.hosts: must have at least 1 item'],
  },
  {
    name: 'no primary host (roles default to web)',
    lines: [...HEAD, 'environments:', '  prod:', '    hosts:', '      - address: 10.0.0.1', '      - address: 10.0.0.2'],
    errors: ['stagecraft.yml:5:5: environments.prod.hosts: exactly one host must have role "primary", found none'],
  },
  {
    name: 'two primary hosts',
    lines: [
      ...HEAD,
      'environments:',
      '  prod:',
      '    hosts:',
      '      - { address: a.example.com, roles: [primary] }',
      '      - { address: b.example.com, roles: [primary, web] }',
    ],
    errors: ['stagecraft.yml:5:5: environments.prod.hosts: exactly one host must have role "primary", found 2 (a.example.com, b.example.com)'],
  },
  {
    name: 'duplicate host address',
    lines: [...HEAD, 'environments:', '  prod:', '    hosts:', '      - { address: 10.0.0.1, roles: [primary] }', '      - { address: 10.0.0.1 }'],
    errors: ['stagecraft.yml:7:20: environments.prod.hosts[1].address: duplicate host address "10.0.0.1" (also hosts[0])'],
  },
  {
    name: 'host without address is reported at the list item',
    lines: [...HEAD, 'environments:', '  prod:', '    hosts:', '      - { roles: [primary], port: 22 }'],
    errors: ['stagecraft.yml:6:9: missing required key "address" in environments.prod.hosts[0]'],
  },
  {
    name: 'invalid role name',
    lines: [...HEAD, 'environments:', '  prod:', '    hosts:', '      - { address: 10.0.0.1, roles: [Primary] }'],
    errors: ['stagecraft.yml:6:38: environments.prod.hosts[0].roles[0]: role names use lowercase letters, digits, _ and -, got "Primary"'],
  },
  {
    name: 'a host role that is neither web nor defined under roles',
    lines: [...HEAD, 'roles: { worker: { cmd: [node, w.js] } }', 'environments:', '  prod:', '    hosts:', '      - { address: 10.0.0.1, roles: [primary, wroker] }'],
    errors: ['stagecraft.yml:7:47: environments.prod.hosts[0].roles[1]: unknown role "wroker" (roles: web, worker, plus primary); define it under roles:'],
  },
  {
    name: 'a role other than web behind the proxy',
    lines: [...HEAD, 'roles:', '  worker: { cmd: [node, w.js], proxy: true }', ...PROD],
    errors: ['stagecraft.yml:4:39: roles.worker.proxy: only web goes behind the proxy (one proxy per service on a host); run "worker" without it'],
  },
  {
    name: 'a role named like stagecraft\'s own containers',
    lines: [...HEAD, 'roles:', '  proxy: { cmd: [nginx] }', ...PROD],
    errors: ['stagecraft.yml:4:3: roles.proxy: "proxy" is a name stagecraft uses itself (primary, proxy, migrate, exec, accessory, backup): choose another role name'],
  },
  {
    name: 'port out of range',
    lines: [...HEAD, 'ssh:', '  port: 70000', ...PROD],
    errors: ['stagecraft.yml:4:9: ssh.port: must be at most 65535'],
  },
  {
    name: 'malformed duration',
    lines: [...HEAD, 'proxy:', '  drain_timeout: 5x', ...PROD],
    errors: ['stagecraft.yml:4:18: proxy.drain_timeout: expected a duration like 500ms, 90s, 10m, 1h or 1m30s, got "5x"'],
  },
  {
    name: 'image with a tag',
    lines: ['service: web', 'image: acme/web:latest', ...PROD],
    errors: [
      'stagecraft.yml:2:8: image: must be an image repository without tag or digest, e.g. registry.example.com/acme/app (the version becomes the tag), got "acme/web:latest"',
    ],
  },
  {
    name: 'invalid service name',
    lines: ['service: Web_App', 'image: acme/web', ...PROD],
    errors: ['stagecraft.yml:1:10: service: must be lowercase letters, digits, _ and -, starting with a letter or digit, got "Web_App"'],
  },
  {
    name: 'invalid database name is reported at the key',
    lines: [...HEAD, 'databases:', '  Main:', '    url: postgres://db/app', '    migrations: { engine: raw, path: db }', ...PROD],
    errors: ['stagecraft.yml:4:3: invalid name "Main" in databases: database names use lowercase letters, digits, _ and -'],
  },
  {
    name: 'database without url',
    lines: [...HEAD, 'databases:', '  main:', '    migrations: { engine: raw, path: db }', ...PROD],
    errors: ['stagecraft.yml:4:3: missing required key "url" in databases.main'],
  },
  {
    name: 'engine that needs a path',
    lines: [...HEAD, ...DB, '    migrations: { engine: knex }', ...PROD],
    errors: ['stagecraft.yml:6:5: missing required key "path" in databases.main.migrations (engine knex reads migrations from it)'],
  },
  {
    name: 'engine command needs a command',
    lines: [...HEAD, ...DB, '    migrations: { engine: command }', ...PROD],
    errors: ['stagecraft.yml:6:5: missing required key "command" in databases.main.migrations (engine command runs it)'],
  },
  {
    name: 'command written as one string',
    lines: [...HEAD, ...DB, '    migrations: { engine: command, command: "npm run migrate" }', ...PROD],
    errors: [
      'stagecraft.yml:6:45: databases.main.migrations.command: expected a list, got a string (write a list, e.g. [npm, run, migrate]: a string is never split into words)',
    ],
  },
  {
    name: 'unquoted number in env.clear',
    lines: [...HEAD, 'env:', '  clear:', '    PORT: 3000', ...PROD],
    errors: ['stagecraft.yml:5:11: env.clear.PORT: expected a string, got a number (3000) (quote it: "3000")'],
  },
  {
    name: 'invalid secret name',
    lines: [...HEAD, 'env:', '  secret: [DATABASE-URL]', ...PROD],
    errors: [
      'stagecraft.yml:4:12: env.secret[0]: must be an environment variable name (letters, digits and _, not starting with a digit), got "DATABASE-URL"',
    ],
  },
  {
    name: 'variable both clear and secret',
    lines: [...HEAD, 'env:', '  clear: { TOKEN: abc }', '  secret: [TOKEN]', ...PROD],
    processEnv: { TOKEN: 'from-env' },
    errors: ['stagecraft.yml:4:19: env.clear.TOKEN: "TOKEN" is listed in both env.clear and env.secret'],
  },
  {
    name: 'canary without a percentage',
    lines: [...HEAD, 'rollout: { strategy: canary }', ...PROD],
    errors: ['stagecraft.yml:3:1: missing required key "canary_percent" in rollout (strategy canary needs it)'],
  },
  {
    name: 'canary percentage above 100',
    lines: [...HEAD, 'rollout: { strategy: canary, canary_percent: 150 }', ...PROD],
    errors: ['stagecraft.yml:3:46: rollout.canary_percent: must be at most 100'],
  },
  {
    name: 'health check path without leading slash',
    lines: [...HEAD, 'proxy: { healthcheck: { path: up } }', ...PROD],
    errors: ['stagecraft.yml:3:31: proxy.healthcheck.path: must start with "/", got "up"'],
  },
  {
    name: 'boolean given a word',
    lines: [...HEAD, ...PROD, '    require_approval: yes'],
    errors: ['stagecraft.yml:7:23: environments.prod.require_approval: expected true or false, got a string'],
  },
  {
    name: 'registry without server (completeness is checked after the merge)',
    lines: [...HEAD, 'registry: { username: deploy }', ...PROD],
    errors: ['stagecraft.yml:3:1: missing required key "server" in registry'],
  },
  {
    name: 'duplicate key',
    lines: [...HEAD, 'retain: 3', 'retain: 4', ...PROD],
    errors: ['stagecraft.yml:4:1: duplicate key "retain" in this mapping'],
  },
  {
    name: 'top level is a list',
    lines: ['- service: web'],
    errors: ['stagecraft.yml:1:1: expected a mapping at top level, got a list'],
  },
  {
    name: 'file with only comments',
    lines: ['# nothing yet'],
    errors: ['stagecraft.yml:1:1: the file is empty: expected a mapping with service, image and environments'],
  },
  {
    name: 'unknown alias',
    lines: [...HEAD, 'proxy: *defaults', ...PROD],
    errors: ['stagecraft.yml:3:8: unknown alias "*defaults" (define the anchor "&defaults" before using it)'],
  },
  {
    name: 'alias inside the node it refers to',
    lines: [...HEAD, 'proxy: &p { healthcheck: *p }', ...PROD],
    errors: ['stagecraft.yml:3:26: alias "*p" is inside the node it refers to (a cycle)'],
  },
  {
    name: '__proto__ key that would turn off host-key checking',
    lines: [...HEAD, 'ssh: {__proto__: {strict_host_key_checking: false}}', ...PROD],
    errors: ['stagecraft.yml:3:7: key "__proto__" is not allowed (it would replace an object\'s prototype)'],
  },
  {
    name: '__proto__ keys under env.clear, builder.args and an environment, each reported',
    lines: [
      ...HEAD,
      'env: { clear: { __proto__: { A: b } } }',
      'builder:',
      '  args:',
      '    __proto__: { NODE_ENV: development }',
      ...PROD,
      '    __proto__: { require_approval: false }',
    ],
    errors: [
      'stagecraft.yml:3:17: key "__proto__" is not allowed (it would replace an object\'s prototype)',
      'stagecraft.yml:6:5: key "__proto__" is not allowed (it would replace an object\'s prototype)',
      'stagecraft.yml:11:5: key "__proto__" is not allowed (it would replace an object\'s prototype)',
    ],
  },
  {
    name: '__proto__ key written as an alias, or quoted',
    lines: [...HEAD, 'x-name: &k __proto__', 'proxy: { *k : { port: 1 } }', 'hooks: { "__proto__": {} }', ...PROD],
    errors: [
      'stagecraft.yml:4:10: key "__proto__" is not allowed (it would replace an object\'s prototype)',
      'stagecraft.yml:5:10: key "__proto__" is not allowed (it would replace an object\'s prototype)',
    ],
  },
  {
    name: 'unquoted number as registry.password is not echoed',
    lines: [...HEAD, 'registry: { server: r.example.com, password: 31337000 }', ...PROD],
    errors: ['stagecraft.yml:3:46: registry.password: expected a string, got a number (quote it; the value is not shown: secret field)'],
  },
  {
    name: 'database url of the wrong type is not echoed, in an environment either',
    lines: [...HEAD, ...DB, '    migrations: { engine: raw, path: db }', ...PROD, '    databases: { main: { url: [postgres://u:pw@db/app] } }'],
    errors: ['stagecraft.yml:11:26: environments.prod.databases.main.url: expected a string, got a list (the value is not shown: secret field)'],
  },
  {
    name: 'a value holding a secret from .stagecraft/secrets is not echoed',
    lines: ['service: web', 'image: "${IMAGE}"', ...PROD],
    secrets: 'IMAGE=acme/web:tag-from-secrets\n',
    errors: [
      'stagecraft.yml:2:8: image: must be an image repository without tag or digest, e.g. registry.example.com/acme/app (the version becomes the tag) (the value is not shown: it holds a secret)',
    ],
  },
  {
    name: 'a value holding an env.secret value is not echoed',
    lines: [...HEAD, 'env: { secret: [TAG] }', 'proxy: { image: "nginx:${TAG}", healthcheck: { path: "${TAG}" } }', ...PROD],
    processEnv: { TAG: 'tag-secret-9' },
    errors: ['stagecraft.yml:4:54: proxy.healthcheck.path: must start with "/" (the value is not shown: it holds a secret)'],
  },
  {
    name: 'malformed ${ in a password is reported without its text',
    lines: [...HEAD, 'registry: { server: r.example.com, password: "pa${ss word" }', ...PROD],
    errors: ['stagecraft.yml:3:46: registry.password: malformed "${...}" (the value is not shown: secret field; write "$$" for a literal "$")'],
  },
  {
    name: 'type error in an environment override is reported there, once',
    lines: [...HEAD, ...PROD, '    proxy:', '      port: http'],
    errors: ['stagecraft.yml:8:13: environments.prod.proxy.port: expected an integer, got a string'],
  },
  {
    name: 'unknown key in an environment override, once',
    lines: [...HEAD, ...PROD, '    ssh: { usr: deploy }'],
    errors: ['stagecraft.yml:7:12: unknown key "usr" in environments.prod.ssh — did you mean "user"?'],
  },
  {
    name: 'database defined only in an environment must be complete',
    lines: [...HEAD, ...PROD, '    databases:', '      reports: { url: postgres://db/reports }'],
    errors: ['stagecraft.yml:8:7: missing required key "migrations" in environments.prod.databases.reports'],
  },
  {
    name: 'another environment is still validated',
    lines: [
      ...HEAD,
      'environments:',
      '  prod:',
      '    hosts: [{ address: a, roles: [primary] }]',
      '  staging:',
      '    hosts: [{ address: b, roles: [primary] }]',
      '    retain: 0',
    ],
    env: 'prod',
    errors: ['stagecraft.yml:8:13: environments.staging.retain: must be at least 1'],
  },
  {
    name: 'invalid environment name',
    lines: [...HEAD, 'environments:', '  Prod:', '    hosts: [{ address: a, roles: [primary] }]'],
    errors: ['stagecraft.yml:4:3: invalid name "Prod" in environments: environment names use lowercase letters, digits, _ and -'],
  },
  {
    name: 'missing variable is reported at its value',
    lines: [...HEAD, 'registry:', '  server: ${REGISTRY_HOST}', ...PROD],
    errors: [
      'stagecraft.yml:4:11: registry.server: variable "REGISTRY_HOST" is not set (export it or add it to .stagecraft/secrets, or give a default: ${REGISTRY_HOST:-value})',
    ],
  },
  {
    name: 'missing secret is reported at its list item',
    lines: [...HEAD, 'env:', '  secret: [API_KEY, SESSION_KEY]', ...PROD],
    processEnv: { API_KEY: 'k' },
    errors: ['stagecraft.yml:4:21: env.secret[1]: secret "SESSION_KEY" is not set (export it or add it to .stagecraft/secrets)'],
  },
  {
    name: 'secret list replaced in the environment is checked there',
    lines: [...HEAD, 'env:', '  secret: [API_KEY]', ...PROD, '    env: { secret: [PROD_KEY] }'],
    processEnv: { API_KEY: 'k' },
    errors: ['stagecraft.yml:9:21: environments.prod.env.secret[0]: secret "PROD_KEY" is not set (export it or add it to .stagecraft/secrets)'],
  },
];

describe('config errors', () => {
  it.each(cases)('$name', async ({ lines, errors, env, processEnv, secrets }) => {
    expect(await loadErrors(yaml(...lines), { env, processEnv, secrets })).toEqual(errors);
  });

  it('collects every problem, sorted by position, with the first one on the error', async () => {
    const text = yaml(
      'service: Web',
      'image: acme/web',
      'proxy: { port: 0, helthcheck: {} }',
      'rollout: { strategy: sideways }',
      'environments:',
      '  prod:',
      '    hosts: [{ address: 10.0.0.1 }]',
      '    retain: -1',
    );
    let error: unknown;
    try {
      await load(text);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const configError = error as ConfigError;
    expect(configError.message.split('\n')).toEqual([
      'stagecraft.yml:1:10: service: must be lowercase letters, digits, _ and -, starting with a letter or digit, got "Web"',
      'stagecraft.yml:3:16: proxy.port: must be at least 1',
      'stagecraft.yml:3:19: unknown key "helthcheck" in proxy — did you mean "healthcheck"?',
      'stagecraft.yml:4:22: rollout.strategy: expected one of all, rolling, canary, got "sideways"',
      'stagecraft.yml:7:5: environments.prod.hosts: exactly one host must have role "primary", found none',
      'stagecraft.yml:8:13: environments.prod.retain: must be at least 1',
    ]);
    expect([configError.file, configError.line, configError.col]).toEqual(['stagecraft.yml', 1, 10]);
    expect(configError.located).toBe(true);
    expect(configError.exitCode).toBe(1);
    expect(configError.problems).toHaveLength(6);
  });

  it('reports a YAML syntax error at its position', async () => {
    expect(await loadErrors(yaml(...HEAD, 'proxy:', '  port: [80', 'retain: 3', ...PROD))).toEqual([
      'stagecraft.yml:5:1: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
  });

  it('reports only the first of cascading syntax errors, and explains unquoted ${...} in a flow mapping', async () => {
    const lines = await loadErrors(yaml(...HEAD, 'ssh: { port: ${SSH_PORT} }', ...PROD));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^stagecraft\.yml:3:\d+: [^\n]+ \(and \d+ more after it\) — inside \{ \} or \[ \], quote values that use \$\{\.\.\.\}: "\$\{VAR\}"$/,
    );
  });

  it('names a missing config file and suggests init', async () => {
    await expect(load(yaml(), {}).then(() => undefined)).rejects.toBeInstanceOf(ConfigError);
    const { loadConfig } = await import('../../../src/config/index.js');
    await expect(loadConfig({ path: 'nope/stagecraft.yml', cwd: '/tmp', processEnv: {} })).rejects.toThrow(
      'nope/stagecraft.yml: not found (run `stagecraft init`)',
    );
  });
});
