export const REDACTED = '[REDACTED]';

/** Keys whose string values are always secret, wherever they appear. */
const SECRET_KEYS = new Set(['password']);

/** True for fields whose value is secret wherever it is written: any `password`, and database (and target) URLs. */
export function isSecretField(configPath: readonly (string | number)[]): boolean {
  const last = configPath[configPath.length - 1];
  if (typeof last === 'string' && SECRET_KEYS.has(last.toLowerCase())) return true;
  if (last === 'url' && configPath[configPath.length - 3] === 'databases') return true;
  // databases.X.targets.NAME: a target's connection URL.
  return configPath[configPath.length - 2] === 'targets' && configPath[configPath.length - 4] === 'databases';
}

/** Longest first, so a secret containing another is replaced whole. */
function ordered(secretValues: readonly string[]): string[] {
  return [...new Set(secretValues)].filter((value) => value !== '').sort((a, b) => b.length - a.length);
}

/** Replaces every occurrence of a secret value in `text` (for log lines and error messages). */
export function redactText(text: string, secretValues: readonly string[]): string {
  let result = text;
  for (const secret of ordered(secretValues)) result = result.split(secret).join(REDACTED);
  return result;
}

/**
 * A deep copy of `value` in which `password` fields and every string containing a secret value are
 * `[REDACTED]`. Only plain objects and arrays are walked; other values are returned as they are.
 */
export function redact(value: unknown, secretValues: readonly string[]): unknown {
  const secrets = ordered(secretValues);
  const walk = (node: unknown, key: string | undefined): unknown => {
    if (typeof node === 'string') {
      if (key !== undefined && SECRET_KEYS.has(key.toLowerCase())) return REDACTED;
      return secrets.some((secret) => node.includes(secret)) ? REDACTED : node;
    }
    if (Array.isArray(node)) return node.map((item) => walk(item, undefined));
    const prototype: unknown = typeof node === 'object' && node !== null ? Object.getPrototypeOf(node) : undefined;
    if (prototype === Object.prototype || prototype === null) {
      // fromEntries defines each key as an own property: a "__proto__" key stays a key.
      return Object.fromEntries(Object.entries(node as object).map(([childKey, child]) => [childKey, walk(child, childKey)]));
    }
    return node;
  };
  return walk(value, undefined);
}
