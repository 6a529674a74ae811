import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

export interface RegistryLogin {
  server: string;
  username: string;
  password: string;
}

/**
 * Runs `fn` with a throw-away DOCKER_CONFIG holding only this registry's credentials,
 * so the user's ~/.docker is never read or written and the password never reaches argv.
 */
export async function withRegistryLogin<T>(login: RegistryLogin | undefined, fn: (env: NodeJS.ProcessEnv) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'stagecraft-docker-'));
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: dir, DOCKER_BUILDKIT: '0' };
  try {
    if (login) {
      const result = await execa('docker', ['login', login.server, '--username', login.username, '--password-stdin'], {
        env,
        input: login.password,
        reject: false,
        all: true,
      });
      if (result.exitCode !== 0) {
        throw new DockerCliError(`docker login ${login.server} failed: ${lastLines(String(result.all ?? ''), 5)}`);
      }
    }
    return await fn(env);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export class DockerCliError extends Error {}

export function lastLines(text: string, count: number): string {
  return text.trim().split('\n').slice(-count).join('\n');
}
