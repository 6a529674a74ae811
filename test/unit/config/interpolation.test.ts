import { describe, expect, it } from 'vitest';
import { InterpolationError, checkInterpolationSyntax, interpolate } from '../../../src/config/interpolate.js';
import { HEAD, PROD, load, loadErrors, yaml } from './helpers.js';

const vars: Record<string, string> = { A: 'alpha', B: 'beta', EMPTY: '' };
const lookup = (name: string): string | undefined => vars[name];

describe('interpolate', () => {
  it.each([
    ['no variables', 'plain text', 'plain text'],
    ['a variable', 'x-${A}-y', 'x-alpha-y'],
    ['two variables', '${A}${B}', 'alphabeta'],
    ['$$ is a literal $', 'cost: $$5', 'cost: $5'],
    ['$$ before a brace is not a variable', '$${A}', '${A}'],
    ['$ followed by something else is literal', 'a$b $ $1 $A', 'a$b $ $1 $A'],
    ['$ at the end is literal', 'price$', 'price$'],
    ['default when unset', '${NOPE:-fallback}', 'fallback'],
    ['default when empty', '${EMPTY:-fallback}', 'fallback'],
    ['no default when set', '${A:-fallback}', 'alpha'],
    ['empty default', '[${NOPE:-}]', '[]'],
    ['nested default', '${NOPE:-${B}}', 'beta'],
    ['doubly nested default', '${NOPE:-${NADA:-deep}}', 'deep'],
    ['default with text around a nested variable', '${NOPE:-x${A}y}z', 'xalphayz'],
    ['$$ inside a default', '${NOPE:-$$HOME}', '$HOME'],
    ['a set variable skips its default, even one naming a missing variable', '${A:-${MISSING}}', 'alpha'],
    ['a closing brace outside an expression is literal', 'a}b', 'a}b'],
    ['a default may contain a colon and dashes', '${NOPE:-http://h:80/a-b}', 'http://h:80/a-b'],
  ])('%s', (_name, template, expected) => {
    expect(interpolate(template, lookup)).toBe(expected);
  });

  it.each([
    ['missing variable', 'x${MISSING}', 'variable "MISSING" is not set (export it or add it to .stagecraft/secrets, or give a default: ${MISSING:-value})'],
    ['missing variable inside a used default', '${NOPE:-${MISSING}}', 'variable "MISSING" is not set'],
    ['unterminated', 'x${A', 'unterminated "${" in "${A" (close it with "}", or write "$$" for a literal "$")'],
    ['unterminated default', '${NOPE:-abc', 'unterminated "${" in "${NOPE:-abc"'],
    ['unterminated nested default', '${NOPE:-${B}', 'unterminated "${" in "${NOPE:-${B}"'],
    ['empty name', '${}', 'empty variable name in "${}"'],
    ['invalid name', '${1ABC}', 'invalid variable name "1ABC" in "${1ABC}"'],
    ['shell-only form', '${A-x}', 'invalid variable name "A-x" in "${A-x}"'],
    ['unsupported operator', '${A:?required}', 'unsupported expression "${A:?…": use ${A} or ${A:-default}'],
  ])('rejects: %s', (_name, template, message) => {
    expect(() => interpolate(template, lookup)).toThrow(InterpolationError);
    expect(() => interpolate(template, lookup)).toThrow(message);
  });

  it('checks syntax without looking anything up', () => {
    expect(() => checkInterpolationSyntax('${ANYTHING} ${ELSE:-x}')).not.toThrow();
    expect(() => checkInterpolationSyntax('${BROKEN')).toThrow('unterminated');
  });
});

