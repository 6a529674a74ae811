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

export function buildArgv(spec: BuildSpec): string[] {
  const context = resolve(spec.baseDir, spec.context);
  const argv = ['build', '--file', resolve(spec.baseDir, spec.dockerfile), '--tag', spec.imageRef];
  for (const [key, value] of Object.entries(spec.args)) argv.push('--build-arg', `${key}=${value}`);
  for (const [key, value] of Object.entries(spec.labels)) argv.push('--label', `${key}=${value}`);
  if (spec.target) argv.push('--target', spec.target);
  argv.push(context);
  return argv;
}

/** Builds the image with the local docker CLI; output lines go to `onLine`. */
export async function buildImage(spec: BuildSpec, onLine: (line: string) => void, env?: NodeJS.ProcessEnv): Promise<void> {
  const child = execa('docker', buildArgv(spec), {
    env: { ...(env ?? process.env), DOCKER_BUILDKIT: '0' },
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
