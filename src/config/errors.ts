import { UserError } from '../errors.js';
import { escapeControls } from '../user-text.js';

/** One problem in a user's file, reported as `file:line:col: message`. */
export interface ConfigProblem {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

export function formatProblem(problem: ConfigProblem): string {
  return `${escapeControls(problem.file)}:${problem.line}:${problem.col}: ${escapeControls(problem.message)}`;
}

/** Sorts by file, then position, and drops exact duplicates (two validation passes may see one mistake). */
function sortProblems(problems: readonly ConfigProblem[]): ConfigProblem[] {
  const unique = new Map<string, ConfigProblem>();
  for (const problem of problems) unique.set(formatProblem(problem), problem);
  return [...unique.values()].sort(
    (a, b) =>
      a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col || a.message.localeCompare(b.message),
  );
}

/**
 * A located error in a user's file. The message is one `file:line:col: message` line per problem,
 * so it is printed as is (no `error: ` prefix); `file`, `line` and `col` are those of the first problem.
 */
export class ConfigError extends UserError {
  readonly located = true;
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly problems: readonly ConfigProblem[];

  constructor(problems: ConfigProblem | readonly ConfigProblem[], options: { hint?: string; cause?: unknown } = {}) {
    const list = sortProblems(Array.isArray(problems) ? problems : [problems as ConfigProblem]);
    const first = list[0];
    if (first === undefined) throw new TypeError('ConfigError needs at least one problem');
    super(list.map(formatProblem).join('\n'), options);
    this.file = first.file;
    this.line = first.line;
    this.col = first.col;
    this.problems = Object.freeze(list);
  }
}
