import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { configJsonSchema } from '../../../src/config/index.js';
import { MIGRATION_ENGINES, MIGRATION_STRATEGIES, ROLLOUT_STRATEGIES, fileSchema } from '../../../src/config/schema.js';

const COMMITTED = new URL('../../../schema/stagecraft.schema.json', import.meta.url);

type JsonObject = Record<string, unknown>;
const at = (schema: unknown, ...keys: string[]): JsonObject =>
  keys.reduce((node, key) => (node as JsonObject)[key], schema) as JsonObject;

describe('JSON Schema', () => {
  it('schema/stagecraft.schema.json is up to date (regenerate with `npm run schema`)', async () => {
    const committed = await readFile(COMMITTED, 'utf8');
    expect(committed).toBe(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  });

  it('lists the same top-level keys as the zod schema, and the same required ones', () => {
    const json = configJsonSchema();
    expect(Object.keys(at(json, 'properties'))).toEqual(Object.keys(fileSchema.shape));
    expect(json.required).toEqual(['service', 'image', 'environments']);
    expect(json.additionalProperties).toBe(false);
    expect(json.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
  });

  it('has the same enumerations as the zod schema, at the top level and in environments', () => {
    const json = configJsonSchema();
    const environment = at(json, 'properties', 'environments', 'additionalProperties', 'properties');
    for (const root of [at(json, 'properties'), environment]) {
      expect(at(root, 'rollout', 'properties', 'strategy').enum).toEqual([...ROLLOUT_STRATEGIES]);
      const migrations = at(root, 'databases', 'additionalProperties', 'properties', 'migrations', 'properties');
      expect(at(migrations, 'engine').enum).toEqual([...MIGRATION_ENGINES]);
      expect(at(migrations, 'strategy').enum).toEqual([...MIGRATION_STRATEGIES]);
    }
    expect(at(json, 'properties', 'environments', 'additionalProperties').required).toEqual(['hosts']);
  });

  it('shows defaults and duration patterns', () => {
    const proxy = at(configJsonSchema(), 'properties', 'proxy', 'properties');
    expect(at(proxy, 'image').default).toBe('nginx:stable');
    expect(at(proxy, 'port').default).toBe(80);
    const pattern = new RegExp(at(proxy, 'drain_timeout').pattern as string);
    expect(['5s', '1m30s', '500ms'].every((text) => pattern.test(text))).toBe(true);
    expect(['5', '5 s', '30s1m'].some((text) => pattern.test(text))).toBe(false);
  });
});

describe('zod file schema on sample configs', () => {
  const host = { address: '10.0.0.1', roles: ['primary'] };
  it.each([
    ['minimal', { service: 'web', image: 'acme/web', environments: { prod: { hosts: [host] } } }],
    [
      'partial sections completed by an environment',
      {
        service: 'web',
        image: 'acme/web',
        registry: { username: 'u' },
        databases: { main: { migrations: { engine: 'knex' } } },
        environments: { prod: { hosts: [host], registry: { server: 'r' }, databases: { main: { url: 'postgres://x' } } } },
      },
    ],
  ])('accepts %s', (_name, sample) => {
    expect(fileSchema.safeParse(sample).success).toBe(true);
  });

  it.each([
    ['an unknown key', { service: 'web', image: 'acme/web', colour: 'red', environments: { prod: { hosts: [host] } } }],
    ['no environments', { service: 'web', image: 'acme/web', environments: {} }],
    ['a host list that is empty', { service: 'web', image: 'acme/web', environments: { prod: { hosts: [] } } }],
    ['a bad strategy', { service: 'web', image: 'acme/web', rollout: { strategy: 'blue-green' }, environments: { prod: { hosts: [host] } } }],
    ['a tagged image', { service: 'web', image: 'acme/web:1', environments: { prod: { hosts: [host] } } }],
  ])('rejects %s', (_name, sample) => {
    expect(fileSchema.safeParse(sample).success).toBe(false);
  });
});
