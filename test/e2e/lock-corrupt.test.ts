/**
 * A deploy lock file that is not a lock record (planted over SSH on a real testbed host) is
 * reported as corrupt by every command that reads it, through the real built CLI: nothing hangs
 * (not even with --lock-wait), nothing prints undefined or NaN, `lock release` removes it with a
 * warning, and `deploy --dry-run` does not need the lock at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { readTestbedState, sshArgv } from './helpers/testbed-state.js';
import type { TestbedState } from './helpers/testbed-state.js';
import { MigrateProject, uniqueService } from './helpers/migrate-project.js';
import type { CliResult } from './helpers/migrate-project.js';

const HOST = '10.201.0.12';
/** Every command must answer well within this (a hang fails the test instead of blocking it). */
const BOUND_MS = 20_000;

describe('corrupt deploy lock files', () => {
  let state: TestbedState;
  let project: MigrateProject;
  let lockPath: string;

  beforeAll(async () => {
    state = readTestbedState();
    project = await MigrateProject.create({ service: uniqueService('corruptlock'), proxyPort: 8360, app: 'raw-sql', hosts: [HOST], databases: {} }, state);
    lockPath = `.stagecraft/locks/${project.service}-e2e.json`;
  });

  afterAll(async () => {
    if (lockPath) await onHost(`rm -rf ${lockPath}`).catch(() => undefined);
    await project?.cleanup();
  });

  /** Runs a fixed shell line on the host (`~` is the testbed user's home there). */
  async function onHost(script: string, input?: Buffer): Promise<string> {
    const host = state.hosts.find((h) => h.address === HOST)!;
    const result = await execa('ssh', [...sshArgv(state, host), script], { input: input ?? Buffer.alloc(0), reject: false });
    if (result.exitCode !== 0) throw new Error(`ssh ${script}: exit ${result.exitCode}: ${String(result.stderr)}`);
    return String(result.stdout);
  }

  async function plant(content: Buffer | 'directory'): Promise<void> {
    await onHost(`mkdir -p .stagecraft/locks && rm -rf ${lockPath}`);
    if (content === 'directory') await onHost(`mkdir ${lockPath} && touch ${lockPath}/keep`);
    else await onHost(`cat > ${lockPath}`, content);
  }

  function corruptAt(): string {
    return `the deploy lock file ~/${lockPath} on ${HOST} is corrupt`;
  }

  async function lockFileOnHost(): Promise<string> {
    return onHost(`if [ -d ${lockPath} ]; then echo directory; elif [ -e ${lockPath} ]; then base64 -w0 ${lockPath}; else echo gone; fi`);
  }

  /** The real CLI, killed if it outlives BOUND_MS; also reports how long it took. */
  async function cli(...args: string[]): Promise<CliResult & { ms: number }> {
    const started = Date.now();
    const child = project.start(args);
    const killer = setTimeout(() => child.kill('SIGKILL'), BOUND_MS);
    const result = await child.finally(() => clearTimeout(killer));
    return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr), ms: Date.now() - started };
  }

  const cases: [string, Buffer | 'directory', RegExp][] = [
    ['null', Buffer.from('null\n'), /it holds null, not a lock record/],
    ['0', Buffer.from('0'), /it holds the number 0, not a lock record/],
    ['false', Buffer.from('false\n'), /it holds the boolean false, not a lock record/],
    ['{}', Buffer.from('{}\n'), /not a lock record: service is missing, environment is missing, actor is missing, acquired_at is missing/],
    ['[]', Buffer.from('[]'), /it holds an empty array, not a lock record/],
    ['truncated JSON', Buffer.from('{"service":"x","environment":"e2e","actor":"al'), /it is not valid JSON \(/],
    ['binary garbage', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0xfe, 0x1a]), /it is not text \(8 bytes of binary data\)/],
    ['an empty file', Buffer.alloc(0), /the file is empty/],
    ['a directory', 'directory', /it cannot be read \(.*Is a directory/],
  ];

  it.each(cases)('%s at the lock path: status exit 1, acquire --lock-wait refuses (exit 2) at once, release removes it (a directory: exit 1, left alone)', async (_name, content, reason) => {
    await plant(content);
    const planted = await lockFileOnHost();

    const status = await cli('lock', 'status');
    expect(status.exitCode, status.stderr).toBe(1);
    expect(status.stderr).toContain(corruptAt());
    expect(status.stderr).toMatch(reason);
    expect(status.stderr).toContain('stagecraft lock release --env e2e');

    // --lock-wait must not wait for a holder that does not exist.
    const acquire = await cli('lock', 'acquire', '-m', 'maintenance', '--lock-wait', '10m');
    expect(acquire.exitCode, acquire.stderr).toBe(2);
    expect(acquire.stderr).toContain(corruptAt());
    expect(acquire.stderr).toMatch(reason);

    for (const result of [status, acquire]) expect(`${result.stdout}${result.stderr}`).not.toMatch(/undefined|NaN/);
    expect(await lockFileOnHost(), 'status and acquire leave the file as it was').toBe(planted);

    const release = await cli('lock', 'release');
    if (content === 'directory') {
      // A directory is not stagecraft's to delete recursively: say so, and leave it.
      expect(release.exitCode, release.stderr).toBe(1);
      expect(release.stderr).toContain('could not be removed');
      expect(release.stderr).toContain(`remove ~/${lockPath} on ${HOST} by hand`);
      expect(await lockFileOnHost()).toBe('directory');
    } else {
      expect(release.exitCode, release.stderr).toBe(0);
      expect(release.stderr).toContain(`warning: removed a corrupt deploy lock file ~/${lockPath} on ${HOST}`);
      expect(release.stdout).toContain('released (the lock file was corrupt)');
      expect(await lockFileOnHost()).toBe('gone');
    }
  });

  it('`null` (which made acquire spin forever): --json status, deploy refused at once, deploy --dry-run needs no lock; after release the lock works again', async () => {
    await plant(Buffer.from('null'));
    const statusJson = await cli('lock', 'status', '--json');
    expect(statusJson.exitCode).toBe(1);
    expect(JSON.parse(statusJson.stdout)).toEqual({ locked: true, holder: null, corrupt: 'it holds null, not a lock record' });

    const deploy = await cli('deploy', '--version', 'v1', '--lock-wait', '10m');
    expect(deploy.exitCode, deploy.stderr).toBe(2);
    expect(deploy.stderr).toContain(corruptAt());

    const dryRun = await cli('deploy', '--dry-run', '--version', 'v1');
    expect(dryRun.exitCode, dryRun.stderr).toBe(0);
    expect(await lockFileOnHost()).toBe(Buffer.from('null').toString('base64'));

    expect((await cli('lock', 'release')).exitCode).toBe(0);
    expect((await cli('lock', 'acquire', '-m', 'after')).exitCode).toBe(0);
    expect((await cli('lock', 'status')).stdout).toMatch(/locked, held by .* message: "after"/);
    expect((await cli('lock', 'release')).exitCode).toBe(0);
    expect(await lockFileOnHost()).toBe('gone');
  });
});
