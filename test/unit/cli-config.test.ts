import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { runConfigSchema, runConfigShow } from '../../src/cli/commands/config.js';
import { captureStdout, tempProject } from './config/helpers.js';

const SECRETS = ['registry-secret-1', 'postgres://app:dbpass99@db:5432/app', 'dbpass99', 'api-key-xyz'];
const output = captureStdout();
let dir: string;

beforeAll(async () => {
  dir = await tempProject({
    'stagecraft.yml': [
      'service: web',
      'image: registry.example.com/acme/web',
      'registry: { server: registry.example.com, username: deploy, password: "${REGISTRY_PASSWORD}" }',
      'env: { clear: { MODE: production }, secret: [API_KEY] }',
      'databases:',
      '  main: { url: "${DATABASE_URL}", migrations: { engine: raw, path: db } }',
      'environments:',
      '  prod:',
      '    hosts: [{ address: 10.0.0.1, roles: [primary, web] }]',
      '',
    ].join('\n'),
    '.stagecraft/secrets': `REGISTRY_PASSWORD=${SECRETS[0]}\nDATABASE_URL=${SECRETS[1]}\nAPI_KEY=${SECRETS[3]}\n`,
  });
});

describe('stagecraft config', () => {
  it('--json prints exactly the redacted resolved config as JSON', async () => {
    await runConfigShow({ config: 'stagecraft.yml', env: 'prod', json: true, cwd: dir });
    const parsed = JSON.parse(output()) as Record<string, unknown>;
    expect(output()).toBe(`${JSON.stringify(parsed, null, 2)}\n`);
    expect(parsed).toMatchObject({
      service: 'web',
      registry: { server: 'registry.example.com', username: 'deploy', password: '[REDACTED]' },
      env: { clear: { MODE: 'production' }, secret: ['API_KEY'] },
      databases: { main: { url: '[REDACTED]' } },
      hosts: [{ address: '10.0.0.1', roles: ['primary', 'web'] }],
      require_approval: false,
    });
    for (const secret of SECRETS) expect(output()).not.toContain(secret);
  });

  it('prints YAML with a header naming the environment, secrets redacted', async () => {
    await runConfigShow({ config: 'stagecraft.yml', json: false, cwd: dir });
    const [header, ...rest] = output().split('\n');
    expect(header).toBe('# stagecraft.yml resolved for environment "prod" (defaults applied, secrets redacted)');
    const parsed = parse(rest.join('\n')) as { registry: { password: string }; proxy: { image: string } };
    expect(parsed.registry.password).toBe('[REDACTED]');
    expect(parsed.proxy.image).toBe('nginx:stable');
    for (const secret of SECRETS) expect(output()).not.toContain(secret);
  });

  it('schema prints the committed JSON Schema', async () => {
    await runConfigSchema();
    const committed = await readFile(new URL('../../schema/stagecraft.schema.json', import.meta.url), 'utf8');
    expect(output()).toBe(committed);
  });
});
