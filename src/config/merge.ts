import type { ConfigPath } from './paths.js';
import { pathKey } from './paths.js';

export type PlainObject = Record<string, unknown>;

/** A mapping as parsed from YAML (or built by `emptyMapping`): not a list, Date, Map or class instance. */
export function isPlainObject(value: unknown): value is PlainObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * A mapping to be filled with keys from the user's file: without a prototype, assigning any key
 * (`__proto__`, `constructor`) adds that key and nothing else, and no key is found by inheritance.
 */
export function emptyMapping(): PlainObject {
  return Object.create(null) as PlainObject;
}

/** For every node of a merged tree, the path in the file it came from. */
export class Origins {
  private readonly byPath = new Map<string, ConfigPath>();

  set(resolvedPath: ConfigPath, filePath: ConfigPath): void {
    this.byPath.set(pathKey(resolvedPath), filePath);
  }

  /** The file path of `resolvedPath`; a path that does not exist maps below its deepest existing ancestor. */
  filePathOf(resolvedPath: ConfigPath): ConfigPath {
    for (let length = resolvedPath.length; length >= 0; length--) {
      const origin = this.byPath.get(pathKey(resolvedPath.slice(0, length)));
      if (origin !== undefined) return [...origin, ...resolvedPath.slice(length)];
    }
    return resolvedPath;
  }
}

/** Keys of an environment that are not overrides of top-level sections. */
const ENVIRONMENT_OWN_KEYS = new Set(['hosts', 'require_approval', 'priority']);

/**
 * The chosen environment merged over the top level: mappings merge key by key, anything else
 * (lists, scalars) from the environment replaces the top-level value. The result has the top-level
 * keys plus the environment's `hosts` and `require_approval`, and no `environments`.
 */
export function mergeEnvironment(tree: PlainObject, environment: string): { merged: PlainObject; origins: Origins } {
  const origins = new Origins();
  const environmentPath = ['environments', environment];
  const layer = (tree.environments as PlainObject)[environment] as PlainObject;
  const base = emptyMapping();
  const overrides = emptyMapping();
  for (const [key, value] of Object.entries(tree)) if (key !== 'environments') base[key] = value;
  for (const [key, value] of Object.entries(layer)) if (!ENVIRONMENT_OWN_KEYS.has(key)) overrides[key] = value;

  const merged = mergeValues(base, overrides, [], environmentPath, [], origins) as PlainObject;
  for (const key of ENVIRONMENT_OWN_KEYS) {
    // Recorded even when absent, so that "missing hosts" is reported in the environment.
    const value = record(layer[key], [...environmentPath, key], [key], origins);
    if (Object.hasOwn(layer, key)) merged[key] = value;
  }
  origins.set([], []);
  return { merged, origins };
}

function mergeValues(
  base: unknown,
  override: unknown,
  basePath: ConfigPath,
  overridePath: ConfigPath,
  resolvedPath: ConfigPath,
  origins: Origins,
): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return record(override, overridePath, resolvedPath, origins);
  // A mapping present in both is reported at its top-level place: that is where a missing key belongs.
  origins.set(resolvedPath, basePath);
  const result = emptyMapping();
  for (const key of new Set([...Object.keys(base), ...Object.keys(override)])) {
    const childPath = [...resolvedPath, key];
    if (!Object.hasOwn(override, key)) result[key] = record(base[key], [...basePath, key], childPath, origins);
    else if (!Object.hasOwn(base, key)) result[key] = record(override[key], [...overridePath, key], childPath, origins);
    else result[key] = mergeValues(base[key], override[key], [...basePath, key], [...overridePath, key], childPath, origins);
  }
  return result;
}

/** Records the origin of `value` and of everything below it; returns it unchanged. */
function record(value: unknown, filePath: ConfigPath, resolvedPath: ConfigPath, origins: Origins): unknown {
  origins.set(resolvedPath, filePath);
  if (Array.isArray(value)) value.forEach((item, index) => record(item, [...filePath, index], [...resolvedPath, index], origins));
  else if (isPlainObject(value)) {
    for (const [key, child] of Object.entries(value)) record(child, [...filePath, key], [...resolvedPath, key], origins);
  }
  return value;
}
