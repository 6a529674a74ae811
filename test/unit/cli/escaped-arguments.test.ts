import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';

/** An argument with escape codes or line breaks never reaches the terminal raw, whoever rejects it. */
const bin = fileURLToPath(new URL('../../../bin/stagecraft.js', import.meta.url));
const HOSTILE = 'x\u001b[2J\u001b]0;owned\u0007\nerror: fake line';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sc-escaped-args-'));
  await writeFile(
    join(dir, 'stagecraft.yml'),
    ['service: web', 'image: acme/web', 'databases:', '  main: { url: "postgres://u:p@db/app", migrations: { engine: raw, path: db } }', 'environments:', '  prod:', '    hosts: [{ address: local, roles: [primary, web] }]', ''].join('\n'),
  );
});

describe('hostile arguments in error messages', () => {
  it.each([
    { name: 'an unknown option (commander)', args: ['config', `--${HOSTILE}`] },
    { name: 'an unknown command (commander)', args: [HOSTILE] },
    { name: 'an unknown environment', args: ['config', '--env', HOSTILE] },
    { name: 'an unknown database', args: ['migrate', 'validate', '--env', 'prod', '--database', HOSTILE] },
  ])('$name: exit 1, escape codes shown escaped, one line', async ({ args }) => {
    const result = await execa('node', [bin, ...args], { cwd: dir, reject: false, env: { NO_COLOR: '1' } });
    expect(result.exitCode).toBe(1);
    // eslint-disable-next-line no-control-regex
    expect(result.stderr).not.toMatch(/[\u001b\u0007]/);
    expect(result.stderr).toContain('\\u001b[2J');
    expect(result.stderr.split('\n').filter((line) => line.startsWith('error: fake line'))).toEqual([]);
  });
});
