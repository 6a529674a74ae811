import { UserError } from '../errors.js';
import { quoteValue } from '../user-text.js';

const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;

/**
 * Units in descending order, each at most once: `1h30m`, `1m30s`, `500ms`, `1.5s`.
 * Also exported to the JSON Schema as the `pattern` of every duration field.
 */
export const DURATION_PATTERN =
  /^(?=\d)(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?$/;

export const DURATION_HINT = 'expected a duration like 500ms, 90s, 10m, 1h or 1m30s';

/** Parses `500ms`, `90s`, `10m`, `1h`, `1m30s` to milliseconds; throws a UserError on anything else. */
export function parseDuration(text: string): number {
  const match = DURATION_PATTERN.exec(text);
  if (match === null) throw new UserError(`invalid duration ${quoteValue(text)}: ${DURATION_HINT}`);
  const [, hours, minutes, seconds, millis] = match;
  let total = 0;
  for (const [amount, unit] of [
    [hours, 'h'],
    [minutes, 'm'],
    [seconds, 's'],
    [millis, 'ms'],
  ] as const) {
    if (amount !== undefined) total += Number(amount) * UNIT_MS[unit];
  }
  return Math.round(total);
}

export function isDuration(text: string): boolean {
  return DURATION_PATTERN.test(text);
}
