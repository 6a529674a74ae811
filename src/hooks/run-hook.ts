import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { execa } from 'execa';
import { UserError } from '../errors.js';

export type HookName = 'pre-build' | 'pre-deploy' | 'post-deploy';

export interface HookContext {
  service: string;
  environment: string;
  version: string;
  releaseId: string;
  hosts: readonly string[];
  command: 'deploy' | 'rollback';
}

export function hookEnv(context: HookContext): Record<string, string> {
  return {
    STAGECRAFT_SERVICE: context.service,
    STAGECRAFT_ENV: context.environment,
    STAGECRAFT_VERSION: context.version,
    STAGECRAFT_RELEASE_ID: context.releaseId,
    STAGECRAFT_HOSTS: context.hosts.join(','),
    STAGECRAFT_COMMAND: context.command,
  };
}

/** Path of a hook if one is installed; a present but non-executable hook is an error, not a silent skip. */
export async function findHook(hooksDir: string, name: HookName): Promise<string | undefined> {
  const path = join(hooksDir, name);
  const info = await stat(path).catch(() => undefined);
  if (!info) return undefined;
  if (!info.isFile()) throw new UserError(`hook ${path} is not a file`);
  try {
    await access(path, constants.X_OK);
  } catch {
    throw new UserError(`hook ${path} exists but is not executable`, { hint: `chmod +x ${path}` });
  }
  return path;
}

/** Runs a local hook; a non-zero exit aborts the command (exit 1). Returns false when no hook is installed. */
export async function runHook(
  baseDir: string,
  hooksPath: string,
  name: HookName,
  context: HookContext,
  onLine: (line: string) => void,
): Promise<boolean> {
  const path = await findHook(resolve(baseDir, hooksPath), name);
  if (!path) return false;
  const child = execa(path, [], { cwd: baseDir, env: hookEnv(context), reject: false, all: true, stdin: 'ignore' });
  // Whole lines only: a line that arrives in two chunks must reach onLine (and its redaction) in one piece.
  const decoder = new StringDecoder('utf8');
  let pending = '';
  child.all?.on('data', (chunk: Buffer) => {
    const lines = (pending + decoder.write(chunk)).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) onLine(line);
  });
  const result = await child;
  pending += decoder.end();
  if (pending.trim()) onLine(pending);
  if (result.exitCode !== 0) {
    const why = result.exitCode === undefined ? result.message : `exit ${result.exitCode}`;
    throw new UserError(`${name} hook failed (${why}): ${path}`, { hint: `${context.command} aborted before anything changed` });
  }
  return true;
}
