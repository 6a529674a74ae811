/**
 * `migrate new`: writes a new raw migration (up + down file) in the directory's own layout and
 * numbering, never overwriting a file.
 */
import { readdir, readFile, mkdir, open, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../errors.js';
import type { EngineSettings } from '../engine-commands.js';
import { migrationsDir, readMigrationSet } from '../raw/files.js';
import { printableText } from '../../user-text.js';
import type { RawMigrationFile } from '../raw/files.js';
import { classifyFileName, fileNamesFor } from '../raw/layout.js';
import type { RawLayout } from '../raw/layout.js';
import { nextNumber, normaliseName, tableName } from './naming.js';
import { BUILT_IN_TEMPLATES, TEMPLATES_DIR, builtInTemplate, isBuiltInTemplate, renderMigration } from './templates.js';
import type { MigrationText } from './templates.js';

/** The command each tool engine creates its migrations with. */
export function toolNewCommand(settings: EngineSettings, name: string): string | undefined {
  const dir = settings.path ?? 'migrations';
  switch (settings.engine) {
    case 'raw':
      return undefined;
    case 'knex':
      return `npx knex migrate:make ${name}`;
    case 'prisma':
      return `npx prisma migrate dev --name ${name}`;
    case 'drizzle':
      return 'npx drizzle-kit generate';
    case 'golang-migrate':
      return `migrate create -ext sql -dir ${dir} -seq ${name}`;
    case 'sqitch':
      return `sqitch add ${name}`;
    case 'node-pg-migrate':
      return `npx node-pg-migrate create ${name} -m ${dir}`;
    case 'command':
      return 'the tool your migrations.command runs';
  }
}

export interface NewMigrationRequest {
  /** Absolute directory of stagecraft.yml. */
  configDir: string;
  settings: EngineSettings;
  database: string;
  name: string;
  template: string;
  /** Write into `<path>/<environment>/`. */
  environment?: string | undefined;
  /** Every environment stagecraft.yml defines. */
  environments: readonly string[];
  dependsOn: readonly string[];
  now?: Date;
}

export interface NewMigrationResult {
  id: string;
  /** As displayed: relative to cwd. */
  written: string[];
}

/** Digits of every migration file in the base directory and in every subdirectory but templates/. */
async function allNumbers(dir: string): Promise<{ digits: string[]; layouts: Set<RawLayout> }> {
  const digits: string[] = [];
  const layouts = new Set<RawLayout>();
  const scan = async (at: string) => {
    let entries;
    try {
      entries = await readdir(at, { withFileTypes: true });
    } catch {
      return [];
    }
    for (const entry of entries) {
      if (!entry.name.endsWith('.sql')) continue;
      const named = classifyFileName(entry.name);
      if (named.kind === 'bad') continue;
      digits.push(named.digits);
      if (named.kind === 'up') layouts.add(named.layout);
    }
    return entries;
  };
  const top = await scan(dir);
  for (const entry of top) {
    if (entry.isDirectory() && entry.name !== TEMPLATES_DIR) await scan(path.join(dir, entry.name));
  }
  return { digits, layouts };
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UserError(`cannot read template ${file}: ${(error as Error).message}`);
  }
}

/** The project's `templates/<name>.sql` if there is one (it may override a built-in), else the built-in. */
async function templateText(dir: string, display: string, template: string): Promise<MigrationText> {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(template)) throw new UserError(`--template ${printableText(template)}: expected a name like table or my_template`);
  const own = await readIfExists(path.join(dir, TEMPLATES_DIR, `${template}.sql`));
  if (own !== undefined) {
    const down = await readIfExists(path.join(dir, TEMPLATES_DIR, `${template}.down.sql`));
    return { up: own, down: down ?? '-- {{id}}: write the SQL that reverts it here\n' };
  }
  if (isBuiltInTemplate(template)) return builtInTemplate(template);
  throw new UserError(`unknown template "${template}": built-in ${BUILT_IN_TEMPLATES.join(', ')}, or your own ${path.join(display, TEMPLATES_DIR, `${template}.sql`)}`);
}

function resolveDependency(ref: string, files: readonly RawMigrationFile[]): RawMigrationFile | undefined {
  if (/^\d+$/.test(ref)) return files.find((file) => file.number === BigInt(ref));
  return files.find((file) => file.id === ref);
}

async function writeNew(file: string, content: string): Promise<void> {
  const handle = await open(file, 'wx').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EEXIST') throw new UserError(`${file} already exists; not overwritten`);
    throw new UserError(`cannot write ${file}: ${error.message}`);
  });
  try {
    await handle.writeFile(content);
  } finally {
    await handle.close();
  }
}

export async function createRawMigration(request: NewMigrationRequest): Promise<NewMigrationResult> {
  const { settings } = request;
  const name = normaliseName(request.name);
  const tool = toolNewCommand(settings, name || request.name);
  if (tool !== undefined) {
    throw new UserError(`database ${request.database} uses engine ${settings.engine}: stagecraft creates raw migrations only`, { hint: `create it with the tool: ${tool}` });
  }
  if (name === '') throw new UserError(`migration name "${printableText(request.name)}" has no letter or digit: use a name like create_users`);
  const environment = request.environment;
  if (environment !== undefined) {
    if (!request.environments.includes(environment)) throw new UserError(`unknown environment "${environment}" — environments: ${request.environments.join(', ')}`);
    if (environment === TEMPLATES_DIR) throw new UserError(`an environment named ${TEMPLATES_DIR} clashes with the migrations' templates/ directory`);
  }
  const { dir, display } = migrationsDir(request.configDir, settings.path ?? '.');
  if (!(await stat(dir).then((s) => s.isDirectory(), () => false))) {
    await mkdir(dir, { recursive: true });
  }
  // Reading the set checks the directory as a run would (names, layout, dependencies).
  const set = await readMigrationSet(dir, display, { environment });
  const scanned = await allNumbers(dir);
  const layout: RawLayout = set.layout ?? (scanned.layouts.size === 1 ? [...scanned.layouts][0]! : 'plain');

  const dependsOn: string[] = [];
  for (const ref of request.dependsOn.map((item) => item.trim()).filter((item) => item !== '')) {
    const target = resolveDependency(ref, set.files);
    if (target === undefined) {
      throw new UserError(`--depends-on ${printableText(ref)}: no such migration in ${display}${environment ? ` (base or ${environment})` : ''}`);
    }
    if (!dependsOn.includes(target.id)) dependsOn.push(target.id);
  }

  const digits = nextNumber(scanned.digits, request.now ?? new Date());
  const id = `${digits}_${name}`;
  const text = renderMigration(await templateText(dir, display, request.template), { id, name, table: tableName(name) }, dependsOn);
  const targetDir = environment === undefined ? dir : path.join(dir, environment);
  const targetDisplay = environment === undefined ? display : path.join(display, environment);
  await mkdir(targetDir, { recursive: true });
  const names = fileNamesFor(id, layout);
  const upPath = path.join(targetDir, names.up);
  await writeNew(upPath, text.up);
  try {
    await writeNew(path.join(targetDir, names.down), text.down);
  } catch (error) {
    await rm(upPath, { force: true });
    throw error;
  }
  return { id, written: [path.join(targetDisplay, names.up), path.join(targetDisplay, names.down)] };
}
