import { ZodNumber } from 'zod';
import type { z } from 'zod';
import type { ConfigProblem } from './errors.js';
import type { ConfigPath } from './paths.js';
import { formatConfigPath } from './paths.js';
import type { MissingKeyParams } from './schema.js';
import { allowedKeysAt, fileSchema, schemaAt } from './schema.js';
import { closestMatch, didYouMean } from './suggest.js';
import type { Position, YamlSource } from './yaml-source.js';
import { isPlainObject } from './merge.js';
import { quoteValue } from '../user-text.js';

/** What turning a zod issue into a located message needs to know about the validated tree. */
export interface IssueContext {
  readonly source: YamlSource;
  /** The tree that was validated. */
  readonly tree: unknown;
  /** Maps a path of the validated tree to the path in the file (identity unless merged). */
  readonly filePathOf: (treePath: ConfigPath) => ConfigPath;
  /** True for a quoted scalar that used `${...}` (it stays a string, so a number field rejects it). */
  readonly quotedInterpolation: (filePath: ConfigPath) => boolean;
  /** Why the value at `filePath` must not be quoted in a message (a secret field, or it holds a secret); undefined to show it. */
  readonly hiddenBecause: (filePath: ConfigPath, value: unknown) => string | undefined;
}

const QUOTED_HINT = ' (a quoted "${...}" stays a string: write it unquoted to get a number or true/false)';

function isIntegerField(filePath: ConfigPath): boolean {
  const target = schemaAt(fileSchema, filePath);
  return target instanceof ZodNumber && target.isInt === true;
}

type Issue = z.core.$ZodIssue;

export function issuesToProblems(issues: readonly Issue[], context: IssueContext): ConfigProblem[] {
  return issues.flatMap((issue) => issueToProblems(issue, context));
}

function issueToProblems(issue: Issue, context: IssueContext): ConfigProblem[] {
  const treePath = issue.path.filter((segment): segment is string | number => typeof segment !== 'symbol');
  const filePath = context.filePathOf(treePath);
  const at = (position: Position, message: string): ConfigProblem => ({ file: context.source.file, ...position, message });
  const subject = formatConfigPath(filePath);
  const value = valueAt(context.tree, treePath);
  const hidden = context.hiddenBecause(filePath, value);
  const hiddenNote = hidden === undefined ? '' : ` (the value is not shown: ${hidden})`;

  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = allowedKeysAt(fileSchema, filePath);
      return issue.keys.map((key) => {
        const match = closestMatch(key, allowed);
        const help = match !== undefined ? ` — did you mean "${match}"?` : allowed.length > 0 ? ` (allowed: ${allowed.join(', ')})` : '';
        return at(context.source.keyPosition([...filePath, key]), `unknown key ${quoteValue(key)} ${where(filePath)}${help}`);
      });
    }
    case 'invalid_key': {
      const reason = issue.issues[0]?.message ?? issue.message;
      const name = String(treePath[treePath.length - 1]);
      return [at(context.source.keyPosition(filePath), `invalid name ${quoteValue(name)} ${where(filePath.slice(0, -1))}: ${reason}`)];
    }
    case 'invalid_type': {
      if (value === undefined) return [missingKey(filePath, '', context, at)];
      const expected = issue.expected === 'number' && isIntegerField(filePath) ? 'int' : issue.expected;
      if (hidden !== undefined) {
        const quote = expected === 'string' && (typeof value === 'number' || typeof value === 'boolean') ? 'quote it; ' : '';
        const got = describeValue(value, false);
        return [at(context.source.valuePosition(filePath), `${subject}: expected ${describeExpected(expected)}, got ${got} (${quote}the value is not shown: ${hidden})`)];
      }
      const hint = typeHint(expected, value) || (context.quotedInterpolation(filePath) ? QUOTED_HINT : '');
      return [at(context.source.valuePosition(filePath), `${subject}: expected ${describeExpected(expected)}, got ${describeValue(value)}${hint}`)];
    }
    case 'invalid_value': {
      const allowed = issue.values.map((v) => String(v));
      if (hidden !== undefined) return [at(context.source.valuePosition(filePath), `${subject}: expected one of ${allowed.join(', ')}${hiddenNote}`)];
      const suggestion = typeof value === 'string' ? didYouMean(value, allowed) : '';
      return [at(context.source.valuePosition(filePath), `${subject}: expected one of ${allowed.join(', ')}, got ${typeof value === 'string' ? quoteValue(value) : JSON.stringify(value)}${suggestion}`)];
    }
    case 'too_small':
    case 'too_big':
      return [at(context.source.valuePosition(filePath), `${subject}: ${describeBound(issue)}`)];
    case 'custom': {
      const params = issue.params as Partial<MissingKeyParams> | undefined;
      if (params?.missingKey !== undefined) return [missingKey(filePath, params.reason === '' ? '' : ` (${params.reason ?? 'required'})`, context, at)];
      return [at(context.source.valuePosition(filePath), `${subject}: ${issue.message}`)];
    }
    default:
      return [at(context.source.valuePosition(filePath), `${subject}: ${issue.message}${hidden === undefined ? quoteShortString(value) : hiddenNote}`)];
  }
}

