/**
 * Where a raw migration's dependencies and metadata come from:
 *   - a header line in the file: `-- stagecraft:depends-on 0002_users, 0003_orgs`
 *   - `dependencies.json` in the migrations directory:
 *     {"migrations": {"0002": {"description": "...", "depends_on": ["0001"], "affects_tables": ["users"],
 *                              "risk_level": "low|medium|high", "estimated_duration": "45s"}}}
 *     keyed by full id or numeric prefix. Both sources merge.
 * JSON is read with the yaml parser (JSON is YAML 1.2), which keeps every node's position, so a
 * problem inside the file is reported as file:line:col.
 */
import { LineCounter, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Node } from 'yaml';
import { z } from 'zod';

export const DEPENDENCIES_FILE = 'dependencies.json';
const DEPENDS_ON = /^--\s*stagecraft:depends-on\b(.*)$/;

export const RISK_LEVELS = ['low', 'medium', 'high'] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

export interface MigrationMetadata {
  description?: string;
  affects_tables?: string[];
  risk_level?: RiskLevel;
  estimated_duration?: string;
}

/** One reference to another migration, with where it was written (for error messages). */
export interface DependencyReference {
  ref: string;
  where: string;
}

export interface DeclaredDependencies {
  /** Keyed as written (full id or numeric prefix). */
  byKey: Map<string, { where: string; dependsOn: DependencyReference[]; metadata: MigrationMetadata }>;
  problems: string[];
}

/** `-- stagecraft:depends-on a, b` lines among the file's leading comment lines. */
export function headerDependencies(sql: string, display: string): { refs: DependencyReference[]; problems: string[] } {
  const refs: DependencyReference[] = [];
  const problems: string[] = [];
  const lines = sql.replace(/^\uFEFF/, '').split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!.trim();
    if (line === '') continue;
    if (!line.startsWith('--')) break;
    const match = DEPENDS_ON.exec(line);
    if (!match) continue;
    const names = match[1]!.split(',').map((name) => name.trim());
    if (names.every((name) => name === '')) {
      problems.push(`${display}:${index + 1}: stagecraft:depends-on names no migration`);
      continue;
    }
    for (const name of names) {
      if (name === '') problems.push(`${display}:${index + 1}: an empty name in stagecraft:depends-on`);
      else refs.push({ ref: name, where: `${display}:${index + 1}` });
    }
  }
  return { refs, problems };
}

const entrySchema = z
  .object({
    description: z.string().optional(),
    depends_on: z.array(z.string().min(1)).optional(),
    affects_tables: z.array(z.string().min(1)).optional(),
    risk_level: z.enum(RISK_LEVELS).optional(),
    estimated_duration: z.string().regex(/^\d+(\.\d+)?(ms|s|m|h)$/, 'a duration like 45s, 10m or 1h').optional(),
  })
  .strict();

/** Reads `dependencies.json` text; every problem carries `display:line:col`. */
export function parseDependenciesFile(text: string, display: string): DeclaredDependencies {
  const byKey: DeclaredDependencies['byKey'] = new Map();
  const problems: string[] = [];
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const at = (node: Node | null | undefined): string => {
    const offset = node?.range?.[0] ?? 0;
    const { line, col } = lineCounter.linePos(offset);
    return `${display}:${line}:${col}`;
  };
  if (document.errors.length > 0) {
    const error = document.errors[0]!;
    const { line, col } = lineCounter.linePos(error.pos[0]);
    return { byKey, problems: [`${display}:${line}:${col}: not valid JSON: ${error.message.split('\n')[0]}`] };
  }
  const root = document.contents;
  const migrations = isMap(root) ? root.get('migrations', true) : undefined;
  if (!isMap(root) || !isMap(migrations)) {
    return { byKey, problems: [`${at(isMap(root) ? (migrations as Node | undefined) ?? root : root)}: expected {"migrations": {"<id>": {...}}}`] };
  }
  for (const key of root.items.map((pair) => pair.key)) {
    if (isScalar(key) && key.value !== 'migrations') problems.push(`${at(key)}: unknown key "${String(key.value)}" (expected only "migrations")`);
  }
  for (const pair of migrations.items) {
    const key = pair.key as Node;
    const name = isScalar(key) ? String(key.value) : '';
    const value = pair.value as Node | null;
    const parsed = entrySchema.safeParse(value?.toJSON());
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const node = issue.path.length > 0 && isMap(value) ? nodeAt(value, issue.path) : value;
        const what = issue.code === 'unrecognized_keys' ? `unknown key ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
        problems.push(`${at(node ?? key)}: migrations.${name}${issue.path.length ? `.${issue.path.join('.')}` : ''}: ${what}`);
      }
      continue;
    }
    const dependsOnNode = isMap(value) ? value.get('depends_on', true) : undefined;
    const dependsOn = (parsed.data.depends_on ?? []).map((ref, index) => ({
      ref,
      where: at(isSeq(dependsOnNode) ? (dependsOnNode.items[index] as Node) : key),
    }));
    const { depends_on: _ignored, ...metadata } = parsed.data;
    byKey.set(name, { where: at(key), dependsOn, metadata });
  }
  return { byKey, problems };
}

function nodeAt(map: Node, path: readonly PropertyKey[]): Node | undefined {
  let node: unknown = map;
  for (const segment of path) {
    if (isMap(node)) node = node.get(String(segment), true);
    else if (isSeq(node)) node = node.items[Number(segment)];
    else return undefined;
  }
  return node as Node | undefined;
}
