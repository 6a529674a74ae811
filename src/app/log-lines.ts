/**
 * `app logs` as data: the Docker logs query from the options, and the lines Docker returns
 * (each led by its RFC 3339 timestamp, which we ask for) merged across hosts in time order,
 * filtered and prefixed. Pure.
 */
import { parseDuration } from '../config/index.js';
import { UserError } from '../errors.js';
import { quoteValue } from '../user-text.js';

export const DEFAULT_LOG_LINES = 100;

export interface LogsQuery {
  /** Last N lines of each container. */
  tail: number;
  /** Unix seconds: only lines since then. */
  since?: number;
  follow: boolean;
  grep?: string;
}

export interface LogsOptionsInput {
  lines?: string | undefined;
  since?: string | undefined;
  follow?: boolean | undefined;
  grep?: string | undefined;
}

export function logsQuery(input: LogsOptionsInput, nowMs: number): LogsQuery {
  let tail = DEFAULT_LOG_LINES;
  if (input.lines !== undefined) {
    if (!/^\d+$/.test(input.lines)) throw new UserError(`--lines ${quoteValue(input.lines)} is not a number of lines (0 or more)`);
    tail = Number(input.lines);
  }
  let since: number | undefined;
  if (input.since !== undefined) {
    let ms: number;
    try {
      ms = parseDuration(input.since);
    } catch {
      throw new UserError(`--since ${quoteValue(input.since)} is not a duration (examples: 30s, 10m, 2h)`);
    }
    since = Math.floor((nowMs - ms) / 1000);
  }
  return {
    tail,
    ...(since !== undefined ? { since } : {}),
    follow: input.follow === true,
    ...(input.grep !== undefined && input.grep !== '' ? { grep: input.grep } : {}),
  };
}

export interface LogLine {
  address: string;
  stream: 'stdout' | 'stderr';
  /** Sortable form of Docker's timestamp ('' when the line had none). */
  time: string;
  text: string;
}

const TIMESTAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z /;

/** Splits Docker's timestamp off a line; the key sorts correctly whatever the fraction's length. */
export function splitTimestamp(line: string): { time: string; text: string } {
  const match = TIMESTAMP.exec(line);
  if (!match) return { time: '', text: line };
  return { time: `${match[1]}.${(match[2] ?? '').padEnd(9, '0')}`, text: line.slice(match[0].length) };
}

/** Whole lines of one container's output (a last line without newline counts). */
export function logLines(address: string, stream: LogLine['stream'], text: string): LogLine[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((line) => ({ address, stream, ...splitTimestamp(line.replace(/\r$/, '')) }));
}

/** All hosts' lines in time order; equal times keep host order, then each host's own order. */
export function mergeLogLines(perHost: readonly (readonly LogLine[])[]): LogLine[] {
  return perHost
    .flatMap((lines, hostIndex) => lines.map((line, index) => ({ line, hostIndex, index })))
    .sort((a, b) => (a.line.time < b.line.time ? -1 : a.line.time > b.line.time ? 1 : a.hostIndex - b.hostIndex || a.index - b.index))
    .map((entry) => entry.line);
}

/** --grep: a plain substring, case-sensitive, of the line without its timestamp. */
export function matchesGrep(line: Pick<LogLine, 'text'>, grep: string | undefined): boolean {
  return grep === undefined || line.text.includes(grep);
}

export function formatLogLine(line: LogLine, scrub: (text: string) => string): string {
  return `[${line.address}] ${scrub(line.text)}\n`;
}
