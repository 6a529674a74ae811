import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../../src/errors.js';
import { HostCommandError, HostFileExistsError } from '../../../src/remote/errors.js';
import { LocalHost } from '../../../src/remote/local-host.js';

const dir = mkdtempSync(join(tmpdir(), 'sc-local-'));

describe('LocalHost', () => {
  const host = new LocalHost();

  it('is named "local"', () => {
    expect(host.name).toBe('local');
    expect(host.kind).toBe('local');
    expect(host.errorExitCode).toBe(ExitCode.rollout);
  });

  it('runs argv without a shell: arguments arrive verbatim', async () => {
    const nasty = `it's "x" $(touch ${dir}/pwned); \n ünï`;
    const result = await host.exec(['printf', '%s', nasty]);
    expect(result).toEqual({ exitCode: 0, stdout: nasty, stderr: '' });
  });

  it('separates stderr, returns exit codes and streams chunks', async () => {
    const out: string[] = [];
    const result = await host.exec(['sh', '-c', 'echo a; echo b >&2; exit 5'], { onStdout: (c) => out.push(c) });
    expect(result).toEqual({ exitCode: 5, stdout: 'a\n', stderr: 'b\n' });
    expect(out.join('')).toBe('a\n');
  });

  it('feeds stdin', async () => {
    expect((await host.exec(['cat'], { stdin: 'hello' })).stdout).toBe('hello');
  });

  it('gives 127 for a missing program, like a shell would', async () => {
    const result = await host.exec(['stagecraft-no-such-program']);
    expect(result.exitCode).toBe(127);
    expect(result.stderr).toContain('stagecraft-no-such-program');
  });

  it('reports signals as 128 + number and enforces timeouts', async () => {
    expect((await host.exec(['sh', '-c', 'kill -KILL $$'])).exitCode).toBe(137);
    await expect(host.exec(['sleep', '5'], { timeoutMs: 100 })).rejects.toThrow(HostCommandError);
    await expect(host.exec(['sleep', '5'], { timeoutMs: 100 })).rejects.toThrow('local: sleep timed out after 0.1s');
  });

  it('uploads files with the mode, exclusively when asked, and reads them back', async () => {
    const path = join(dir, 'nested', 'env');
    await host.uploadFile(path, 'A=1\n', 0o600);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'nested')).mode & 0o777).toBe(0o700);
    await host.uploadFile(path, 'A=2\n', 0o644);
    expect(readFileSync(path, 'utf8')).toBe('A=2\n');
    expect(statSync(path).mode & 0o777).toBe(0o644);
    await expect(host.uploadFile(path, 'A=3\n', 0o600, { exclusive: true })).rejects.toThrow(HostFileExistsError);
    expect((await host.readFile(path))?.toString()).toBe('A=2\n');
    await host.removeFile(path);
    expect(await host.readFile(path)).toBeUndefined();
  });

  it('creates directories with a mode', async () => {
    await host.mkdirp(join(dir, 'a', 'b'), 0o711);
    expect(statSync(join(dir, 'a', 'b')).mode & 0o777).toBe(0o711);
  });
});
