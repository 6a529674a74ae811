/** `--database main/tenant_a`: one target of a database with `targets` (issue 11). */
import { UserError } from '../../errors.js';
import { quoteValue } from '../../user-text.js';
import type { EngineTarget } from '../types.js';
import { targetKey } from '../types.js';

/** `main/tenant_a` → database `main`, target `tenant_a`; `main` → database only. */
export function splitTargetName(name: string | undefined): { database: string | undefined; target: string | undefined } {
  if (name === undefined) return { database: undefined, target: undefined };
  const slash = name.indexOf('/');
  return slash < 0 ? { database: name, target: undefined } : { database: name.slice(0, slash), target: name.slice(slash + 1) };
}

/**
 * Keeps the target `--database` names (all of them without `/NAME`). `single`: the command acts on
 * one target, so a database with several needs `/NAME` (refused, exit 1, listing them).
 */
export function pickTargets(targets: readonly EngineTarget[], selection: string | undefined, single?: { command: string }): EngineTarget[] {
  const { database, target } = splitTargetName(selection);
  let picked = [...targets];
  if (target !== undefined) {
    picked = targets.filter((candidate) => candidate.database === database && candidate.target === target);
    if (picked.length === 0) {
      const known = targets.filter((candidate) => candidate.database === database && candidate.target !== undefined).map(targetKey);
      throw new UserError(known.length === 0 ? `database ${database} has no targets: pass --database ${database}` : `unknown target ${quoteValue(selection!)} — targets: ${known.join(', ')}`);
    }
  }
  if (single !== undefined && picked.length > 1) {
    throw new UserError(`${single.command} acts on one target and ${database ?? picked[0]!.database} has ${picked.length}: pass --database ${picked.map(targetKey).join(' or --database ')}`);
  }
  return picked;
}
