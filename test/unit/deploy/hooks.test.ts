import { mkdtemp, mkdir, writeFile, readFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runHook, hookEnv, type HookContext } from '../../../src/hooks/run-hook.js';
import { ExitCode, UserError } from '../../../src/errors.js';

const context: HookContext = { service: 'hello', environment: 'prod', version: 'abc1234', releaseId: 'rel-20261122-100000000', hosts: ['10.0.0.1', '10.0.0.2'], command: 'deploy' };

async function project(hooks: Record<string, { body: string; mode: number }>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sc-hooks-'));
  await mkdir(join(dir, '.stagecraft/hooks'), { recursive: true });
  for (const [name, hook] of Object.entries(hooks)) {
    await writeFile(join(dir, '.stagecraft/hooks', name), hook.body);
    await chmod(join(dir, '.stagecraft/hooks', name), hook.mode);
  }
  return dir;
}

describe('hooks', () => {
  it('exposes the deploy facts as STAGECRAFT_* variables', () => {
    expect(hookEnv(context)).toEqual({
      STAGECRAFT_SERVICE: 'hello',
      STAGECRAFT_ENV: 'prod',
      STAGECRAFT_VERSION: 'abc1234',
      STAGECRAFT_RELEASE_ID: 'rel-20261122-100000000',
      STAGECRAFT_HOSTS: '10.0.0.1,10.0.0.2',
      STAGECRAFT_COMMAND: 'deploy',
    });
  });

  it('runs an executable hook with those variables and streams its output', async () => {
    const dir = await project({ 'pre-deploy': { body: '#!/bin/sh\necho "$STAGECRAFT_SERVICE $STAGECRAFT_ENV $STAGECRAFT_HOSTS" > ran.txt\necho done\n', mode: 0o755 } });
    const lines: string[] = [];
    expect(await runHook(dir, '.stagecraft/hooks', 'pre-deploy', context, (l) => lines.push(l))).toBe(true);
    expect(await readFile(join(dir, 'ran.txt'), 'utf8')).toBe('hello prod 10.0.0.1,10.0.0.2\n');
    expect(lines).toEqual(['done']);
  });

  it('hands over whole lines, also when a line arrives in two pieces (so redaction sees all of it)', async () => {
    const dir = await project({ 'pre-deploy': { body: "#!/bin/sh\nprintf 'token=abc'\nsleep 0.3\nprintf 'def\\nlast without newline'\n", mode: 0o755 } });
    const lines: string[] = [];
    await runHook(dir, '.stagecraft/hooks', 'pre-deploy', context, (l) => lines.push(l));
    expect(lines).toEqual(['token=abcdef', 'last without newline']);
  });

  it('is a no-op when the hook is not installed', async () => {
    const dir = await project({ 'pre-build.sample': { body: '#!/bin/sh\nexit 1\n', mode: 0o755 } });
    expect(await runHook(dir, '.stagecraft/hooks', 'pre-build', context, () => {})).toBe(false);
  });

  it('aborts with exit 1 naming the hook when it fails', async () => {
    const dir = await project({ 'pre-build': { body: '#!/bin/sh\necho nope >&2\nexit 7\n', mode: 0o755 } });
    const error = await runHook(dir, '.stagecraft/hooks', 'pre-build', context, () => {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).exitCode).toBe(ExitCode.user);
    expect((error as UserError).message).toMatch(/^pre-build hook failed \(exit 7\): .*pre-build$/);
  });

  it('refuses a hook that exists but is not executable', async () => {
    const dir = await project({ 'post-deploy': { body: '#!/bin/sh\n', mode: 0o644 } });
    await expect(runHook(dir, '.stagecraft/hooks', 'post-deploy', context, () => {})).rejects.toThrow(/exists but is not executable/);
  });
});
