/**
 * The raw engine's migrations: `NNNN_name.sql` (or golang-migrate's `NNNN_name.up.sql`) files with
 * optional `NNNN_name.down.sql`, in one directory, plus the chosen environment's own files
 * (`<dir>/<environment>/`, or those `environments.json` lists). They apply in dependency order
 * (Kahn, ties by number), which is numeric order when no file declares a dependency.
 */
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../../errors.js';
import { printableText } from '../../user-text.js';
import { formatCycle, orderMigrations } from '../graph/order.js';
import { DEPENDENCIES_FILE, headerDependencies, parseDependenciesFile } from './dependencies.js';
import type { DeclaredDependencies, DependencyReference, MigrationMetadata } from './dependencies.js';
import { EXPECTED_NAMES, classifyFileName } from './layout.js';
import type { RawLayout } from './layout.js';

/** First line that makes the raw engine run a file statement by statement, outside a transaction. */
export const NO_TRANSACTION_MARKER = '-- stagecraft:no-transaction';

export const ENVIRONMENTS_FILE = 'environments.json';

/** A leading comment line that moves a pre_deploy database's migration after the rollout (migrate_post). */
export const POST_DEPLOY_MARKER = '-- stagecraft:post-deploy';
/** Files under `<path>/post/` run after the rollout too, as if marked. */
export const POST_DEPLOY_DIR = 'post';

export interface RawMigrationFile {
  /** `0001_create_users` */
  id: string;
  /** Relative to the migrations directory: `0001_create_users.sql`, `staging/0005_demo.up.sql`. */
  file: string;
  number: bigint;
  path: string;
  /** sha256 of the file's bytes, hex. */
  checksum: string;
  sql: string;
  down?: { file: string; path: string } | undefined;
  /** Set for a file that belongs to one environment only. */
  environment?: string | undefined;
  /** Marked `-- stagecraft:post-deploy` or under `post/`: a deploy runs it in migrate_post. */
  post_deploy: boolean;
  /** Ids (resolved) this migration needs applied first. */
  depends_on: string[];
  metadata: MigrationMetadata;
}

export interface RawMigrationSet {
  /** Undefined when the directory has no migration yet. */
  layout: RawLayout | undefined;
  files: RawMigrationFile[];
}

export interface ReadMigrationOptions {
  /** Include this stagecraft environment's own migrations. */
  environment?: string | undefined;
}

export function checksumOf(content: Buffer | string): string {
  return createHash('sha256').update(content).digest('hex');
}

/** True when one of the file's leading comment lines is the post-deploy marker. */
export function hasPostDeployMarker(sql: string): boolean {
  for (const line of sql.replace(/^\uFEFF/, '').split('\n')) {
    const text = line.trim();
    if (text === '') continue;
    if (!text.startsWith('--')) return false;
    if (text === POST_DEPLOY_MARKER) return true;
  }
  return false;
}

/** True when the file's first line is the no-transaction marker. */
export function isNoTransaction(sql: string): boolean {
  const firstLine = sql.replace(/^\uFEFF/, '').split('\n', 1)[0] ?? '';
  return firstLine.trim() === NO_TRANSACTION_MARKER;
}

/** Reads every migration under `dir`, in the order they apply; throws a UserError listing every problem. */
export async function readMigrationFiles(dir: string, displayDir: string, options: ReadMigrationOptions = {}): Promise<RawMigrationFile[]> {
  return (await readMigrationSet(dir, displayDir, options)).files;
}

interface Candidate {
  /** Relative to the migrations directory. */
  relative: string;
  environment: string | undefined;
  /** Under post/. */
  post?: boolean;
}

interface UpFile {
  id: string;
  number: bigint;
  relative: string;
  layout: RawLayout;
  environment: string | undefined;
  post: boolean;
}

