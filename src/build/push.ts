import { execa } from 'execa';
import { ExitCode, StagecraftError } from '../errors.js';
import { lastLines } from './docker-cli.js';

/** Pushes `imageRef` (credentials come from the DOCKER_CONFIG in `env`) and returns the pushed digest. */
export async function pushImage(imageRef: string, env: NodeJS.ProcessEnv, onLine: (line: string) => void): Promise<string> {
  const result = await execa('docker', ['push', imageRef], { env, reject: false, all: true });
  const output = String(result.all ?? '');
  for (const line of output.split('\n')) if (line.trim()) onLine(line);
  if (result.exitCode !== 0) {
    throw new StagecraftError(`docker push ${imageRef} failed:\n${lastLines(output, 8)}`, ExitCode.build, {
      hint: 'check registry.server and the registry credentials; nothing was changed on any host',
    });
  }
  const digest = parsePushedDigest(output);
  if (!digest) throw new StagecraftError(`docker push ${imageRef} printed no digest`, ExitCode.build);
  return digest;
}

export function parsePushedDigest(output: string): string | undefined {
  const match = /digest: (sha256:[0-9a-f]{64})/.exec(output);
  return match?.[1];
}
