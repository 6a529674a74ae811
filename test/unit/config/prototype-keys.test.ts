import { describe, expect, it } from 'vitest';
import { mergeEnvironment } from '../../../src/config/merge.js';
import { redact } from '../../../src/config/redact.js';
import { HEAD, PROD, load, loadErrors, yaml } from './helpers.js';

/**
 * Keys named like Object.prototype members are ordinary keys: they never reach a prototype, never
 * read one, and merges treat them like any other key. (`__proto__` itself is refused in the file.)
 */
describe('keys named like prototype members', () => {
  it('constructor and toString in builder.args merge like any other key', async () => {
    const loaded = await load(
      yaml(...HEAD, 'builder:', '  args: { constructor: a, toString: b }', ...PROD, '    builder: { args: { OTHER: c } }'),
    );
    expect(loaded.config.builder.args).toEqual({ constructor: 'a', toString: 'b', OTHER: 'c' });
  });

  it('an environment overriding only constructor keeps the other keys', async () => {
    const loaded = await load(
      yaml(...HEAD, 'env:', '  clear: { A: "1" }', ...PROD, '    env: { clear: { constructor: "2", hasOwnProperty: "3" } }'),
    );
    expect(loaded.config.env.clear).toEqual({ A: '1', constructor: '2', hasOwnProperty: '3' });
  });

  it('an environment named constructor is an environment like any other', async () => {
    const text = yaml(...HEAD, 'environments:', '  constructor:', '    hosts: [{ address: c, roles: [primary] }]');
    expect((await load(text, { env: 'constructor' })).config.hosts[0]?.address).toBe('c');
    await expect(load(text, { env: 'toString' })).rejects.toThrow(/unknown environment "toString"/);
  });

  it('${constructor} and ${__proto__} are unset variables, not Object.prototype members', async () => {
    const errors = await loadErrors(yaml(...HEAD, 'builder: { args: { A: "${constructor}", B: "${__proto__}" } }', ...PROD));
    expect(errors).toEqual([
      'stagecraft.yml:3:23: builder.args.A: variable "constructor" is not set (export it or add it to .stagecraft/secrets, or give a default: ${constructor:-value})',
      'stagecraft.yml:3:44: builder.args.B: variable "__proto__" is not set (export it or add it to .stagecraft/secrets, or give a default: ${__proto__:-value})',
    ]);
  });

  it('a secret named __proto__ is passed on, not dropped', async () => {
    const loaded = await load(yaml(...HEAD, 'env: { secret: [__proto__] }', ...PROD), { secrets: '__proto__=s3cret\n' });
    expect(Object.entries(loaded.secretEnv)).toEqual([['__proto__', 's3cret']]);
  });

  it('merging never assigns onto a prototype, even given an own __proto__ key', () => {
    const tree = JSON.parse(
      '{"ssh":{"user":"a"},"environments":{"prod":{"hosts":[],"ssh":{"__proto__":{"strict_host_key_checking":false}}}}}',
    ) as Record<string, unknown>;
    const { merged } = mergeEnvironment(tree, 'prod');
    const ssh = merged.ssh as Record<string, unknown>;
    expect(ssh.strict_host_key_checking).toBeUndefined();
    expect(Object.keys(ssh).sort()).toEqual(['__proto__', 'user']);
    expect(({} as Record<string, unknown>).strict_host_key_checking).toBeUndefined();
  });

  it('redacting never assigns onto a prototype', () => {
    const value = JSON.parse('{"a":{"__proto__":{"password":"x"}}}') as unknown;
    const copy = redact(value, []) as { a: Record<string, unknown> };
    expect(copy.a.password).toBeUndefined();
    expect(Object.keys(copy.a)).toEqual(['__proto__']);
  });
});
