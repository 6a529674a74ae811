import { Lexer, LineCounter, isAlias, isCollection, isMap, isPair, isScalar, isSeq, parseDocument } from 'yaml';
import type { Alias, Document, Node, Pair } from 'yaml';
import { ConfigError } from './errors.js';
import type { ConfigProblem } from './errors.js';
import type { ConfigPath } from './paths.js';

export interface Position {
  readonly line: number;
  readonly col: number;
}

/**
 * What a stagecraft.yml may hold. A real one has a few hundred nodes; these bounds keep a hostile or
 * broken file (alias bombs, thousands of levels, megabytes of tiny nodes) to a fraction of a second
 * and a few megabytes of memory before it is refused.
 */
export const YAML_LIMITS = {
  /** Scalars (keys and values) in the file, counted by the lexer before anything is built. */
  maxScalars: 10_000,
  /** `*alias` uses in the file. */
  maxAliases: 100,
  /** Levels of nested mappings and lists. */
  maxDepth: 64,
  /** Nodes of the document with every alias expanded: each use of an anchor is copied once variables are expanded. */
  maxExpandedNodes: 20_000,
} as const;

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
    /** Every alias with the node it stands for (resolved once, in document order). */
    private readonly aliasTargets: ReadonlyMap<Alias, Node>,
  ) {}

  /**
   * Throws ConfigError for syntax errors, unknown or self-containing aliases, duplicate and `__proto__`
   * keys, and files beyond YAML_LIMITS. Every check is linear in the size of the file.
   */
  static parse(text: string, file: string): YamlSource {
    checkTokens(text, file);
    const lineCounter = new LineCounter();
    // Keys are checked for uniqueness below, in linear time (the parser's own check compares every pair).
    // The core schema only: no YAML 1.1 !!set, !!binary or timestamps turning into non-plain objects.
    const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true, uniqueKeys: false, schema: 'core', logLevel: 'error' });
    const syntax = doc.errors[0];
    if (syntax !== undefined) {
      const { line, col } = lineCounter.linePos(syntax.pos[0]);
      const message =
        syntax.code === 'RESOURCE_EXHAUSTION'
          ? `nested too deeply: a config may nest mappings and lists at most ${YAML_LIMITS.maxDepth} levels`
          : firstLine(syntax.message);
      const more = doc.errors.length > 1 ? ` (and ${doc.errors.length - 1} more after it)` : '';
      // Only the first syntax error: the ones after it are mostly the parser losing its footing.
      throw new ConfigError({ file, line, col, message: `${message}${more}${flowHint(text, line)}` });
    }
    const checked = checkStructure(doc);
    const at = (node: Node, message: string): ConfigProblem => ({ file, ...lineCounter.linePos(node.range?.[0] ?? 0), message });
    if (checked.problems.length > 0) throw new ConfigError(checked.problems.map((problem) => at(problem.node, problem.message)));
    return new YamlSource(file, doc, lineCounter, checked.aliasTargets);
  }

  /** The document as plain data (aliases and merge keys resolved). */
  toValue(): unknown {
    try {
      return this.doc.toJS({ maxAliasCount: YAML_LIMITS.maxExpandedNodes });
    } catch (error) {
      // checkStructure bounds every expansion first; this is the yaml package's own guard behind it.
      const reason = error instanceof Error ? error.message : String(error);
      const first = this.aliasTargets.keys().next().value;
      const position = first === undefined ? { line: 1, col: 1 } : this.nodePosition(first);
      throw new ConfigError({ file: this.file, ...position, message: `cannot expand aliases: ${reason}` });
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
    return isAlias(node) ? this.aliasTargets.get(node) : node;
  }

  private nodePosition(node: Node): Position {
    const offset = node.range?.[0] ?? 0;
    return this.lineCounter.linePos(offset);
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

/** The lexer's zero-width markers (document start, scalar start, flow error end). */
const ZERO_WIDTH = new Set(['\x02', '\x1f', '\x18']);
const SCALAR_MARK = '\x1f';

/**
 * Counts scalars, aliases and flow nesting with the yaml lexer, which is linear and builds nothing:
 * a file of megabytes of tiny nodes or thousands of `[` is refused before the (much slower) parser runs.
 */
function checkTokens(text: string, file: string): void {
  let offset = 0;
  let scalars = 0;
  let aliases = 0;
  let flowDepth = 0;
  const refuse = (message: string): never => {
    throw new ConfigError({ file, ...positionOf(text, offset), message });
  };
  for (const token of new Lexer().lex(text)) {
    if (token === SCALAR_MARK) {
      if (++scalars > YAML_LIMITS.maxScalars) refuse(`more than ${YAML_LIMITS.maxScalars} keys and values: too big for a config file`);
      continue;
    }
    if (ZERO_WIDTH.has(token)) continue;
    const first = token[0];
    if ((first === '"' || first === "'") && ++scalars > YAML_LIMITS.maxScalars) {
      refuse(`more than ${YAML_LIMITS.maxScalars} keys and values: too big for a config file`);
    } else if (first === '*' && ++aliases > YAML_LIMITS.maxAliases) {
      refuse(`more than ${YAML_LIMITS.maxAliases} aliases (*name): a config may use at most ${YAML_LIMITS.maxAliases}`);
    } else if ((token === '[' || token === '{') && ++flowDepth > YAML_LIMITS.maxDepth) {
      refuse(`nested too deeply: a config may nest mappings and lists at most ${YAML_LIMITS.maxDepth} levels`);
    } else if (token === ']' || token === '}') {
      flowDepth = Math.max(0, flowDepth - 1);
    }
    offset += token.length;
  }
}

/** 1-based line and column of `offset`, for errors found before a LineCounter exists. */
function positionOf(text: string, offset: number): Position {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, col: offset - lineStart + 1 };
}

interface StructureProblem {
  node: Node;
  message: string;
}

/** A step of the walk: enter a node, leave a collection (its size is then known), or check one mapping entry. */
type Step =
  | { kind: 'enter'; node: Node; depth: number }
  | { kind: 'leave'; node: Node }
  | { kind: 'pair'; pair: Pair; depth: number; keys: Map<string, Node> };

/** Prototype keys: assigning them onto a plain object changes its prototype instead of adding a key. */
const FORBIDDEN_KEYS = new Set(['__proto__']);

/**
 * One walk in document order, with an explicit stack (no recursion however deep the file): resolves each
 * alias to the last anchor before it, counts the document's size with aliases expanded (each anchor's
 * size is known when it is used, because an anchor is complete before any alias to it), and reports
 * depth beyond the limit, unknown and self-containing aliases, duplicate keys and `__proto__` keys.
 */
function checkStructure(doc: Document.Parsed): { problems: StructureProblem[]; aliasTargets: Map<Alias, Node> } {
  const problems: StructureProblem[] = [];
  const aliasTargets = new Map<Alias, Node>();
  const anchors = new Map<string, Node>();
  /** Expanded size of each finished node. */
  const sizes = new Map<Node, number>();
  /** Collections being walked (an alias to one of them would contain itself). */
  const open = new Set<Node>();
  let expanded = 0;
  const root = doc.contents;
  const stack: Step[] = root === null ? [] : [{ kind: 'enter', node: root, depth: 1 }];

  const sizeOf = (node: unknown): number => (isNodeLike(node) ? (sizes.get(isAlias(node) ? (aliasTargets.get(node) ?? node) : node) ?? 1) : 0);

  while (stack.length > 0) {
    const step = stack.pop() as Step;
    if (step.kind === 'leave') {
      open.delete(step.node);
      let size = 1;
      if (isCollection(step.node)) {
        for (const item of step.node.items) size += isPair(item) ? sizeOf(item.key) + sizeOf(item.value) : sizeOf(item);
      }
      sizes.set(step.node, size);
      continue;
    }
    if (step.kind === 'pair') {
      const { pair, depth, keys } = step;
      // An alias key is entered after this check: look its anchor up directly.
      const keyNode = isAlias(pair.key) ? anchors.get(pair.key.source) : pair.key;
      if (isScalar(keyNode) && typeof keyNode.value !== 'symbol' && isNodeLike(pair.key)) {
        const name = String(keyNode.value);
        if (FORBIDDEN_KEYS.has(name)) {
          problems.push({ node: pair.key, message: `key "${name}" is not allowed (it would replace an object's prototype)` });
        } else if (keys.has(name)) {
          problems.push({ node: pair.key, message: `duplicate key "${name}" in this mapping` });
        } else {
          keys.set(name, pair.key);
        }
      }
      if (isNodeLike(pair.value)) stack.push({ kind: 'enter', node: pair.value, depth });
      if (isNodeLike(pair.key)) stack.push({ kind: 'enter', node: pair.key, depth });
      continue;
    }

    const { node, depth } = step;
    if (node.anchor !== undefined) anchors.set(node.anchor, node);
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      if (target === undefined) {
        problems.push({ node, message: `unknown alias "*${node.source}" (define the anchor "&${node.source}" before using it)` });
        continue;
      }
      if (open.has(target)) {
        return { problems: [{ node, message: `alias "*${node.source}" is inside the node it refers to (a cycle)` }], aliasTargets };
      }
      aliasTargets.set(node, target);
      expanded += sizes.get(target) ?? 1;
      if (expanded > YAML_LIMITS.maxExpandedNodes) {
        const message = `aliases expand the document to more than ${YAML_LIMITS.maxExpandedNodes} values: too big for a config file`;
        return { problems: [{ node, message }], aliasTargets };
      }
      continue;
    }
    expanded++;
    if (!isCollection(node)) {
      sizes.set(node, 1);
      continue;
    }
    if (depth > YAML_LIMITS.maxDepth) {
      const message = `nested too deeply: a config may nest mappings and lists at most ${YAML_LIMITS.maxDepth} levels`;
      return { problems: [{ node, message }], aliasTargets };
    }
    open.add(node);
    stack.push({ kind: 'leave', node });
    const keys = new Map<string, Node>();
    for (let i = node.items.length - 1; i >= 0; i--) {
      const item = node.items[i];
      if (isPair(item)) stack.push({ kind: 'pair', pair: item, depth: depth + 1, keys });
      else if (isNodeLike(item)) stack.push({ kind: 'enter', node: item, depth: depth + 1 });
    }
  }
  return { problems, aliasTargets };
}
