import { chmod } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runConfigShow } from '../../../src/cli/commands/config.js';
import { loadConfig } from '../../../src/config/index.js';
import { HEAD, PROD, tempProject, yaml } from './helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/** Loads `text` (with a secrets file of `mode` if given) and returns the warning lines written to stderr. */
async function warningsOf(text: string, options: { mode?: number; env?: string } = {}): Promise<string[]> {
  const files: Record<string, string> = { 'stagecraft.yml': text };
  if (options.mode !== undefined) files['.stagecraft/secrets'] = 'TOKEN=t0ken-value\n';
  const dir = await tempProject(files);
  if (options.mode !== undefined) await chmod(path.join(dir, '.stagecraft/secrets'), options.mode);
  let stderr = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  await loadConfig({ path: 'stagecraft.yml', cwd: dir, environment: options.env, processEnv: {} });
  vi.restoreAllMocks();
  return stderr === '' ? [] : stderr.trimEnd().split('\n');
}

describe('warnings on stderr', () => {
  it('a secrets file readable by group or others gets one warning naming it, its mode and chmod 600', async () => {
    expect(await warningsOf(yaml(...HEAD, ...PROD), { mode: 0o644 })).toEqual([
      'warning: .stagecraft/secrets is readable by others (mode 0644): run chmod 600 .stagecraft/secrets',
    ]);
    expect(await warningsOf(yaml(...HEAD, ...PROD), { mode: 0o640 })).toEqual([
      'warning: .stagecraft/secrets is readable by others (mode 0640): run chmod 600 .stagecraft/secrets',
    ]);
    expect(await warningsOf(yaml(...HEAD, ...PROD), { mode: 0o600 })).toEqual([]);
    expect(await warningsOf(yaml(...HEAD, ...PROD), { mode: 0o400 })).toEqual([]);
  });

  it('strict_host_key_checking false in effect for the chosen environment gets one warning at its position', async () => {
    const text = yaml(
      ...HEAD,
      'environments:',
      '  prod:',
      '    hosts: [{ address: 10.0.0.1, roles: [primary] }]',
      '    ssh: { strict_host_key_checking: false }',
      '  staging:',
      '    hosts: [{ address: 10.0.0.2, roles: [primary] }]',
      '  laptop:',
      '    hosts: [{ address: local, roles: [primary] }]',
      '    ssh: { strict_host_key_checking: false }',
    );
    expect(await warningsOf(text, { env: 'prod' })).toEqual([
      'warning: stagecraft.yml:6:38: ssh.strict_host_key_checking is false for environment "prod": host keys are not verified, so anyone on the network path can impersonate your servers',
    ]);
    expect(await warningsOf(text, { env: 'staging' })).toEqual([]);
    // Only the local Docker engine: no SSH, nothing to verify.
    expect(await warningsOf(text, { env: 'laptop' })).toEqual([]);
  });

  it('config --json keeps stdout to the JSON document; the warnings go to stderr', async () => {
    const dir = await tempProject({
      'stagecraft.yml': yaml(...HEAD, 'ssh: { strict_host_key_checking: false }', ...PROD),
      '.stagecraft/secrets': 'TOKEN=x\n',
    });
    await chmod(path.join(dir, '.stagecraft/secrets'), 0o604);
    let stdout = '';
    let stderr = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout += String(chunk);
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    });
    await runConfigShow({ config: 'stagecraft.yml', env: 'prod', json: true, cwd: dir });
    vi.restoreAllMocks();
    expect((JSON.parse(stdout) as { ssh: { strict_host_key_checking: boolean } }).ssh.strict_host_key_checking).toBe(false);
    expect(stderr.trimEnd().split('\n')).toEqual([
      'warning: .stagecraft/secrets is readable by others (mode 0604): run chmod 600 .stagecraft/secrets',
      'warning: stagecraft.yml:3:34: ssh.strict_host_key_checking is false for environment "prod": host keys are not verified, so anyone on the network path can impersonate your servers',
    ]);
  });
});
