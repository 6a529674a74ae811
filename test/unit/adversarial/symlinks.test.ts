import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { pendingPhases, type NewRelease } from '../../../src/releases/record.js';
import { ReleaseStore } from '../../../src/releases/store.js';

/**
 * A cloned repository can plant symbolic links where stagecraft writes: dangling ones (writing
 * would create a file outside the project) and ones to a real file (writing would change it).
 * stagecraft must refuse each with exit 1 naming the link and its target, and the target must be
 * exactly as before (or still absent). init runs as the built CLI; the release store directly.
 */
const bin = fileURLToPath(new URL('../../../bin/stagecraft.js', import.meta.url));
const created: string[] = [];

afterAll(async () => {
  await Promise.all(created.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** A project folder and, beside it, an "outside" folder the planted links point into. */
async function setup(): Promise<{ project: string; outside: string }> {
  return { project: await tempDir('sc-adv-project-'), outside: await tempDir('sc-adv-outside-') };
}

async function runCli(cwd: string, args: string[]) {
  const result = await execa(process.execPath, [bin, ...args], { cwd, reject: false, env: { CI: 'true' }, extendEnv: true, stdin: 'ignore' });
  return { code: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

async function fingerprint(file: string): Promise<string | undefined> {
  try {
    const info = await stat(file);
    if (info.isDirectory()) return `dir ${(await readdir(file)).sort().join(',')}`;
    return `${(info.mode & 0o777).toString(8)} ${await readFile(file, 'utf8')}`;
  } catch {
    return undefined; // absent
  }
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('stagecraft init never writes through a symbolic link', () => {
  const cases: { name: string; link: string; dangling: boolean; args: string[]; before?: Record<string, string> }[] = [
    { name: 'dangling stagecraft.yml', link: 'stagecraft.yml', dangling: true, args: ['init'] },
    { name: 'stagecraft.yml linked to a real file, --force', link: 'stagecraft.yml', dangling: false, args: ['init', '--force'] },
    { name: 'dangling .stagecraft/secrets', link: '.stagecraft/secrets', dangling: true, args: ['init'] },
    { name: '.stagecraft/secrets linked to a real file, --force', link: '.stagecraft/secrets', dangling: false, args: ['init', '--force'] },
    { name: 'dangling .gitignore', link: '.gitignore', dangling: true, args: ['init'] },
    { name: '.gitignore linked to a real file', link: '.gitignore', dangling: false, args: ['init'] },
    { name: '.gitignore linked to a real file, --force over a project', link: '.gitignore', dangling: false, args: ['init', '--force'], before: { 'stagecraft.yml': 'service: mine\n' } },
    { name: 'dangling .stagecraft folder', link: '.stagecraft', dangling: true, args: ['init'] },
    { name: '.stagecraft linked to a real folder', link: '.stagecraft', dangling: false, args: ['init'] },
  ];

  it.each(cases)('$name → exit 1 naming the link and its target; the target is unchanged', async ({ link, dangling, args, before }) => {
    const { project, outside } = await setup();
    for (const [name, content] of Object.entries(before ?? {})) await writeFile(join(project, name), content);
    const isFolder = link === '.stagecraft';
    const target = join(outside, isFolder ? 'folder' : 'victim');
    if (!dangling) {
      if (isFolder) await mkdir(target);
      else {
        await writeFile(target, 'precious: do not touch\n');
        await chmod(target, 0o644);
      }
    }
    await mkdir(join(project, '.stagecraft'), { recursive: true });
    if (isFolder) await rm(join(project, '.stagecraft'), { recursive: true });
    await symlink(target, join(project, link));
    const targetBefore = await fingerprint(target);
    const projectBefore = await readdir(project);

    const result = await runCli(project, args);

    expect(result.stderr).toMatch(new RegExp(`${escape(link)} is a symbolic link to "${escape(target)}"${dangling ? ', which does not exist' : ''}; stagecraft never writes through a link`));
    expect(result.code).toBe(1);
    expect(result.stderr).not.toMatch(/\n\s+at .*\.js:\d+/);
    expect(await fingerprint(target)).toBe(targetBefore);
    expect(await readdir(project)).toEqual(projectBefore); // nothing written, not even stagecraft.yml
    if (before?.['stagecraft.yml'] !== undefined) expect(await readFile(join(project, 'stagecraft.yml'), 'utf8')).toBe(before['stagecraft.yml']);
  });

  it('still writes a normal project, and --force replaces stagecraft.yml keeping its mode', async () => {
    const { project } = await setup();
    expect((await runCli(project, ['init'])).code).toBe(0);
    await chmod(join(project, 'stagecraft.yml'), 0o640);
    await writeFile(join(project, 'stagecraft.yml'), 'edited\n');
    await writeFile(join(project, '.stagecraft/secrets'), 'TOKEN=real\n');
    expect((await runCli(project, ['init', '--force'])).code).toBe(0);
    expect(await readFile(join(project, 'stagecraft.yml'), 'utf8')).toMatch(/^# stagecraft\.yml/);
    expect((await stat(join(project, 'stagecraft.yml'))).mode & 0o777).toBe(0o640);
    expect(await readFile(join(project, '.stagecraft/secrets'), 'utf8')).toBe('TOKEN=real\n');
    expect((await stat(join(project, '.stagecraft/secrets'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(project, '.gitignore'), 'utf8')).toBe('.stagecraft/secrets\n');
    expect((await readdir(project)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });
});

const VALID_STORE = `${JSON.stringify({ version: 1, releases: [] }, null, 2)}\n`;

const RELEASE: NewRelease = {
  environment: 'prod',
  service: 'shop',
  version: 'abc1234',
  image: { ref: '127.0.0.1:5000/acme/shop:abc1234' },
  actor: 'alice@laptop',
  started_at: '2026-11-22T09:30:12.345Z',
  status: 'running',
  kind: 'deploy',
  phases: pendingPhases(),
  hosts: [],
  migrations: [],
};

describe('the release store never reads or writes through a symbolic link', () => {
  const cases: { name: string; link: 'releases.json' | 'releases.json.lock' | '.stagecraft'; dangling: boolean; shown: string }[] = [
    { name: 'dangling releases.json', link: 'releases.json', dangling: true, shown: '.stagecraft/releases.json' },
    { name: 'releases.json linked to a real store', link: 'releases.json', dangling: false, shown: '.stagecraft/releases.json' },
    { name: 'dangling releases.json.lock', link: 'releases.json.lock', dangling: true, shown: '.stagecraft/releases.json.lock' },
    { name: 'releases.json.lock linked to a real file', link: 'releases.json.lock', dangling: false, shown: '.stagecraft/releases.json.lock' },
    { name: 'dangling .stagecraft folder', link: '.stagecraft', dangling: true, shown: '.stagecraft' },
    { name: '.stagecraft linked to a real folder', link: '.stagecraft', dangling: false, shown: '.stagecraft' },
  ];

  it.each(cases)('append with $name → refused (exit 1) naming the link; the target is unchanged', async ({ link, dangling, shown }) => {
    const { project, outside } = await setup();
    const isFolder = link === '.stagecraft';
    const target = join(outside, isFolder ? 'folder' : 'victim');
    if (!dangling) {
      if (isFolder) await mkdir(target);
      else await writeFile(target, VALID_STORE);
    }
    if (!isFolder) await mkdir(join(project, '.stagecraft'));
    await symlink(target, isFolder ? join(project, '.stagecraft') : join(project, '.stagecraft', link));
    const before = await fingerprint(target);
    const store = new ReleaseStore(join(project, '.stagecraft/releases.json'), { displayPath: '.stagecraft/releases.json', lock: { timeoutMs: 300 } });

    const error = await store.append(RELEASE).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).exitCode).toBe(1);
    expect((error as Error).message).toContain(`${shown} is a symbolic link to "${target}"`);
    expect(await fingerprint(target)).toBe(before);
  });

  it('`releases list` refuses a releases.json linked to a file outside the project', async () => {
    const { project, outside } = await setup();
    await writeFile(join(outside, 'store.json'), VALID_STORE);
    await mkdir(join(project, '.stagecraft'));
    await symlink(join(outside, 'store.json'), join(project, '.stagecraft/releases.json'));
    const result = await runCli(project, ['releases', 'list']);
    expect(result.stderr).toContain(`.stagecraft/releases.json is a symbolic link to "${join(outside, 'store.json')}"`);
    expect(result.code).toBe(1);
  });

  it('a normal store still appends, leaving no temp or lock files', async () => {
    const { project } = await setup();
    const store = new ReleaseStore(join(project, '.stagecraft/releases.json'));
    const stored = await store.append(RELEASE);
    expect(await store.get(stored.id)).toEqual(stored);
    expect(await readdir(join(project, '.stagecraft'))).toEqual(['releases.json']);
  });
});
