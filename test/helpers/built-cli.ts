import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

/** The built CLI (the unit project's globalSetup builds dist/ when it is stale). */
export const STAGECRAFT_BIN = fileURLToPath(new URL('../../bin/stagecraft.js', import.meta.url));

export interface CliRun {
  code: number | undefined;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI in `cwd` with `env` over a CI environment, stdin closed; never throws for an exit code. */
export async function runBuiltCli(args: readonly string[], options: { cwd: string; env?: Record<string, string | undefined>; timeoutMs?: number }): Promise<CliRun> {
  const result = await execa(process.execPath, [STAGECRAFT_BIN, ...args], {
    cwd: options.cwd,
    reject: false,
    env: { CI: 'true', ...options.env },
    stdin: 'ignore',
    timeout: options.timeoutMs ?? 60_000,
  });
  return { code: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** Writes `files` (paths relative to `dir`, parents created) with their contents. */
export async function writeTree(dir: string, files: Record<string, string>): Promise<void> {
  for (const [relative, content] of Object.entries(files)) {
    const file = path.join(dir, relative);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
  }
}