describe('variables in stagecraft.yml', () => {
  const registry = (server: string): string =>
    yaml(...HEAD, 'registry:', `  server: ${server}`, '  password: ${REGISTRY_PASSWORD}', ...PROD);

  it('takes a variable from the environment before the secrets file', async () => {
    const loaded = await load(registry('${HOST}'), {
      processEnv: { HOST: 'env.example.com', REGISTRY_PASSWORD: 'env-pass' },
      secrets: 'HOST=file.example.com\nREGISTRY_PASSWORD=file-pass\n',
    });
    expect(loaded.config.registry).toEqual({ server: 'env.example.com', password: 'env-pass' });
  });

  it('falls back to the secrets file', async () => {
    const loaded = await load(registry('${HOST}'), {
      processEnv: { HOST: 'env.example.com' },
      secrets: '# registry\nexport REGISTRY_PASSWORD="p@ss word"\n',
    });
    expect(loaded.config.registry?.password).toBe('p@ss word');
  });

  it('an empty environment variable counts as set', async () => {
    const loaded = await load(registry('r.example.com'), { processEnv: { REGISTRY_PASSWORD: '' }, secrets: 'REGISTRY_PASSWORD=file\n' });
    expect(loaded.config.registry?.password).toBe('');
  });

  it('reports secrets file syntax errors at their line, with every config problem', async () => {
    const errors = await loadErrors(registry('${HOST}'), {
      processEnv: { REGISTRY_PASSWORD: 'x' },
      secrets: 'GOOD=1\nthis line is wrong\n1BAD=2\nQUOTED="unterminated\n',
    });
    expect(errors).toEqual([
      '.stagecraft/secrets:2:1: expected KEY=value',
      '.stagecraft/secrets:3:1: invalid variable name before "=" (letters, digits and _, not starting with a digit)',
      '.stagecraft/secrets:4:1: QUOTED: unterminated double quote (values are one line: write line breaks as \\n inside double quotes)',
      'stagecraft.yml:4:11: registry.server: variable "HOST" is not set (export it or add it to .stagecraft/secrets, or give a default: ${HOST:-value})',
    ]);
  });

  it('turns an unquoted ${...} into a number or boolean where the schema wants one', async () => {
    const loaded = await load(yaml(...HEAD, 'ssh:', '  port: ${SSH_PORT:-22}', '  strict_host_key_checking: ${STRICT}', ...PROD), {
      processEnv: { SSH_PORT: '2222', STRICT: 'false' },
    });
    expect(loaded.config.ssh.port).toBe(2222);
    expect(loaded.config.ssh.strict_host_key_checking).toBe(false);
  });

  it('keeps a quoted ${...} a string, and says so when a number was expected', async () => {
    const errors = await loadErrors(yaml(...HEAD, 'ssh:', '  port: "${SSH_PORT}"', ...PROD), { processEnv: { SSH_PORT: '2222' } });
    expect(errors).toEqual([
      'stagecraft.yml:4:9: ssh.port: expected an integer, got a string (a quoted "${...}" stays a string: write it unquoted to get a number or true/false)',
    ]);
  });

  it('reports a missing variable alone, not also the type of the unexpanded text', async () => {
    expect(await loadErrors(yaml(...HEAD, 'ssh:', '  port: ${SSH_PORT}', ...PROD, '    proxy: { port: "${PROXY_PORT}" }'))).toEqual([
      'stagecraft.yml:4:9: ssh.port: variable "SSH_PORT" is not set (export it or add it to .stagecraft/secrets, or give a default: ${SSH_PORT:-value})',
      'stagecraft.yml:9:20: environments.prod.proxy.port: variable "PROXY_PORT" is not set (export it or add it to .stagecraft/secrets, or give a default: ${PROXY_PORT:-value})',
    ]);
  });

  it('does not turn a numeric variable into a number in a string field', async () => {
    const loaded = await load(registry('${HOST}'), { processEnv: { HOST: '10', REGISTRY_PASSWORD: '123456' } });
    expect(loaded.config.registry).toEqual({ server: '10', password: '123456' });
  });

  it('expands only the top level and the chosen environment, but checks the syntax of the others', async () => {
    const text = yaml(
      ...HEAD,
      'environments:',
      '  staging:',
      '    hosts: [{ address: "${STAGING_HOST}", roles: [primary] }]',
      '    ssh: { port: "${STAGING_PORT}" }',
      '  prod:',
      '    hosts: [{ address: "${PROD_HOST}", roles: [primary] }]',
    );
    const loaded = await load(text, { env: 'prod', processEnv: { PROD_HOST: 'p.example.com' } });
    expect(loaded.config.hosts[0]?.address).toBe('p.example.com');

    const broken = text.replace('${STAGING_HOST}', '${STAGING_HOST');
    expect(await loadErrors(broken, { env: 'prod', processEnv: { PROD_HOST: 'p.example.com' } })).toEqual([
      'stagecraft.yml:5:24: environments.staging.hosts[0].address: unterminated "${" in "${STAGING_HOST" (close it with "}", or write "$$" for a literal "$")',
    ]);
  });

  it('expands values reached through an alias once per use', async () => {
    const loaded = await load(
      yaml(...HEAD, 'env:', '  clear: &vars', '    PRICE: "$$5"', '    HOME_DIR: "${HOME_DIR}"', 'builder:', '  args: *vars', ...PROD),
      { processEnv: { HOME_DIR: '/srv' } },
    );
    expect(loaded.config.env.clear).toEqual({ PRICE: '$5', HOME_DIR: '/srv' });
    expect(loaded.config.builder.args).toEqual({ PRICE: '$5', HOME_DIR: '/srv' });
  });

  it('reads env.secret values into secretEnv', async () => {
    const loaded = await load(yaml(...HEAD, 'env:', '  secret: [API_KEY, DB_PASS]', ...PROD), {
      processEnv: { API_KEY: 'from-env' },
      secrets: 'DB_PASS=from-file\n',
    });
    expect(loaded.secretEnv).toEqual({ API_KEY: 'from-env', DB_PASS: 'from-file' });
  });
});