export async function readMigrationSet(dir: string, displayDir: string, options: ReadMigrationOptions = {}): Promise<RawMigrationSet> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`migrations directory ${displayDir} does not exist`, { hint: 'check migrations.path in stagecraft.yml (relative to the file)' });
    if (code === 'ENOTDIR') throw new UserError(`migrations path ${displayDir} is not a directory`);
    throw new UserError(`cannot read migrations directory ${displayDir}: ${(error as Error).message}`);
  }
  const problems: string[] = [];
  const candidates: Candidate[] = names.filter((name) => name.endsWith('.sql')).map((name) => ({ relative: name, environment: undefined }));
  if (options.environment !== undefined && options.environment !== POST_DEPLOY_DIR) {
    candidates.push(...(await environmentCandidates(dir, displayDir, names, options.environment, problems)));
  }
  if (names.includes(POST_DEPLOY_DIR)) candidates.push(...(await sqlFilesIn(dir, POST_DEPLOY_DIR)).map((relative) => ({ relative, environment: undefined, post: true })));

  const ups = new Map<string, UpFile>();
  const downs = new Map<string, string>();
  const byNumber = new Map<bigint, string>();
  for (const { relative, environment, post } of candidates.sort((a, b) => (a.relative < b.relative ? -1 : a.relative > b.relative ? 1 : 0))) {
    const named = classifyFileName(path.basename(relative));
    if (named.kind === 'bad') {
      problems.push(`${printableText(relative)}: ${EXPECTED_NAMES}`);
      continue;
    }
    const notAFile = await notARegularFile(path.join(dir, relative));
    if (notAFile !== undefined) {
      problems.push(`${printableText(relative)}: ${notAFile}; a migration must be a regular file`);
      continue;
    }
    if (named.kind === 'down') {
      downs.set(named.id, relative);
      continue;
    }
    const same = ups.get(named.id);
    if (same !== undefined) {
      problems.push(`${relative}: same id ${named.id} as ${same.relative}; an environment's own migration needs an id of its own`);
      continue;
    }
    const clash = byNumber.get(named.number);
    if (clash !== undefined) {
      problems.push(`${relative}: number ${named.digits} is also used by ${clash}; each migration needs its own number`);
      continue;
    }
    byNumber.set(named.number, relative);
    ups.set(named.id, { id: named.id, number: named.number, relative, layout: named.layout, environment, post: post === true });
  }
  for (const [id, down] of downs) {
    if (!ups.has(id)) problems.push(`${down}: no ${id}.sql (or ${id}.up.sql) to go with it`);
  }
  const plain = [...ups.values()].find((up) => up.layout === 'plain');
  const upDown = [...ups.values()].find((up) => up.layout === 'up-down');
  if (plain && upDown) {
    problems.push(`${plain.relative} and ${upDown.relative}: two layouts in one directory; name every migration NNNN_name.sql, or every one NNNN_name.up.sql`);
  }
  fail(displayDir, problems);

  const declared = await readDependenciesFile(dir, displayDir);
  const files = await Promise.all(
    [...ups.values()].map(async (up): Promise<RawMigrationFile> => {
      const filePath = path.join(dir, up.relative);
      const content = await readFile(filePath);
      const down = downs.get(up.id);
      const sql = content.toString('utf8');
      return {
        id: up.id,
        file: up.relative,
        number: up.number,
        path: filePath,
        checksum: checksumOf(content),
        sql,
        down: down === undefined ? undefined : { file: down, path: path.join(dir, down) },
        environment: up.environment,
        post_deploy: up.post || hasPostDeployMarker(sql),
        depends_on: [],
        metadata: {},
      };
    }),
  );
  problems.push(...declared.problems);
  resolveDependencies(files, declared, displayDir, problems);
  fail(displayDir, problems);

  const ordered = orderMigrations(files.map((file) => ({ id: file.id, dependsOn: file.depends_on })));
  if (!ordered.ok) {
    // Unknown ids were reported above with their positions; only a cycle is left.
    fail(displayDir, [`a dependency cycle: ${formatCycle(ordered.cycle ?? [])}`]);
  }
  const byId = new Map(files.map((file) => [file.id, file]));
  return { layout: plain ? 'plain' : upDown ? 'up-down' : undefined, files: (ordered as { order: string[] }).order.map((id) => byId.get(id)!) };
}

function fail(displayDir: string, problems: readonly string[]): void {
  if (problems.length === 0) return;
  throw new UserError(`${displayDir}: ${problems.length === 1 ? problems[0] : `\n  ${problems.join('\n  ')}`}`);
}

const environmentsFileSchema = z
  .object({ environments: z.record(z.string(), z.object({ migrations: z.array(z.string().min(1)) }).strict()) })
  .strict();

/** The environment's own migration files: those `environments.json` lists, else `<dir>/<environment>/*.sql`. */
async function environmentCandidates(dir: string, displayDir: string, names: readonly string[], environment: string, problems: string[]): Promise<Candidate[]> {
  if (names.includes(ENVIRONMENTS_FILE)) {
    const display = path.join(displayDir, ENVIRONMENTS_FILE);
    let value: unknown;
    try {
      value = JSON.parse(await readFile(path.join(dir, ENVIRONMENTS_FILE), 'utf8'));
    } catch (error) {
      problems.push(`${display}: not valid JSON: ${(error as Error).message}`);
      return [];
    }
    const parsed = environmentsFileSchema.safeParse(value);
    if (!parsed.success) {
      problems.push(`${display}: expected {"environments": {"<name>": {"migrations": ["<env>/NNNN_name.sql", ...]}}}: ${parsed.error.issues[0]?.message ?? ''}`);
      return [];
    }
    const listed = parsed.data.environments[environment]?.migrations ?? [];
    const found: Candidate[] = [];
    for (const entry of listed) {
      const relative = path.normalize(entry);
      if (path.isAbsolute(relative) || relative.startsWith('..') || !relative.endsWith('.sql')) {
        problems.push(`${display}: "${printableText(entry)}" must be a .sql file inside ${displayDir}`);
        continue;
      }
      if (!(await lstat(path.join(dir, relative)).then(() => true, () => false))) {
        problems.push(`${display}: ${printableText(relative)} is listed for ${environment} but does not exist`);
        continue;
      }
      found.push({ relative, environment });
      const named = classifyFileName(path.basename(relative));
      if (named.kind === 'up') {
        const down = path.join(path.dirname(relative), `${named.id}.down.sql`);
        if (await lstat(path.join(dir, down)).then(() => true, () => false)) found.push({ relative: down, environment });
      }
    }
    return found;
  }
  return (await sqlFilesIn(dir, environment)).map((relative) => ({ relative, environment }));
}

