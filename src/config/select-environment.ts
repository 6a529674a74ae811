import { UserError } from '../errors.js';
import { closestMatch } from './suggest.js';

/**
 * The environment to act on: the one asked for, or the only one defined. Returns undefined when the
 * file defines none (validation reports that with a position).
 */
export function selectEnvironment(requested: string | undefined, names: readonly string[], file: string): string | undefined {
  if (names.length === 0) return undefined;
  const list = names.join(', ');
  if (requested !== undefined) {
    if (names.includes(requested)) return requested;
    const match = closestMatch(requested, names);
    const suggestion = match === undefined ? '' : ` (did you mean "${match}"?)`;
    throw new UserError(`unknown environment "${requested}"${suggestion} — environments: ${list}`);
  }
  if (names.length === 1) return names[0];
  throw new UserError(`${file} defines several environments: ${list} — choose one with --env NAME (or STAGECRAFT_ENV)`);
}
