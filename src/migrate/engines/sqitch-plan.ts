/**
 * sqitch.plan, read the way sqitch 1.x reads it (App::Sqitch::Plan's grammar), without sqitch:
 * pragmas (`%project=flipr`), changes (`name [dep !conflict proj:dep dep@tag] <ts> <planner> # note`)
 * and tags (`@v1.0 <ts> <planner> # note`, attached to the change before them). A change may
 * appear again after a tag (`sqitch rework`): each appearance is its own entry, and the older ones
 * keep their scripts as `deploy/<name>@<tag>.sql`.
 *
 * Every change gets sqitch's own change id (the SHA-1 sqitch writes to `sqitch.changes.change_id`),
 * so deployed rows are matched to plan entries exactly as sqitch matches them.
 */
import { createHash } from 'node:crypto';

export interface SqitchDependency {
  conflicts: boolean;
  project?: string;
  change?: string;
  tag?: string;
  /** A change id given instead of a name. */
  id?: string;
}

export interface SqitchChange {
  name: string;
  /** 1-based line in sqitch.plan. */
  line: number;
  requires: SqitchDependency[];
  conflicts: SqitchDependency[];
  /** As written: `2026-12-02T08:17:57Z`. */
  timestamp: string;
  planner: string;
  email: string;
  note: string;
  /** Tags on this change, without `@`, in plan order. */
  tags: string[];
  /** sqitch's change id. */
  changeId: string;
  /** stagecraft's id: the name for a change's newest appearance, `name@tag` for a reworked (older) one. */
  key: string;
  /** Tags between this appearance and the next one of the same name (sqitch's rework tags); empty when not reworked. */
  reworkTags: string[];
}

export interface SqitchTag {
  name: string;
  line: number;
  /** Index of the change it is on. */
  change: number;
}

export interface SqitchPlan {
  project: string;
  uri?: string;
  pragmas: Record<string, string>;
  changes: SqitchChange[];
  tags: SqitchTag[];
}

export class SqitchPlanError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

