/** A line-level problem in a dotenv file; column is always 1. */
export interface DotenvProblem {
  readonly line: number;
  readonly message: string;
}

export interface DotenvParseResult {
  readonly values: ReadonlyMap<string, string>;
  readonly problems: readonly DotenvProblem[];
}

const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/;
const DOUBLE_QUOTE_ESCAPES: Readonly<Record<string, string>> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\', $: '$' };

/**
 * Parses the dotenv subset stagecraft documents: `KEY=value`, `KEY="quoted"` (with \n \t \" \\ escapes),
 * `KEY='literal'`, `#` comments (whole line, or after whitespace in an unquoted value) and an optional
 * `export ` prefix. Later assignments win. Values are single-line.
 */
export function parseDotenv(text: string): DotenvParseResult {
  const values = new Map<string, string>();
  const problems: DotenvProblem[] = [];
  const lines = text.split('\n');
  lines.forEach((rawLine, index) => {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const statement = trimmed.replace(/^export\s+/, '');
    const assignment = ASSIGNMENT.exec(statement);
    if (assignment === null) {
      problems.push({ line: index + 1, message: describeBadAssignment(statement) });
      return;
    }
    const [, name = '', rest = ''] = assignment;
    const parsed = parseValue(rest.trimStart());
    if ('error' in parsed) problems.push({ line: index + 1, message: `${name}: ${parsed.error}` });
    else values.set(name, parsed.value);
  });
  return { values, problems };
}

/** Never quotes the line: in a secrets file, any text may be part of a secret. */
function describeBadAssignment(statement: string): string {
  const equals = statement.indexOf('=');
  if (equals === -1) return 'expected KEY=value';
  if (statement.slice(0, equals).trim() === '') return 'missing variable name before "="';
  return 'invalid variable name before "=" (letters, digits and _, not starting with a digit)';
}

type ParsedValue = { value: string } | { error: string };

function parseValue(text: string): ParsedValue {
  const quote = text[0];
  if (quote === '"' || quote === "'") return parseQuoted(text, quote);
  const comment = /\s#/.exec(text);
  return { value: (comment === null ? text : text.slice(0, comment.index)).trimEnd() };
}

function parseQuoted(text: string, quote: '"' | "'"): ParsedValue {
  let value = '';
  let i = 1;
  for (; i < text.length; i++) {
    const char = text[i] as string;
    if (char === quote) break;
    if (quote === '"' && char === '\\' && i + 1 < text.length) {
      const next = text[i + 1] as string;
      value += DOUBLE_QUOTE_ESCAPES[next] ?? `\\${next}`;
      i++;
      continue;
    }
    value += char;
  }
  if (i >= text.length) {
    const kind = quote === '"' ? 'double' : 'single';
    return { error: `unterminated ${kind} quote (values are one line: write line breaks as \\n inside double quotes)` };
  }
  const after = text.slice(i + 1).trim();
  if (after !== '' && !after.startsWith('#')) return { error: 'unexpected text after the closing quote' };
  return { value };
}