function missingKey(
  filePath: ConfigPath,
  reason: string,
  context: IssueContext,
  at: (position: Position, message: string) => ConfigProblem,
): ConfigProblem {
  const parent = filePath.slice(0, -1);
  const key = String(filePath[filePath.length - 1]);
  return at(context.source.parentPosition(parent), `missing required key "${key}" ${where(parent)}${reason}`);
}

function where(filePath: ConfigPath): string {
  return filePath.length === 0 ? 'at top level' : `in ${formatConfigPath(filePath)}`;
}

export function valueAt(tree: unknown, treePath: ConfigPath): unknown {
  let current = tree;
  for (const segment of treePath) {
    if (Array.isArray(current) && typeof segment === 'number') current = current[segment];
    else if (isPlainObject(current) && typeof segment === 'string' && Object.hasOwn(current, segment)) current = current[segment];
    else return undefined;
  }
  return current;
}

const EXPECTED: Readonly<Record<string, string>> = {
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
};

function describeExpected(expected: string): string {
  return EXPECTED[expected] ?? expected;
}

/** `showScalar` false leaves out the number or boolean itself. */
export function describeValue(value: unknown, showScalar = true): string {
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (isPlainObject(value)) return 'a mapping';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number' || typeof value === 'boolean') {
    const kind = typeof value === 'number' ? 'a number' : 'a boolean';
    return showScalar ? `${kind} (${String(value)})` : kind;
  }
  return typeof value;
}

function typeHint(expected: string, value: unknown): string {
  if (expected === 'string' && (typeof value === 'number' || typeof value === 'boolean')) return ` (quote it: "${String(value)}")`;
  if (expected === 'array' && typeof value === 'string') return ' (write a list, e.g. [npm, run, migrate]: a string is never split into words)';
  return '';
}

function describeBound(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig): string {
  const small = issue.code === 'too_small';
  const limit = Number(small ? (issue as z.core.$ZodIssueTooSmall).minimum : (issue as z.core.$ZodIssueTooBig).maximum);
  switch (issue.origin) {
    case 'array':
      return small ? `must have at least ${limit} item${limit === 1 ? '' : 's'}` : `must have at most ${limit} items`;
    case 'string':
      if (small && limit === 1) return 'must not be empty';
      return small ? `must be at least ${limit} characters` : `must be at most ${limit} characters`;
    default:
      return small ? `must be at least ${limit}` : `must be at most ${limit}`;
  }
}

function quoteShortString(value: unknown): string {
  return typeof value === 'string' && value.length <= 80 ? `, got ${quoteValue(value)}` : '';
}
