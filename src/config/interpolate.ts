import { quoteValue } from '../user-text.js';

/** Looks a variable up; undefined means "not set" (an empty string is set). */
export type VariableLookup = (name: string) => string | undefined;

export class InterpolationError extends Error {
  /** True when the message quotes part of the text (a malformed expression), not only a variable name. */
  constructor(
    message: string,
    readonly quotesText = false,
  ) {
    super(message);
  }
}

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const SECRETS_FILE_HINT = 'export it or add it to .stagecraft/secrets';

/**
 * Expands `${VAR}` and `${VAR:-default}` (default used when VAR is unset or empty, and may itself contain
 * `${...}`); `$$` is a literal `$`; any other `$` is literal. Throws InterpolationError on a missing variable
 * or malformed expression. A default that is not used is still checked for syntax but never looked up.
 */
export function interpolate(template: string, lookup: VariableLookup): string {
  return expand(template, 0, lookup, true, undefined).value;
}

export function containsInterpolation(text: string): boolean {
  return text.includes('${');
}

/** Checks syntax only: no variable is looked up. */
export function checkInterpolationSyntax(template: string): void {
  expand(template, 0, () => '', false, undefined);
}

interface Expansion {
  value: string;
  /** Index just past the expansion; for a default, the index of its closing `}`. */
  end: number;
}

/** `defaultOf` is the index of the `${` whose default is being expanded (it ends at the matching `}`). */
function expand(text: string, start: number, lookup: VariableLookup, evaluate: boolean, defaultOf: number | undefined): Expansion {
  let value = '';
  let i = start;
  while (i < text.length) {
    const char = text[i];
    if (defaultOf !== undefined && char === '}') return { value, end: i };
    if (char !== '$') {
      value += char;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      value += '$';
      i += 2;
    } else if (next === '{') {
      const expression = expandExpression(text, i, lookup, evaluate);
      value += expression.value;
      i = expression.end;
    } else {
      value += '$';
      i++;
    }
  }
  if (defaultOf !== undefined) throw new InterpolationError(unterminated(text, defaultOf), true);
  return { value, end: i };
}

/** `text[dollar]` is the `$` of `${`; returns the expansion and the index past its closing `}`. */
function expandExpression(text: string, dollar: number, lookup: VariableLookup, evaluate: boolean): Expansion {
  const nameStart = dollar + 2;
  let nameEnd = nameStart;
  while (nameEnd < text.length && text[nameEnd] !== '}' && text[nameEnd] !== ':') nameEnd++;
  if (nameEnd >= text.length) throw new InterpolationError(unterminated(text, dollar), true);
  const name = text.slice(nameStart, nameEnd);
  checkName(name, text.slice(dollar, nameEnd + 1));

  if (text[nameEnd] === '}') {
    const found = evaluate ? lookup(name) : '';
    if (found === undefined) throw new InterpolationError(`variable "${name}" is not set (${SECRETS_FILE_HINT}, or give a default: \${${name}:-value})`);
    return { value: found, end: nameEnd + 1 };
  }

  if (text[nameEnd + 1] !== '-') {
    throw new InterpolationError(`unsupported expression ${quoteValue(`${text.slice(dollar, nameEnd + 2)}…`)}: use \${${name}} or \${${name}:-default}`, true);
  }
  const current = evaluate ? lookup(name) : '';
  const useDefault = current === undefined || current === '';
  const fallback = expand(text, nameEnd + 2, lookup, evaluate && useDefault, dollar);
  return { value: useDefault ? fallback.value : current, end: fallback.end + 1 };
}

function checkName(name: string, expression: string): void {
  if (name === '') throw new InterpolationError(`empty variable name in ${quoteValue(expression)}`, true);
  if (!VARIABLE_NAME.test(name)) {
    throw new InterpolationError(
      `invalid variable name ${quoteValue(name)} in ${quoteValue(expression)} (use letters, digits and _; forms: \${NAME} or \${NAME:-default})`,
      true,
    );
  }
}

function unterminated(text: string, from: number): string {
  const excerpt = text.slice(from, from + 30);
  return `unterminated "\${" in ${quoteValue(`${excerpt}${text.length - from > 30 ? '…' : ''}`)} (close it with "}", or write "$$" for a literal "$")`;
}
