import { UserError } from '../errors.js';
import { escapeControls, quoteValue } from '../user-text.js';
import { ConfigError } from './errors.js';
import { closestMatch } from './suggest.js';
import type { Position } from './yaml-source.js';

/**
 * The environment to act on: the one asked for, or the only one defined. Returns undefined when the
 * file defines none (validation reports that with a position). An unknown name is reported at
 * `environmentsAt`, the position of the `environments` key.
 */
export function selectEnvironment(
  requested: string | undefined,
  names: readonly string[],
  file: string,
  environmentsAt: Position,
): string | undefined {
  if (names.length === 0) return undefined;
  const list = names.map(escapeControls).join(', ');
  if (requested !== undefined) {
    if (names.includes(requested)) return requested;
    const match = closestMatch(requested, names);
    const suggestion = match === undefined ? '' : ` (did you mean ${quoteValue(match)}?)`;
    const message = `unknown environment ${quoteValue(requested)}${suggestion} — environments: ${list}`;
    throw new ConfigError({ file, ...environmentsAt, message });
  }
  if (names.length === 1) return names[0];
  throw new UserError(`${file} defines several environments: ${list} — choose one with --env NAME (or STAGECRAFT_ENV)`);
}
