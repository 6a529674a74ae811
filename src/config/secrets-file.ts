import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import { parseDotenv } from './dotenv.js';
import type { ConfigProblem } from './errors.js';
import { displayPath } from './paths.js';

export const SECRETS_FILE = path.join('.stagecraft', 'secrets');

export interface SecretsFile {
  readonly values: ReadonlyMap<string, string>;
  readonly problems: readonly ConfigProblem[];
}

/** Reads `.stagecraft/secrets` beside the config file; a missing file is empty. */
export async function readSecretsFile(configDir: string, cwd: string): Promise<SecretsFile> {
  const absolute = path.join(configDir, SECRETS_FILE);
  const file = displayPath(absolute, cwd);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { values: new Map(), problems: [] };
    throw new UserError(`${file}: cannot read: ${(error as Error).message}`, { cause: error });
  }
  const parsed = parseDotenv(text);
  return {
    values: parsed.values,
    problems: parsed.problems.map((problem) => ({ file, line: problem.line, col: 1, message: problem.message })),
  };
}
