/**
 * Which applied migrations a rollback reverts, and in what order. Rollback goes in reverse
 * dependency order, and never leaves an applied migration whose dependency was reverted: such a
 * dependent is refused (exit 2, naming it) unless `cascade` adds it to the set.
 */

export type RollbackSelection = { steps: number } | { to: string } | { ids: readonly string[] };

export interface AppliedMigration {
  id: string;
  dependsOn: readonly string[];
}

export type RollbackSet =
  | { ok: true; revert: string[]; cascaded: string[] }
  | { ok: false; unknown: string[] }
  | { ok: false; dependents: Array<{ id: string; dependent: string }> };

/**
 * `applied`: the applied migrations in the order they apply (dependency order). The result's
 * `revert` is newest first; `cascaded` lists the dependents `cascade` added.
 */
export function rollbackSet(applied: readonly AppliedMigration[], selection: RollbackSelection, cascade = false): RollbackSet {
  const position = new Map(applied.map((migration, index) => [migration.id, index]));
  let chosen: Set<string>;
  if ('steps' in selection) {
    chosen = new Set(applied.slice(Math.max(0, applied.length - selection.steps)).map((m) => m.id));
  } else if ('to' in selection) {
    const index = position.get(selection.to);
    if (index === undefined) return { ok: false, unknown: [selection.to] };
    chosen = new Set(applied.slice(index + 1).map((m) => m.id));
  } else {
    const unknown = selection.ids.filter((id) => !position.has(id));
    if (unknown.length > 0) return { ok: false, unknown };
    chosen = new Set(selection.ids);
  }

  const dependentsOf = new Map<string, string[]>();
  for (const migration of applied) {
    for (const dependency of migration.dependsOn) {
      if (!position.has(dependency)) continue;
      const list = dependentsOf.get(dependency) ?? [];
      list.push(migration.id);
      dependentsOf.set(dependency, list);
    }
  }

  const cascaded: string[] = [];
  const blocking: Array<{ id: string; dependent: string }> = [];
  const queue = [...chosen];
  while (queue.length > 0) {
    const id = queue.shift()!;
    for (const dependent of dependentsOf.get(id) ?? []) {
      if (chosen.has(dependent)) continue;
      if (!cascade) {
        blocking.push({ id, dependent });
        continue;
      }
      chosen.add(dependent);
      cascaded.push(dependent);
      queue.push(dependent);
    }
  }
  if (blocking.length > 0) return { ok: false, dependents: blocking };

  const revert = [...chosen].sort((a, b) => position.get(b)! - position.get(a)!);
  return { ok: true, revert, cascaded: cascaded.sort((a, b) => position.get(b)! - position.get(a)!) };
}
