import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, visit } from 'yaml';
import type { Document, Node, Pair } from 'yaml';
import { ConfigError } from './errors.js';
import type { ConfigProblem } from './errors.js';
import type { ConfigPath } from './paths.js';

export interface Position {
  readonly line: number;
  readonly col: number;
}

interface Located {
  /** How many path segments were found. */
  depth: number;
  /** Key of the deepest found node, if it was reached through a mapping key. */
  keyNode: Node | undefined;
  /** The deepest found node (an alias is kept, not resolved, so positions point where it is written). */
  valueNode: Node | undefined;
}

/**
 * A parsed stagecraft.yml: the plain value, and node positions looked up by config path
 * (following aliases and `<<` merge keys).
 */
export class YamlSource {
  private constructor(
    readonly file: string,
    private readonly doc: Document.Parsed,
    private readonly lineCounter: LineCounter,
  ) {}

  /** Throws ConfigError listing every syntax error. */
  static parse(text: string, file: string): YamlSource {
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true });
    const source = new YamlSource(file, doc, lineCounter);
    // Only the first syntax error: the ones after it are mostly the parser losing its footing.
    const problems: ConfigProblem[] = doc.errors.slice(0, 1).map((error) => {
      const problem = source.problemAtOffset(error.pos[0], firstLine(error.message));
      const more = doc.errors.length > 1 ? ` (and ${doc.errors.length - 1} more after it)` : '';
      return { ...problem, message: `${problem.message}${more}${flowHint(text, problem.line)}` };
    });
    visit(doc, {
      Alias: (_key, alias) => {
        if (alias.resolve(doc) === undefined) problems.push(source.problemAtNode(alias, `unknown alias "*${alias.source}" (define the anchor "&${alias.source}" before using it)`));
      },
    });
    if (problems.length > 0) throw new ConfigError(problems);
    return source;
  }

  /** The document as plain data (aliases and merge keys resolved). Throws ConfigError on alias abuse. */
  toValue(): unknown {
    try {
      return this.doc.toJS({ maxAliasCount: 1000 });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new ConfigError({ file: this.file, line: 1, col: 1, message: `cannot expand aliases: ${reason}` });
    }
  }

  /**
   * Position of the value at `configPath` (of its key if the value is empty or a mapping/list);
   * of the deepest existing ancestor when the path does not exist.
   */
  valuePosition(configPath: ConfigPath): Position {
    const located = this.locate(configPath);
    const complete = located.depth === configPath.length;
    // A block mapping or list starts on the line after its key; the key is where readers look.
    const isCollection = isMap(located.valueNode) || isSeq(located.valueNode);
    if (complete && hasText(located.valueNode) && !(isCollection && located.keyNode !== undefined)) {
      return this.nodePosition(located.valueNode);
    }
    return this.anchorPosition(located);
  }

  /** Position of the key of `configPath` (for unknown or badly named keys). */
  keyPosition(configPath: ConfigPath): Position {
    const located = this.locate(configPath);
    if (located.depth === configPath.length && located.keyNode !== undefined) return this.nodePosition(located.keyNode);
    return this.valuePosition(configPath);
  }

  /** Where to report a key missing from the mapping at `parentPath`: the mapping's own key, else its start. */
  parentPosition(parentPath: ConfigPath): Position {
    return this.anchorPosition(this.locate(parentPath));
  }

  /** True when the value at `configPath` was written as a plain (unquoted) scalar. */
  isPlainScalar(configPath: ConfigPath): boolean {
    const located = this.locate(configPath);
    const node = this.resolve(located.valueNode);
    return located.depth === configPath.length && isScalar(node) && node.type === 'PLAIN';
  }

  private anchorPosition(located: Located): Position {
    if (located.keyNode !== undefined) return this.nodePosition(located.keyNode);
    if (located.valueNode !== undefined && hasText(located.valueNode)) return this.nodePosition(located.valueNode);
    return { line: 1, col: 1 };
  }

  private locate(configPath: ConfigPath): Located {
    const contents = this.doc.contents ?? undefined;
    let located: Located = { depth: 0, keyNode: undefined, valueNode: contents };
    for (const segment of configPath) {
      const container = this.resolve(located.valueNode);
      const next = this.child(container, segment);
      if (next === undefined) return located;
      located = { depth: located.depth + 1, ...next };
    }
    return located;
  }

  private child(container: Node | undefined, segment: string | number): Omit<Located, 'depth'> | undefined {
    if (isSeq(container) && typeof segment === 'number') {
      const item = container.items[segment];
      return isNodeLike(item) ? { keyNode: undefined, valueNode: item } : undefined;
    }
    if (!isMap(container)) return undefined;
    const pairs = container.items as Pair<unknown, unknown>[];
    const own = pairs.find((pair) => isScalar(pair.key) && String(pair.key.value) === String(segment));
    if (own !== undefined) return { keyNode: own.key as Node, valueNode: isNodeLike(own.value) ? own.value : undefined };
    for (const pair of pairs) {
      if (!isScalar(pair.key) || pair.key.source !== '<<') continue;
      const sources = this.resolve(isNodeLike(pair.value) ? pair.value : undefined);
      const candidates = isSeq(sources) ? sources.items : [sources];
      for (const candidate of candidates) {
        const found = this.child(this.resolve(isNodeLike(candidate) ? candidate : undefined), segment);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  }

  private resolve(node: Node | undefined): Node | undefined {
    let current = node;
    for (let hops = 0; isAlias(current) && hops < 100; hops++) current = current.resolve(this.doc) as Node | undefined;
    return current;
  }

  private nodePosition(node: Node): Position {
    const offset = node.range?.[0] ?? 0;
    return this.lineCounter.linePos(offset);
  }

  private problemAtOffset(offset: number, message: string): ConfigProblem {
    return { file: this.file, ...this.lineCounter.linePos(offset), message };
  }

  private problemAtNode(node: Node, message: string): ConfigProblem {
    return { file: this.file, ...this.nodePosition(node), message };
  }
}

function isNodeLike(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && 'range' in value;
}

/** An empty value (`key:` with nothing after it) has no text of its own to point at. */
function hasText(node: Node | undefined): node is Node {
  if (node === undefined || node.range === undefined || node.range === null) return false;
  return node.range[1] > node.range[0];
}

/** `{ port: ${PORT} }` is a YAML error: inside `{ }` and `[ ]`, braces are syntax. */
function flowHint(text: string, line: number): string {
  const lineText = text.split('\n')[line - 1] ?? '';
  return lineText.includes('${') ? ' — inside { } or [ ], quote values that use ${...}: "${VAR}"' : '';
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}
