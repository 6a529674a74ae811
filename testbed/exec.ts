import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';

/** A failure the testbed explains itself: printed as a message, never as a stack trace. */
export class TestbedError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message);
    this.name = 'TestbedError';
  }
}

export interface RunOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Return the result instead of throwing when the command exits non-zero. */
  allowFailure?: boolean;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export async function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const result = await execa(command, args, {
    input: options.input ?? '',
    env: options.env,
    extendEnv: options.env === undefined,
    cwd: options.cwd,
    reject: false,
    stripFinalNewline: true,
  });
  const outcome: RunResult = {
    exitCode: result.exitCode ?? (result.failed ? 1 : 0),
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
  };
  if (result.failed && result.exitCode === undefined) {
    // Not started at all (missing binary, ...): always an error.
    throw new TestbedError(`could not run ${command}: ${result.shortMessage}`);
  }
  if (outcome.exitCode !== 0 && !options.allowFailure) {
    const detail = lastLines(outcome.stderr || outcome.stdout, 8);
    throw new TestbedError(`${command} ${args.join(' ')} exited with ${outcome.exitCode}${detail ? `:\n${detail}` : ''}`);
  }
  return outcome;
}

export function lastLines(text: string, count: number): string {
  return text.trim().split('\n').slice(-count).join('\n');
}

/** Environment for the docker CLI talking to one engine, without the user's contexts or config. */
export function dockerEnv(dockerHost: string, dockerConfigDir?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: dockerHost, DOCKER_BUILDKIT: '0', DOCKER_CLI_HINTS: 'false' };
  delete env.DOCKER_CONTEXT;
  delete env.DOCKER_TLS_VERIFY;
  delete env.DOCKER_CERT_PATH;
  if (dockerConfigDir) env.DOCKER_CONFIG = dockerConfigDir;
  return env;
}

const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Absolute path of a program (sshd must be started by absolute path; PATH may lack /usr/sbin). */
export function binary(name: string): string {
  const dirs = [...(process.env.PATH ?? '').split(':').filter((dir) => dir.startsWith('/')), ...SYSTEM_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  throw new TestbedError(`${name} not found in PATH or ${SYSTEM_DIRS.join(', ')}`);
}

/** Daemons and `ip`/`iptables` live in sbin dirs that a non-login PATH may lack. */
export function ensureSystemPath(): void {
  const current = (process.env.PATH ?? '').split(':').filter((dir) => dir !== '');
  const missing = SYSTEM_DIRS.filter((dir) => !current.includes(dir));
  if (missing.length > 0) process.env.PATH = [...current, ...missing].join(':');
}
