import { resolve } from 'node:path';
import { execa } from 'execa';
import { ExitCode, StagecraftError } from '../errors.js';
import { lastLines } from './docker-cli.js';

export interface BuildSpec {
  /** Absolute directory the config lives in; context and dockerfile resolve against it. */
  baseDir: string;
  context: string;
  dockerfile: string;
  args: Readonly<Record<string, string>>;
  target?: string | undefined;
  imageRef: string;
  labels: Readonly<Record<string, string>>;
}

/**
 * Names the docker CLI itself reads from its environment (or that change how any program runs):
 * a build arg with such a name cannot travel in the environment without changing what docker does,
 * so its value goes in argv as `NAME=value` (config values are never secrets there: see
 * src/config/build-args.ts, which refuses build args that carry a secret).
 */
const CLI_ENV_NAME = /^(?:DOCKER_.*|BUILDKIT_.*|PATH|HOME|TMPDIR|USER|SHELL|LD_.*|SSH_.*|(?:HTTPS?|NO|ALL|FTP)_PROXY)$/i;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface BuildInvocation {
  argv: string[];
  /**
   * Build-arg values, for the docker CLI's environment: `--build-arg NAME` without a value makes
   * docker read NAME from there, so values stay out of argv (which `ps` shows to every local user).
   */
  env: Record<string, string>;
}

/** The `docker build` command line and the environment that carries the build-arg values. */
export function buildInvocation(spec: BuildSpec): BuildInvocation {
  const context = resolve(spec.baseDir, spec.context);
  const argv = ['build', '--file', resolve(spec.baseDir, spec.dockerfile), '--tag', spec.imageRef];
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(spec.args)) {
    if (ENV_NAME.test(key) && !CLI_ENV_NAME.test(key)) {
      argv.push('--build-arg', key);
      env[key] = value;
    } else {
      argv.push('--build-arg', `${key}=${value}`);
    }
  }
  for (const [key, value] of Object.entries(spec.labels)) argv.push('--label', `${key}=${value}`);
  if (spec.target) argv.push('--target', spec.target);
  argv.push(context);
  return { argv, env };
}

/** Builds the image with the local docker CLI; output lines go to `onLine`. */
export async function buildImage(spec: BuildSpec, onLine: (line: string) => void, env?: NodeJS.ProcessEnv): Promise<void> {
  const invocation = buildInvocation(spec);
  const child = execa('docker', invocation.argv, {
    env: { ...(env ?? process.env), ...invocation.env, DOCKER_BUILDKIT: '0' },
    reject: false,
    all: true,
    lines: false,
  });
  let output = '';
  child.all?.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    output += text;
    if (output.length > 200_000) output = output.slice(-100_000);
    for (const line of text.split('\n')) if (line.trim()) onLine(line);
  });
  const result = await child;
  if (result.exitCode !== 0) {
    const reason = result.failed && result.exitCode === undefined ? String(result.message) : lastLines(output, 15);
    throw new StagecraftError(`docker build of ${spec.imageRef} failed (exit ${result.exitCode ?? '?'}):\n${reason}`, ExitCode.build, {
      hint: 'fix the Dockerfile or build context, then deploy again; nothing was pushed or changed on any host',
    });
  }
}
