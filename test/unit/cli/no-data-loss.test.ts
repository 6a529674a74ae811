import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

/**
 * Commands a user can get wrong must fail with a clear message and a documented exit code,
 * never a stack trace, and leave .stagecraft/ exactly as it was. Runs the built CLI.
 */
const bin = fileURLToPath(new URL('../../../bin/stagecraft.js', import.meta.url));

const GOOD_CONFIG = `service: shop
image: 127.0.0.1:5000/acme/shop
env:
  secret: [API_TOKEN]
environments:
  prod:
    hosts:
      - { address: 127.0.0.1, roles: [primary, web] }
`;

const RELEASE = {
  id: 'rel-20261122-093012345',
  environment: 'prod',
  service: 'shop',
  version: 'abc1234',
  image: { ref: '127.0.0.1:5000/acme/shop:abc1234', digest: `sha256:${'a'.repeat(64)}` },
  actor: 'alice@laptop',
  started_at: '2026-11-22T09:30:12.345Z',
  finished_at: '2026-11-22T09:31:00.000Z',
  status: 'completed',
  kind: 'deploy',
  phases: Object.fromEntries(['build', 'push', 'migrate_pre', 'rollout', 'migrate_post', 'finalize'].map((p) => [p, { status: 'completed' }])),
  hosts: [{ address: '127.0.0.1', status: 'completed', container: 'shop-web-abc1234' }],
  migrations: [],
};

async function snapshot(dir: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  async function walk(path: string): Promise<void> {
    for (const entry of await readdir(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) await walk(full);
      else {
        const info = await stat(full);
        result[relative(dir, full)] = `${(info.mode & 0o777).toString(8)} ${createHash('sha256').update(await readFile(full)).digest('hex')}`;
      }
    }
  }
  await walk(join(dir, '.stagecraft'));
  return result;
}

async function project(config: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sc-noloss-'));
  await mkdir(join(dir, '.stagecraft/hooks'), { recursive: true });
  await writeFile(join(dir, 'stagecraft.yml'), config);
  await writeFile(join(dir, '.stagecraft/secrets'), 'API_TOKEN=tok-very-secret-123\n', { mode: 0o600 });
  await writeFile(join(dir, '.stagecraft/releases.json'), `${JSON.stringify({ version: 1, releases: [RELEASE] }, null, 2)}\n`);
  await writeFile(join(dir, '.stagecraft/hooks/pre-deploy'), '#!/bin/sh\nexit 0\n');
  await chmod(join(dir, '.stagecraft/hooks/pre-deploy'), 0o755);
  return dir;
}

async function run(dir: string, args: string[]) {
  const result = await execa(process.execPath, [bin, ...args], { cwd: dir, reject: false, env: { STAGECRAFT_ENV: '', CI: 'true' }, extendEnv: true, stdin: 'ignore' });
  return { code: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

describe('bad input never loses data', () => {
  const cases: { name: string; config?: string; args: string[]; code: number; stderr: RegExp }[] = [
    { name: 'unknown key in config', config: GOOD_CONFIG.replace('env:', 'evn:'), args: ['deploy', '--env', 'prod'], code: 1, stderr: /^stagecraft\.yml:3:1: unknown key "evn".*did you mean "env"/m },
    { name: 'YAML syntax error', config: 'service: [shop\n', args: ['config', '--env', 'prod'], code: 1, stderr: /^stagecraft\.yml:\d+:\d+: /m },
    { name: 'unknown environment', args: ['deploy', '--env', 'prdo', '--dry-run'], code: 1, stderr: /unknown environment "prdo".*prod/ },
    { name: 'rollback with nothing to go back to', args: ['rollback', '--env', 'prod', '--to', 'previous'], code: 1, stderr: /no previous completed release/ },
    { name: 'missing variable', config: GOOD_CONFIG.replace('image: 127.0.0.1:5000/acme/shop', 'image: ${IMAGE_REPO}'), args: ['deploy', '--env', 'prod', '--dry-run'], code: 1, stderr: /^stagecraft\.yml:2:8: .*IMAGE_REPO/m },
    { name: 'unknown release id', args: ['releases', 'show', 'rel-20990101-000000000'], code: 1, stderr: /unknown release "rel-20990101-000000000"/ },
    { name: 'rollback to an unknown id', args: ['rollback', '--env', 'prod', '--to', 'rel-nope', '--dry-run'], code: 1, stderr: /unknown release "rel-nope"/ },
    { name: 'init over an existing project', args: ['init'], code: 1, stderr: /stagecraft\.yml and \.stagecraft\/secrets already exist; nothing written/ },
    { name: 'bad --lock-wait', args: ['deploy', '--env', 'prod', '--lock-wait', 'soon', '--version', 'v1'], code: 1, stderr: /--lock-wait "soon" is not a duration/ },
    { name: 'bad --version tag', args: ['deploy', '--env', 'prod', '--version', '../x', '--dry-run'], code: 1, stderr: /not a valid image tag/ },
    { name: 'unknown option', args: ['deploy', '--env', 'prod', '--dryrun'], code: 1, stderr: /unknown option '--dryrun'/ },
    { name: 'require_approval without a terminal or --yes', config: GOOD_CONFIG.replace('  prod:\n', '  prod:\n    require_approval: true\n'), args: ['deploy', '--env', 'prod', '--version', 'v1'], code: 2, stderr: /prod requires approval and there is no terminal to ask/ },
    { name: 'missing config file', args: ['config', '--env', 'prod', '-c', 'nope.yml'], code: 1, stderr: /nope\.yml.*not found/ },
  ];

  it.each(cases)('$name → exit $code, clear message, .stagecraft/ untouched', async ({ config, args, code, stderr }) => {
    const dir = await project(config ?? GOOD_CONFIG);
    const before = await snapshot(dir);
    const result = await run(dir, args);
    expect(result.stderr).toMatch(stderr);
    expect(result.code).toBe(code);
    expect(result.stderr).not.toMatch(/\n\s+at .*\.js:\d+/); // no stack trace
    expect(`${result.stdout}${result.stderr}`).not.toContain('tok-very-secret-123');
    expect(await snapshot(dir)).toEqual(before);
  });

  it('a corrupt release store is reported and never overwritten', async () => {
    const dir = await project(GOOD_CONFIG);
    await writeFile(join(dir, '.stagecraft/releases.json'), '{"version": 1, "releases": [');
    const before = await snapshot(dir);
    for (const args of [['releases', 'list'], ['rollback', '--env', 'prod', '--to', 'previous']]) {
      const result = await run(dir, args);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/releases\.json.*not valid JSON/);
    }
    expect(await snapshot(dir)).toEqual(before);
  });
});