/** `<sub>/*.sql` relative to `dir`; nothing when `<sub>` is not a directory. */
async function sqlFilesIn(dir: string, sub: string): Promise<string[]> {
  let entries: string[];
  try {
    if (!(await stat(path.join(dir, sub))).isDirectory()) return [];
    entries = await readdir(path.join(dir, sub));
  } catch {
    return [];
  }
  return entries.filter((name) => name.endsWith('.sql')).map((name) => path.join(sub, name));
}

async function readDependenciesFile(dir: string, displayDir: string): Promise<DeclaredDependencies> {
  const display = path.join(displayDir, DEPENDENCIES_FILE);
  let text: string;
  try {
    text = await readFile(path.join(dir, DEPENDENCIES_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { byKey: new Map(), problems: [] };
    return { byKey: new Map(), problems: [`${display}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`] };
  }
  return parseDependenciesFile(text, display);
}

/** Full id for a reference written as a full id or a bare number ("0002", "2"). */
function resolveReference(ref: string, files: readonly RawMigrationFile[]): RawMigrationFile | undefined {
  if (/^\d+$/.test(ref)) {
    const number = BigInt(ref);
    return files.find((file) => file.number === number);
  }
  return files.find((file) => file.id === ref);
}

/** Fills `depends_on` and `metadata` of every file from its header and dependencies.json. */
function resolveDependencies(files: RawMigrationFile[], declared: DeclaredDependencies, displayDir: string, problems: string[]): void {
  const references = new Map<string, DependencyReference[]>(files.map((file) => [file.id, []]));
  for (const file of files) {
    const header = headerDependencies(file.sql, path.join(displayDir, file.file));
    problems.push(...header.problems);
    references.get(file.id)!.push(...header.refs);
  }
  for (const [key, entry] of declared.byKey) {
    const file = resolveReference(key, files);
    if (file === undefined) continue; // an entry for another environment's migration, or one not written yet
    references.get(file.id)!.push(...entry.dependsOn);
    file.metadata = { ...file.metadata, ...entry.metadata };
  }
  for (const file of files) {
    const resolved = new Set<string>();
    for (const { ref, where } of references.get(file.id)!) {
      const target = resolveReference(ref, files);
      if (target === undefined) {
        problems.push(`${where}: ${file.id} depends on ${printableText(ref)}, which is not a migration here`);
      } else if (target.environment !== undefined && file.environment === undefined) {
        problems.push(`${where}: ${file.id} is a base migration and cannot depend on ${target.id}, which belongs to environment ${target.environment} only`);
      } else {
        resolved.add(target.id);
      }
    }
    file.depends_on = [...resolved];
  }
}

/**
 * Why the entry at `file` cannot be read as a migration (a directory, a dangling link, a FIFO
 * that would block the read…), or undefined for a regular file or a link to one.
 */
async function notARegularFile(file: string): Promise<string | undefined> {
  let own;
  try {
    own = await lstat(file);
  } catch (error) {
    return `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
  }
  if (own.isFile()) return undefined;
  if (own.isDirectory()) return 'is a directory';
  if (!own.isSymbolicLink()) return 'is not a regular file (a device, socket or pipe)';
  try {
    const target = await stat(file);
    if (target.isFile()) return undefined;
    return target.isDirectory() ? 'is a symlink to a directory' : 'is a symlink to something that is not a regular file';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'is a dangling symlink';
    if (code === 'ELOOP') return 'is a symlink loop';
    return `is a symlink that cannot be followed (${code ?? (error as Error).message})`;
  }
}

/** Absolute migrations directory, and how messages show it (relative to the config dir). */
export function migrationsDir(configDir: string, migrationsPath: string): { dir: string; display: string } {
  const dir = path.resolve(configDir, migrationsPath);
  const relative = path.relative(process.cwd(), dir);
  return { dir, display: relative === '' ? '.' : relative.startsWith('..') ? dir : relative };
}
