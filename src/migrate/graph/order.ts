/**
 * The order migrations apply in: a dependency graph sorted with Kahn's algorithm. Among the
 * migrations whose dependencies are all placed, the one with the smallest id goes next, so a
 * project that declares no dependencies keeps plain numeric order.
 */

export interface GraphNode {
  id: string;
  /** Ids this migration needs applied first. */
  dependsOn: readonly string[];
}

export interface UnknownDependency {
  id: string;
  missing: string;
}

export type GraphOrder =
  | { ok: true; order: string[] }
  /** `cycle` starts and ends with the same id: a → b → a (each depends on the next). */
  | { ok: false; cycle?: string[]; unknown: UnknownDependency[] };

const LEADING_NUMBER = /^(\d+)/;

/** Numeric prefix first (so 10_x follows 9_y, and timestamps sort as numbers), then the whole id. */
export function compareMigrationIds(a: string, b: string): number {
  const na = LEADING_NUMBER.exec(a)?.[1];
  const nb = LEADING_NUMBER.exec(b)?.[1];
  if (na !== undefined && nb !== undefined) {
    const x = BigInt(na);
    const y = BigInt(nb);
    if (x !== y) return x < y ? -1 : 1;
  } else if (na !== undefined || nb !== undefined) {
    return na !== undefined ? -1 : 1;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Inserts `id` into the sorted array `ready`, keeping it sorted by `compareMigrationIds`. */
function insertSorted(ready: string[], id: string): void {
  let low = 0;
  let high = ready.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareMigrationIds(ready[middle]!, id) < 0) low = middle + 1;
    else high = middle;
  }
  ready.splice(low, 0, id);
}

export function orderMigrations(nodes: readonly GraphNode[]): GraphOrder {
  const known = new Set(nodes.map((node) => node.id));
  const unknown: UnknownDependency[] = [];
  const waitingOn = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const node of nodes) {
    const dependencies = [...new Set(node.dependsOn)];
    let count = 0;
    for (const dependency of dependencies) {
      if (!known.has(dependency)) {
        unknown.push({ id: node.id, missing: dependency });
        continue;
      }
      count += 1;
      const list = dependents.get(dependency) ?? [];
      list.push(node.id);
      dependents.set(dependency, list);
    }
    waitingOn.set(node.id, count);
  }
  if (unknown.length > 0) return { ok: false, unknown };

  const ready: string[] = [];
  for (const node of nodes) if (waitingOn.get(node.id) === 0) insertSorted(ready, node.id);
  const order: string[] = [];
  while (ready.length > 0) {
    const id = ready.shift()!;
    order.push(id);
    for (const dependent of dependents.get(id) ?? []) {
      const left = waitingOn.get(dependent)! - 1;
      waitingOn.set(dependent, left);
      if (left === 0) insertSorted(ready, dependent);
    }
  }
  if (order.length === nodes.length) return { ok: true, order };
  return { ok: false, cycle: findCycle(nodes, new Set(order)), unknown: [] };
}

/**
 * One cycle among the migrations Kahn could not place (every one of them waits on another
 * unplaced one, so walking dependencies from any of them must come back round).
 */
function findCycle(nodes: readonly GraphNode[], placed: ReadonlySet<string>): string[] {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const unplaced = nodes.map((node) => node.id).filter((id) => !placed.has(id)).sort(compareMigrationIds);
  const path: string[] = [];
  const onPath = new Map<string, number>();
  let current = unplaced[0]!;
  while (!onPath.has(current)) {
    onPath.set(current, path.length);
    path.push(current);
    const next = byId.get(current)!.dependsOn.filter((id) => !placed.has(id)).sort(compareMigrationIds)[0];
    if (next === undefined) throw new Error(`internal: ${current} is unplaced but waits on nothing unplaced`);
    current = next;
  }
  return [...path.slice(onPath.get(current)), current];
}

/** `0003_a → 0005_b → 0003_a` */
export function formatCycle(cycle: readonly string[]): string {
  return cycle.join(' → ');
}
