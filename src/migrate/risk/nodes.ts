/** Small readers over libpg-query's syntax tree: names, options, sub-nodes. No SQL text is parsed here. */
import type { DefElem, Node, RangeVar } from 'libpg-query';

/** The `sval`s of a list of `String` nodes (names like `["public", "accounts"]`). */
export function strings(nodes: readonly Node[] | undefined): string[] {
  return (nodes ?? []).flatMap((node) => ('String' in node && node.String.sval !== undefined ? [node.String.sval] : []));
}

/** `schema.table` as written (the schema only when it was given). */
export function relationName(relation: RangeVar | undefined): string {
  if (relation === undefined) return '?';
  return [relation.schemaname, relation.relname].filter((part) => part !== undefined && part !== '').join('.');
}

/**
 * A dropped or renamed object's name from its node: a `List` of `String`s (tables, indexes),
 * a `String` (schemas) or a `TypeName` (types, domains).
 */
export function objectName(node: Node): string {
  if ('List' in node) return strings(node.List.items).join('.');
  if ('String' in node) return node.String.sval ?? '?';
  if ('TypeName' in node) return strings(node.TypeName.names).join('.');
  return '?';
}

/** A boolean option such as `FULL` in `VACUUM (FULL)` or `CONCURRENTLY` in `REINDEX (CONCURRENTLY)`: on unless written false. */
export function optionOn(options: readonly Node[] | undefined, name: string): boolean {
  const option = (options ?? []).flatMap((node) => ('DefElem' in node ? [node.DefElem] : [])).find((d: DefElem) => d.defname === name);
  if (option === undefined) return false;
  const arg = option.arg;
  if (arg === undefined) return true;
  if ('String' in arg) return !['false', 'off', 'no', '0'].includes((arg.String.sval ?? '').toLowerCase());
  if ('Integer' in arg) return (arg.Integer.ival ?? 0) !== 0;
  if ('Boolean' in arg) return arg.Boolean.boolval === true;
  return true;
}

/** The first key of a node: its type, e.g. `AlterTableStmt`. */
export function nodeKind(node: Node): string {
  return Object.keys(node)[0] ?? 'unknown';
}

/**
 * Every node of one of `kinds` anywhere inside `root` (root included), depth first. Used for
 * statements nested in others (a DELETE inside a WITH) and function calls inside expressions.
 */
export function findNodes<T>(root: unknown, kind: string): T[] {
  const found: T[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    for (const [key, child] of Object.entries(value)) {
      if (key === kind) found.push(child as T);
      visit(child);
    }
  };
  visit(root);
  return found;
}
