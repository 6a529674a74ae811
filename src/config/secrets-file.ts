import path from 'node:path';
import { parseDotenv } from './dotenv.js';
import type { ConfigProblem } from './errors.js';
import { displayPath } from './paths.js';
import { readInputFile } from './read-input.js';
import { escapeControls } from '../user-text.js';

export const SECRETS_FILE = path.join('.stagecraft', 'secrets');

export interface SecretsFile {
  readonly values: ReadonlyMap<string, string>;
  readonly problems: readonly ConfigProblem[];
  /** Set when group or others may read the file (as ssh warns about private keys). */
  readonly warning?: string;
}

/** Reads `.stagecraft/secrets` beside the config file; a missing file is empty. */
export async function readSecretsFile(configDir: string, cwd: string): Promise<SecretsFile> {
  const absolute = path.join(configDir, SECRETS_FILE);
  const file = displayPath(absolute, cwd);
  const input = await readInputFile(absolute, file);
  if (input === undefined) return { values: new Map(), problems: [] };
  const parsed = parseDotenv(input.text);
  const permissions = input.mode & 0o777;
  const readableByOthers = process.platform !== 'win32' && (permissions & 0o044) !== 0;
  const warning = readableByOthers
    ? `${escapeControls(file)} is readable by others (mode ${permissions.toString(8).padStart(4, '0')}): run chmod 600 ${escapeControls(file)}`
    : undefined;
  return {
    values: parsed.values,
    problems: parsed.problems.map((problem) => ({ file, line: problem.line, col: 1, message: problem.message })),
    ...(warning === undefined ? {} : { warning }),
  };
}
