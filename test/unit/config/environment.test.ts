import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/index.js';
import { HEAD, PROD, load, yaml } from './helpers.js';

const TWO = yaml(
  ...HEAD,
  'environments:',
  '  prod:',
  '    hosts: [{ address: p, roles: [primary] }]',
  '  staging:',
  '    hosts: [{ address: s, roles: [primary] }]',
);

describe('choosing the environment', () => {
  it('uses the only environment when none is asked for', async () => {
    expect((await load(yaml(...HEAD, ...PROD))).environment).toBe('prod');
  });

  it('uses the one asked for', async () => {
    const loaded = await load(TWO, { env: 'staging' });
    expect(loaded.environment).toBe('staging');
    expect(loaded.config.hosts[0]?.address).toBe('s');
  });

  it('rejects an unknown environment, suggesting the nearest', async () => {
    const attempt = load(TWO, { env: 'prdo' });
    await expect(attempt).rejects.toThrow('stagecraft.yml:3:1: unknown environment "prdo" (did you mean "prod"?) — environments: prod, staging');
    await expect(load(TWO, { env: 'qa' })).rejects.toThrow('stagecraft.yml:3:1: unknown environment "qa" — environments: prod, staging');
    await expect(load(yaml(...HEAD, ...PROD), { env: 'staging' })).rejects.toThrow(
      'stagecraft.yml:3:1: unknown environment "staging" — environments: prod',
    );
  });

  it('asks for --env when several are defined', async () => {
    await expect(load(TWO)).rejects.toThrow(
      'stagecraft.yml defines several environments: prod, staging — choose one with --env NAME (or STAGECRAFT_ENV)',
    );
  });

  it('is located at the environments key (exit 1)', async () => {
    const error = await load(yaml(...HEAD, 'retain: 2', ...PROD), { env: 'nope' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect([(error as ConfigError).file, (error as ConfigError).line, (error as ConfigError).col]).toEqual(['stagecraft.yml', 4, 1]);
    expect((error as ConfigError).exitCode).toBe(1);
  });
});
