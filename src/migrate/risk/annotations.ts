/**
 * `-- stagecraft:allow RULE reason` annotations. On its own line directly above a statement (other
 * comment lines may sit between), it accepts that statement's RULE finding; in the comment block
 * at the top of the file, separated from the first statement by an empty line, it accepts RULE
 * for the whole file. The reason is required: it is what the release records.
 *
 * Comments are found without lexing SQL: the parser gives each statement's span, and between two
 * statements there can only be whitespace, semicolons and comments.
 */
import { closestMatch } from '../../config/suggest.js';
import { printableText } from '../../user-text.js';
import { lineOf } from '../raw/sql-statements.js';
import { RULE_IDS } from './rules.js';

export const ALLOW_PREFIX = 'stagecraft:allow';

export interface Allow {
  rule: string;
  reason: string;
  line: number;
}

export interface Annotations {
  /** Allows for the whole file. */
  file: Allow[];
  /** Allows by statement index. */
  statements: Map<number, Allow[]>;
  /** Malformed or misplaced annotations: `path:line: message`. */
  problems: string[];
}

interface Comment {
  text: string;
  startLine: number;
  endLine: number;
  /** Nothing but whitespace before it on its line. */
  ownLine: boolean;
}

interface Span {
  offset: number;
  end: number;
}

/** Comments in `sql` between `from` and `to`, a stretch the parser says holds no statement. */
function commentsBetween(sql: string, from: number, to: number): Comment[] {
  const comments: Comment[] = [];
  let i = from;
  while (i < to) {
    const start = i;
    if (sql.startsWith('--', i)) {
      const newline = sql.indexOf('\n', i);
      i = newline === -1 || newline > to ? to : newline;
    } else if (sql.startsWith('/*', i)) {
      // Block comments nest in PostgreSQL.
      let depth = 0;
      while (i < to) {
        if (sql.startsWith('/*', i)) {
          depth++;
          i += 2;
        } else if (sql.startsWith('*/', i)) {
          depth--;
          i += 2;
          if (depth === 0) break;
        } else i++;
      }
    } else {
      i++;
      continue;
    }
    const lineStart = sql.lastIndexOf('\n', start - 1) + 1;
    comments.push({
      text: sql.slice(start, i),
      startLine: lineOf(sql, start),
      endLine: lineOf(sql, i),
      ownLine: sql.slice(lineStart, start).trim() === '',
    });
  }
  return comments;
}

type Parsed = { allow: Omit<Allow, 'line'> } | { problem: string } | undefined;

/** The allow in a `--` comment, a problem if it is malformed, or undefined for any other comment. */
function parseAllow(comment: string): Parsed {
  if (!comment.startsWith('--')) return undefined;
  const words = comment.slice(2).trim().split(/\s+/);
  if (words[0] !== ALLOW_PREFIX) return undefined;
  const rule = words[1];
  const usage = `-- ${ALLOW_PREFIX} RULE reason`;
  if (rule === undefined || rule === '') return { problem: `${usage}: the annotation names no rule` };
  if (!RULE_IDS.includes(rule)) {
    const match = closestMatch(rule, RULE_IDS);
    return { problem: `${usage}: unknown rule ${printableText(rule)}${match ? ` (did you mean ${match}?)` : ''}` };
  }
  const reason = words.slice(2).join(' ');
  if (reason === '') return { problem: `${usage}: ${rule} needs a reason (why it is safe here); the release records it` };
  return { allow: { rule, reason } };
}

/** The annotations of a parsed file; `statements` are the parser's spans, in order. */
export function readAnnotations(path: string, sql: string, statements: readonly Span[]): Annotations {
  const result: Annotations = { file: [], statements: new Map(), problems: [] };
  const gaps: { from: number; to: number; before: number | undefined }[] = [];
  let from = 0;
  statements.forEach((statement, index) => {
    gaps.push({ from, to: statement.offset, before: index });
    from = statement.end;
  });
  gaps.push({ from, to: sql.length, before: undefined });

  for (const gap of gaps) {
    const comments = commentsBetween(sql, gap.from, gap.to);
    const target = gap.before === undefined ? undefined : statements[gap.before];
    // The lines directly above the statement that hold nothing but comments.
    const attached = new Set<number>();
    if (target !== undefined) {
      const covered = new Set<number>();
      for (const comment of comments.filter((c) => c.ownLine)) for (let line = comment.startLine; line <= comment.endLine; line++) covered.add(line);
      for (let line = lineOf(sql, target.offset) - 1; covered.has(line); line--) attached.add(line);
    }
    for (const comment of comments) {
      const parsed = parseAllow(comment.text);
      if (parsed === undefined) continue;
      const where = `${path}:${comment.startLine}`;
      if ('problem' in parsed) {
        result.problems.push(`${where}: ${parsed.problem}`);
        continue;
      }
      const allow = { ...parsed.allow, line: comment.startLine };
      if (comment.ownLine && attached.has(comment.startLine) && gap.before !== undefined) {
        const list = result.statements.get(gap.before) ?? [];
        list.push(allow);
        result.statements.set(gap.before, list);
      } else if (gap.before === 0 || (statements.length === 0 && gap.before === undefined)) {
        result.file.push(allow);
      } else {
        result.problems.push(`${where}: -- ${ALLOW_PREFIX} ${allow.rule} is not directly above a statement (on its own line) nor in the comments at the top of the file, so it accepts nothing`);
      }
    }
  }
  return result;
}