// Like [:punct:] without `_`.
const PUNCT = String.raw`\-!"#$%&'()*+,./:;<=>?@\[\\\]^\x60{|}~`;
const NAME = String.raw`(?![${PUNCT}])(?:(?![~/=%^][0-9]+(?:$|[ \t]))[^ \t:@#\\])+(?<![${PUNCT}])`;
const TIMESTAMP = String.raw`(?<ts>[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)`;
const PLANNER = String.raw`(?<planner>[^<]+)[ \t]+<(?<email>[^>]+)>`;
const LINE = new RegExp(
  String.raw`^[ \t]*(?:@|[ \t]*(?<operator>[+-])[ \t]*)?(?<name>${NAME})(?:[ \t]+)?(?:\[(?<deps>[^\]]+)\][ \t]*)?(?:${TIMESTAMP}[ \t]*)?(?:${PLANNER})?$`,
);
const DEPENDENCY = new RegExp(String.raw`^(?<bang>!?)(?:(?<project>${NAME}):)?(?:(?<id>[0-9a-f]{40})|(?<change>${NAME})(?:@(?<tag>${NAME}))?|@(?<onlyTag>${NAME}))$`);
const PRAGMA = new RegExp(String.raw`^[ \t]*%[ \t]*(?<name>[^${PUNCT}](?:[^ \t=]*?[^${PUNCT} \t])?)(?:[ \t]*=[ \t]*(?<value>.+))?$`);
const PROJECT_NAME = new RegExp(`^${NAME}$`);
const BLANK_OR_COMMENT = /^[ \t]*(?:#[ \t]*(?<note>.+)|$)/;
const INLINE_NOTE = /[ \t]*(?:#[ \t]*(?<note>.*))?$/;
const RESERVED = new Set(['HEAD', 'ROOT']);

export function parseDependency(text: string): SqitchDependency | undefined {
  const groups = DEPENDENCY.exec(text)?.groups;
  if (!groups) return undefined;
  const tag = groups.tag ?? groups.onlyTag;
  return {
    conflicts: groups.bang === '!',
    ...(groups.project !== undefined ? { project: groups.project } : {}),
    ...(groups.id !== undefined ? { id: groups.id } : {}),
    ...(groups.change !== undefined ? { change: groups.change } : {}),
    ...(tag !== undefined ? { tag } : {}),
  };
}

/** A dependency as sqitch writes it in a change's info (`proj:` only for another project). */
function dependencyString(dependency: SqitchDependency, project: string): string {
  const key = `${dependency.change ?? ''}${dependency.tag !== undefined ? `@${dependency.tag}` : ''}` || (dependency.id ?? '');
  return dependency.project !== undefined && dependency.project !== project ? `${dependency.project}:${key}` : key;
}

/** A note as sqitch stores it: trimmed, `\n`, `\r` and `\\` unescaped. */
function unescapeNote(note: string | undefined): string {
  if (note === undefined) return '';
  return note.trim().replace(/\\([\\nr])/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : '\\'));
}

function sha1(kind: 'change', info: string): string {
  const content = Buffer.from(info, 'utf8');
  return createHash('sha1').update(`${kind} ${content.length}\0`).update(content).digest('hex');
}

/** sqitch's change id: the SHA-1 of the change's info (project, uri, name, parent, planner, date, dependencies, note). */
export function sqitchChangeId(project: string, uri: string | undefined, change: Omit<SqitchChange, 'changeId' | 'key' | 'reworkTags' | 'tags' | 'line'>, parentId: string | undefined): string {
  const requires = change.requires.map((d) => dependencyString(d, project));
  const conflicts = change.conflicts.map((d) => dependencyString(d, project));
  const info = [
    `project ${project}`,
    ...(uri !== undefined ? [`uri ${uri}`] : []),
    `change ${change.name}`,
    ...(parentId !== undefined ? [`parent ${parentId}`] : []),
    `planner ${change.planner} <${change.email}>`,
    `date ${change.timestamp}`,
    ...(requires.length > 0 ? [`requires\n  + ${requires.join('\n  + ')}`] : []),
    ...(conflicts.length > 0 ? [`conflicts\n  - ${conflicts.join('\n  - ')}`] : []),
    // Perl's truthiness: a note of "0" is no note.
    ...(change.note !== '' && change.note !== '0' ? ['', change.note] : []),
  ].join('\n');
  return sha1('change', info);
}

interface RawLine {
  number: number;
  text: string;
}

function readPragmas(lines: RawLine[]): { pragmas: Record<string, string>; rest: RawLine[] } {
  const pragmas: Record<string, string> = {};
  let index = 0;
  let sawAny = false;
  for (; index < lines.length; index++) {
    const { number, text } = lines[index]!;
    const blank = BLANK_OR_COMMENT.exec(text);
    if (blank) {
      // A blank line (not a comment) ends the pragmas.
      if (sawAny && blank.groups?.note === undefined) {
        index++;
        break;
      }
      sawAny = true;
      continue;
    }
    sawAny = true;
    const withoutNote = text.replace(INLINE_NOTE, '');
    const pragma = PRAGMA.exec(withoutNote)?.groups;
    if (!pragma) throw new SqitchPlanError(number, 'Invalid pragma; a blank line must come between pragmas and changes');
    const value = pragma.value ?? '1';
    if (pragma.name === 'project' && !PROJECT_NAME.test(value)) {
      throw new SqitchPlanError(number, `invalid project name "${value}": project names must not begin with punctuation, contain "@", ":", "#", "\\", or blanks, or end in punctuation or digits following punctuation`);
    }
    pragmas[pragma.name!] = value;
  }
  return { pragmas, rest: lines.slice(index) };
}

/** Parses sqitch.plan. Throws SqitchPlanError (with the line) where sqitch would refuse the file. */
export function parseSqitchPlan(text: string): SqitchPlan {
  const lines = text.split('\n').map((line, index) => ({ number: index + 1, text: line.replace(/\r$/, '') }));
  if (lines.length > 0 && lines.at(-1)!.text === '') lines.pop();
  const { pragmas, rest } = readPragmas(lines);
  const project = pragmas.project;
  if (project === undefined) throw new SqitchPlanError(1, 'Missing %project pragma');
  const uri = pragmas.uri;

  const changes: SqitchChange[] = [];
  const tags: SqitchTag[] = [];
  const seenTags = new Map<string, number>();
  let sinceTag = new Map<string, number>();
  const latestNamed = new Map<string, number>();

  for (const { number, text: raw } of rest) {
    if (BLANK_OR_COMMENT.test(raw)) continue;
    const note = INLINE_NOTE.exec(raw)?.groups?.note;
    const text = raw.replace(INLINE_NOTE, '');
    const isTag = /^[ \t]*@/.test(text);
    const match = LINE.exec(text)?.groups;
    if (!match?.name) {
      throw new SqitchPlanError(number, 'Invalid name; names must not begin with punctuation, contain "@", ":", "#", "\\", or blanks, or end in punctuation or digits following punctuation');
    }
    if (!match.ts && !match.planner) throw new SqitchPlanError(number, 'Missing timestamp and planner name and email');
    if (!match.ts) throw new SqitchPlanError(number, 'Missing timestamp');
    if (!match.planner) throw new SqitchPlanError(number, 'Missing planner name and email');
    const name = match.name;
    if (RESERVED.has(name)) throw new SqitchPlanError(number, `"${isTag ? '@' : ''}${name}" is a reserved name`);
    if (/^[0-9a-f]{40}/.test(name)) throw new SqitchPlanError(number, `"${name}" is invalid because it could be confused with a SHA1 ID`);

    if (isTag) {
      if (name.includes('/')) throw new SqitchPlanError(number, `Tag "${name}" contains illegal character /`);
      if (changes.length === 0) throw new SqitchPlanError(number, `Tag "${name}" declared without a preceding change`);
      const earlier = seenTags.get(name);
      if (earlier !== undefined) throw new SqitchPlanError(number, `Tag "${name}" duplicates earlier declaration on line ${earlier}`);
      if (match.deps) throw new SqitchPlanError(number, 'Tags may not specify dependencies');
      seenTags.set(name, number);
      tags.push({ name, line: number, change: changes.length - 1 });
      changes.at(-1)!.tags.push(name);
      sinceTag = new Map();
      continue;
    }

    const earlier = sinceTag.get(name);
    if (earlier !== undefined) throw new SqitchPlanError(number, `Change "${name}" duplicates earlier declaration on line ${earlier}`);
    const requires: SqitchDependency[] = [];
    const conflicts: SqitchDependency[] = [];
    const seenDeps = new Set<string>();
    for (const word of (match.deps ?? '').split(/[ \t]+/).filter(Boolean)) {
      const dependency = parseDependency(word);
      if (!dependency) throw new SqitchPlanError(number, `"${word}" is not a valid dependency specification`);
      if (seenDeps.has(word)) throw new SqitchPlanError(number, `Duplicate dependency "${word}"`);
      seenDeps.add(word);
      (dependency.conflicts ? conflicts : requires).push(dependency);
    }
    const base = { name, requires, conflicts, timestamp: match.ts, planner: match.planner, email: match.email!, note: unescapeNote(note) };
    const change: SqitchChange = { ...base, line: number, tags: [], changeId: sqitchChangeId(project, uri, base, changes.at(-1)?.changeId), key: name, reworkTags: [] };

    const previous = latestNamed.get(name);
    if (previous !== undefined) {
      // sqitch's rework tags: the tags of the changes since the earlier appearance, newest first, then its own.
      const between: string[] = [];
      for (let i = changes.length - 1; i > previous; i--) between.push(...changes[i]!.tags);
      changes[previous]!.reworkTags.push(...between, ...changes[previous]!.tags);
    }
    latestNamed.set(name, changes.length);
    sinceTag.set(name, number);
    changes.push(change);
  }
  return { project, ...(uri !== undefined ? { uri } : {}), pragmas, changes, tags };
}

/**
 * Script file name of a change under deploy/, revert/ or verify/ (sqitch's path_segments): `name.sql`,
 * or for an older appearance of a reworked change `name@<tag>.sql` with the first rework tag whose
 * deploy script exists (the first rework tag when none does). `/` in a name makes subdirectories.
 */
export function scriptName(change: SqitchChange, extension: string, deployExists: (relative: string) => boolean): string {
  if (change.reworkTags.length === 0) return `${change.name}.${extension}`;
  const candidates = change.reworkTags.map((tag) => `${change.name}@${tag}.${extension}`);
  return candidates.find(deployExists) ?? candidates[0]!;
}

/** stagecraft ids: the name for a change's newest appearance, `name@tag` (the tag of its script) for older ones. */
export function withKeys(plan: SqitchPlan, extension: string, deployExists: (relative: string) => boolean): SqitchPlan {
  const changes = plan.changes.map((change) => {
    if (change.reworkTags.length === 0) return change;
    const file = scriptName(change, extension, deployExists);
    return { ...change, key: file.slice(0, -(extension.length + 1)) };
  });
  return { ...plan, changes };
}

/**
 * The plan entry a dependency names, as stagecraft's id, or undefined (another project, unknown).
 * `name` is its latest appearance before `before`; `name@tag` the appearance current at the tag;
 * `@tag` the change the tag is on.
 */
export function resolveDependency(plan: SqitchPlan, dependency: SqitchDependency, before: number): string | undefined {
  if (dependency.project !== undefined && dependency.project !== plan.project) return undefined;
  if (dependency.id !== undefined) return plan.changes.find((c) => c.changeId === dependency.id)?.key;
  let limit = before - 1;
  if (dependency.tag !== undefined) {
    const tag = plan.tags.find((t) => t.name === dependency.tag);
    if (!tag) return undefined;
    if (dependency.change === undefined) return plan.changes[tag.change]?.key;
    limit = tag.change;
  }
  for (let i = limit; i >= 0; i--) if (plan.changes[i]!.name === dependency.change) return plan.changes[i]!.key;
  return undefined;
}

/**
 * A change as a sqitch change spec that names exactly one appearance: `name@HEAD` for the newest
 * (a bare name of a reworked change is ambiguous to sqitch), `name@tag` for older ones.
 */
export function changeSpec(change: SqitchChange): string {
  return change.reworkTags.length === 0 ? `${change.name}@HEAD` : change.key;
}
