import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/index.js';
import { tempProject } from './helpers.js';

/**
 * Build args are stored in the image (`docker history --no-trunc` prints them with the classic
 * builder), so a build arg whose value is a secret is a config error at its file:line:col.
 */
const config = (builder: string, extra = ''): string => `service: shop
image: 127.0.0.1:5000/acme/shop
registry: { server: 127.0.0.1:5000, username: deploy, password: "\${REGISTRY_PASSWORD}" }
${builder}
env:
  secret: [API_TOKEN]
databases:
  main:
    url: \${DATABASE_URL}
    migrations: { engine: raw, path: db }
environments:
  prod:
    hosts:
      - { address: 10.0.0.1, roles: [primary, web] }
${extra}`;

const ENV = { REGISTRY_PASSWORD: 'reg-pass-1234', DATABASE_URL: 'postgres://app:db-pass-5678@db/app', API_TOKEN: 'api-token-abcd' };

async function load(yaml: string, secrets = '', processEnv: Record<string, string> = ENV) {
  const dir = await tempProject({ 'stagecraft.yml': yaml, '.stagecraft/secrets': secrets });
  return loadConfig({ path: 'stagecraft.yml', cwd: dir, environment: 'prod', processEnv });
}

async function problem(yaml: string, secrets = '', processEnv: Record<string, string> = ENV): Promise<string> {
  const error = await load(yaml, secrets, processEnv).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).exitCode).toBe(1);
  return (error as Error).message;
}

const WHY = 'build args are stored in the image (`docker history` shows their values to anyone who can pull it), so a secret cannot be one';

describe('a build arg must not carry a secret', () => {
  it('refuses a variable read from .stagecraft/secrets, at the value’s line and column', async () => {
    const message = await problem(config('builder:\n  args:\n    NODE_ENV: production\n    NPM_TOKEN: ${NPM_TOKEN}'), 'NPM_TOKEN=npm-secret-999\n');
    expect(message).toBe(`stagecraft.yml:7:16: builder.args.NPM_TOKEN: uses \${NPM_TOKEN} from .stagecraft/secrets; ${WHY} — give it to the running app through env.secret, or fetch what the build needs before \`docker build\` and COPY it in`);
    expect(message).not.toContain('npm-secret-999');
  });

  it('refuses a variable that env.secret lists, even from the process environment and inside a longer value', async () => {
    const message = await problem(config('builder: { args: { AUTH: "Bearer ${API_TOKEN}" } }'));
    expect(message).toMatch(/^stagecraft\.yml:4:\d+: builder\.args\.AUTH: uses \$\{API_TOKEN\}, which env\.secret lists as a secret; /);
  });

  it.each([
    ['the registry password', 'PW: "${REGISTRY_PASSWORD}"'],
    ['a database URL', 'DB: "${DATABASE_URL}"'],
    ['a database URL’s password', 'DBPW: "${PGPW}"'],
  ])('refuses a value that is %s, wherever it came from', async (_what, arg) => {
    const message = await problem(config(`builder: { args: { ${arg} } }`), '', { ...ENV, PGPW: 'db-pass-5678' });
    expect(message).toContain('its value is a secret (a registry password, database URL or env.secret value)');
  });

  it('refuses it in an environment’s layer too, pointing at that line', async () => {
    const message = await problem(config('builder: { args: { NODE_ENV: production } }', '    builder: { args: { TOKEN: "${NPM_TOKEN}" } }\n'), 'NPM_TOKEN=npm-secret-999\n');
    expect(message).toMatch(/^stagecraft\.yml:15:\d+: environments\.prod\.builder\.args\.TOKEN: uses \$\{NPM_TOKEN\} from \.stagecraft\/secrets; /);
  });

  it('lists every offending build arg', async () => {
    const message = await problem(config('builder:\n  args:\n    A: ${NPM_TOKEN}\n    B: ${API_TOKEN}'), 'NPM_TOKEN=npm-secret-999\n');
    expect(message.split('\n')).toHaveLength(2);
  });

  it('accepts literals, variables from the environment that are not secrets, and defaults', async () => {
    const loaded = await load(
      config('builder:\n  args:\n    NODE_ENV: production\n    VERSION: ${APP_VERSION}\n    MODE: ${MODE:-fast}\n    SHADOWED: ${SHADOWED}'),
      'SHADOWED=from-file\nUNUSED=zzz\n',
      { ...ENV, APP_VERSION: '1.2.3', SHADOWED: 'from-env' },
    );
    expect(loaded.config.builder.args).toEqual({ NODE_ENV: 'production', VERSION: '1.2.3', MODE: 'fast', SHADOWED: 'from-env' });
  });
});
