import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runInit } from '../../../src/cli/commands/init.js';
import { loadConfig } from '../../../src/config/index.js';
import { serviceNameFor } from '../../../src/config/template.js';
import { UserError } from '../../../src/errors.js';
import { captureStdout, tempProject } from './helpers.js';

const output = captureStdout();

const read = (dir: string, name: string): Promise<string> => readFile(path.join(dir, name), 'utf8');

describe('stagecraft init', () => {
  it('writes a config that loads once its secrets are set, a 0600 secrets file and a .gitignore entry', async () => {
    const dir = path.join(await tempProject(), 'My App!');
    await mkdir(dir);
    await runInit({ force: false, cwd: dir });

    const loaded = await loadConfig({
      path: 'stagecraft.yml',
      cwd: dir,
      processEnv: { REGISTRY_PASSWORD: 'pw', DATABASE_URL: 'postgres://app:pw@db/app' },
    });
    expect(loaded.environment).toBe('staging');
    expect(loaded.config.service).toBe('my-app');
    expect(loaded.config.hosts).toEqual([{ address: 'local', roles: ['primary', 'web'] }]);
    expect(loaded.secretEnv).toEqual({ DATABASE_URL: 'postgres://app:pw@db/app' });

    expect((await stat(path.join(dir, '.stagecraft/secrets'))).mode & 0o777).toBe(0o600);
    expect(await read(dir, '.gitignore')).toBe('.stagecraft/secrets\n');
    expect(output()).toBe('wrote stagecraft.yml\nwrote .stagecraft/secrets (mode 0600)\nadded .stagecraft/secrets to .gitignore\n');
  });

  it('without its secrets, the template fails naming the missing variables', async () => {
    const dir = await tempProject();
    await runInit({ force: false, cwd: dir });
    await expect(loadConfig({ path: 'stagecraft.yml', cwd: dir, processEnv: {} })).rejects.toThrow(/variable "DATABASE_URL" is not set/);
  });

  it('appends to an existing .gitignore once, without duplicating the line', async () => {
    const dir = await tempProject({ '.gitignore': 'node_modules/' });
    await runInit({ force: false, cwd: dir });
    expect(await read(dir, '.gitignore')).toBe('node_modules/\n.stagecraft/secrets\n');
    await runInit({ force: true, cwd: dir });
    expect(await read(dir, '.gitignore')).toBe('node_modules/\n.stagecraft/secrets\n');
    expect(output()).toContain('.gitignore already ignores .stagecraft/secrets');
  });

  it.each([
    ['stagecraft.yml', { 'stagecraft.yml': 'mine' }, 'stagecraft.yml already exists; nothing written'],
    ['.stagecraft/secrets', { '.stagecraft/secrets': 'TOKEN=real' }, '.stagecraft/secrets already exists; nothing written'],
    [
      'both',
      { 'stagecraft.yml': 'mine', '.stagecraft/secrets': 'TOKEN=real' },
      'stagecraft.yml and .stagecraft/secrets already exist; nothing written',
    ],
  ])('refuses when %s exists, writing nothing', async (_name, files, message) => {
    const dir = await tempProject(files);
    const error = await runInit({ force: false, cwd: dir }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toBe(message);
    expect((error as UserError).exitCode).toBe(1);
    for (const [name, content] of Object.entries(files)) expect(await read(dir, name)).toBe(content);
    await expect(stat(path.join(dir, '.gitignore'))).rejects.toThrow();
    if (!('stagecraft.yml' in files)) await expect(stat(path.join(dir, 'stagecraft.yml'))).rejects.toThrow();
    if (!('.stagecraft/secrets' in files)) await expect(stat(path.join(dir, '.stagecraft/secrets'))).rejects.toThrow();
  });

  it('--force overwrites stagecraft.yml but keeps real secrets, tightening their mode', async () => {
    const dir = await tempProject({ 'stagecraft.yml': 'mine', '.stagecraft/secrets': 'TOKEN=real\n' });
    await chmod(path.join(dir, '.stagecraft/secrets'), 0o644);
    await runInit({ force: true, cwd: dir });
    expect(await read(dir, 'stagecraft.yml')).toContain('service: ');
    expect(await read(dir, '.stagecraft/secrets')).toBe('TOKEN=real\n');
    expect((await stat(path.join(dir, '.stagecraft/secrets'))).mode & 0o777).toBe(0o600);
    expect(output()).toContain('kept existing .stagecraft/secrets (mode 0600)');
  });

  it('writes beside a config path in another directory', async () => {
    const dir = await tempProject();
    await runInit({ force: false, cwd: dir, config: 'deploy/stagecraft.yml' });
    expect(await read(dir, 'deploy/.gitignore')).toBe('.stagecraft/secrets\n');
    expect((await stat(path.join(dir, 'deploy/.stagecraft/secrets'))).isFile()).toBe(true);
  });

  it.each([
    ['/srv/hello', 'hello'],
    ['/srv/My App!', 'my-app'],
    ['/srv/__x__', 'x__'],
    ['/srv/!!!', 'app'],
  ])('derives a valid service name from %s', (dir, name) => {
    expect(serviceNameFor(dir)).toBe(name);
  });
});
