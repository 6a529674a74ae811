import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';

/** Which environment a command acts on: the one typed wins over STAGECRAFT_ENV, wherever it is typed. */
const bin = fileURLToPath(new URL('../../../bin/stagecraft.js', import.meta.url));
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sc-env-precedence-'));
  await writeFile(
    join(dir, 'stagecraft.yml'),
    ['service: web', 'image: acme/web', 'environments:', '  staging:', '    hosts: [{ address: local, roles: [primary, web] }]', '  prod:', '    hosts: [{ address: local, roles: [primary, web] }]', ''].join('\n'),
  );
});

async function environmentOf(args: string[], STAGECRAFT_ENV?: string): Promise<string> {
  const result = await execa('node', [bin, ...args], { cwd: dir, reject: false, env: { STAGECRAFT_ENV, NO_COLOR: '1' } });
  expect(result.exitCode, result.stderr).toBe(0);
  return /resolved for environment "([^"]+)"/.exec(result.stdout)?.[1] ?? `(no header in ${result.stdout.slice(0, 80)})`;
}

describe('--env and STAGECRAFT_ENV', () => {
  it.each([
    { name: '--env after the command beats STAGECRAFT_ENV', args: ['config', '--env', 'prod'], variable: 'staging', expected: 'prod' },
    { name: '--env before the command beats STAGECRAFT_ENV', args: ['--env', 'prod', 'config'], variable: 'staging', expected: 'prod' },
    { name: 'STAGECRAFT_ENV alone is used', args: ['config'], variable: 'prod', expected: 'prod' },
    { name: '--env after the command beats --env before it', args: ['--env', 'staging', 'config', '--env', 'prod'], variable: undefined, expected: 'prod' },
  ])('$name', async ({ args, variable, expected }) => {
    expect(await environmentOf(args, variable)).toBe(expected);
  });
});
