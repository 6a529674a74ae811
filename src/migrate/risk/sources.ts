/**
 * Which files the risk lint reads for a database, per engine, in the order they apply, and how the
 * engine wraps them in transactions (which decides "CONCURRENTLY inside a transaction"):
 *   raw             the raw engine's up files (the environment's own included): one transaction per
 *                   file, unless its first line is `-- stagecraft:no-transaction`
 *   golang-migrate  <path>/*.up.sql: the file is one multi-statement query (one implicit transaction)
 *   prisma          <path>/[migrations/]<name>/migration.sql (or prisma/migrations/…): as golang-migrate
 *   drizzle         <path>/*.sql (or <path>/drizzle/*.sql): drizzle-kit runs them in one transaction
 *   sqitch          <path>/deploy/**.sql: psql runs statement by statement; BEGIN…COMMIT opens one
 *   knex, node-pg-migrate, command   not linted: their migrations are JavaScript or your own command
 * Paths are read relative to stagecraft.yml, like the raw engine's.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { MigrationEngine } from '../../config/index.js';
import { UserError } from '../../errors.js';
import { isNoTransaction, migrationsDir, readMigrationFiles } from '../raw/files.js';
import type { LintInput, TransactionModel } from './types.js';

export type DatabaseSources =
  /** `ordered`: the files are in the order they apply, so what one establishes holds for the next. */
  | { linted: true; files: LintInput[]; ordered: boolean; problems: string[] }
  | { linted: false; reason: string };

export const RAW_TRANSACTION: TransactionModel = { mode: 'file', wrapper: 'stagecraft runs this file in one transaction' };
const STATEMENT_BY_STATEMENT: TransactionModel = { mode: 'explicit', wrapper: '' };

const TOOL_TRANSACTIONS: Partial<Record<MigrationEngine, TransactionModel>> = {
  'golang-migrate': { mode: 'script', wrapper: 'golang-migrate sends the file as one multi-statement query, which PostgreSQL runs as one transaction' },
  prisma: { mode: 'script', wrapper: 'prisma sends migration.sql as one multi-statement query, which PostgreSQL runs as one transaction' },
  drizzle: { mode: 'file', wrapper: 'drizzle-kit runs its migrations in one transaction' },
  sqitch: STATEMENT_BY_STATEMENT,
};

/** How a raw (or loose) SQL file runs: in one transaction, or statement by statement with the marker. */
export function rawTransaction(sql: string): TransactionModel {
  return isNoTransaction(sql) ? STATEMENT_BY_STATEMENT : RAW_TRANSACTION;
}

export interface SourceSettings {
  engine: MigrationEngine;
  path?: string | undefined;
}

/** The files to lint for one database, in the order they apply; problems reading them instead of throwing. */
export async function databaseSources(configDir: string, settings: SourceSettings, environment: string | undefined): Promise<DatabaseSources> {
  if (settings.engine === 'knex') return { linted: false, reason: 'knex migrations are JavaScript: not linted' };
  if (settings.engine === 'node-pg-migrate') return { linted: false, reason: 'node-pg-migrate migrations are JavaScript (its MigrationBuilder writes the SQL): not linted' };
  if (settings.engine === 'command') return { linted: false, reason: 'engine command runs your own command: not linted' };
  const { dir, display } = migrationsDir(configDir, settings.path ?? '.');
  if (settings.engine === 'raw') {
    try {
      const files = await readMigrationFiles(dir, display, { environment });
      return { linted: true, ordered: true, problems: [], files: files.map((file) => ({ path: path.join(display, file.file), sql: file.sql, transaction: rawTransaction(file.sql) })) };
    } catch (error) {
      if (error instanceof UserError) return { linted: true, ordered: true, files: [], problems: [error.message] };
      throw error;
    }
  }
  const transaction = TOOL_TRANSACTIONS[settings.engine]!;
  if (!(await isDirectory(dir))) return { linted: true, ordered: true, files: [], problems: [`${display}: migrations directory does not exist (migrations.path, relative to stagecraft.yml)`] };
  const relative = await toolFiles(settings.engine, dir);
  const files = await Promise.all(relative.map(async (file) => ({ path: path.join(display, file), sql: await readFile(path.join(dir, file), 'utf8'), transaction })));
  // sqitch applies in sqitch.plan's order, which file names do not tell: each file is linted alone.
  return { linted: true, ordered: settings.engine !== 'sqitch', files, problems: [] };
}

async function isDirectory(dir: string): Promise<boolean> {
  return stat(dir).then((info) => info.isDirectory(), () => false);
}

/**
 * The entries of `dir` by name: directories, and regular files (or links to them) as files; anything
 * else (a FIFO that would block the read, a dangling link) is left out.
 */
async function entries(dir: string): Promise<{ name: string; directory: boolean }[]> {
  let found;
  try {
    found = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const kinds = await Promise.all(
    found.map(async (entry) => {
      if (entry.isDirectory()) return { name: entry.name, directory: true };
      if (entry.isFile()) return { name: entry.name, directory: false };
      if (!entry.isSymbolicLink()) return undefined;
      const target = await stat(path.join(dir, entry.name)).catch(() => undefined);
      return target?.isFile() ? { name: entry.name, directory: false } : undefined;
    }),
  );
  return kinds.filter((kind) => kind !== undefined).sort((a, b) => byName(a.name, b.name));
}

/** Numbered names in numeric order (`2_a` before `10_b`), the rest by name. */
function byName(a: string, b: string): number {
  const number = (name: string) => /^\d+/.exec(name)?.[0];
  const na = number(a);
  const nb = number(b);
  if (na !== undefined && nb !== undefined && na !== nb) return BigInt(na) < BigInt(nb) ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The tool's migration files under `dir`, relative to it, in the order the tool applies them. */
async function toolFiles(engine: MigrationEngine, dir: string): Promise<string[]> {
  switch (engine) {
    case 'golang-migrate':
      return (await entries(dir)).filter((entry) => !entry.directory && entry.name.endsWith('.up.sql')).map((entry) => entry.name);
    case 'drizzle': {
      const own = (await entries(dir)).filter((entry) => !entry.directory && entry.name.endsWith('.sql')).map((entry) => entry.name);
      if (own.length > 0) return own;
      return (await entries(path.join(dir, 'drizzle'))).filter((entry) => !entry.directory && entry.name.endsWith('.sql')).map((entry) => path.join('drizzle', entry.name));
    }
    case 'prisma': {
      for (const base of ['', 'migrations', path.join('prisma', 'migrations')]) {
        const found: string[] = [];
        for (const entry of await entries(path.join(dir, base))) {
          if (!entry.directory) continue;
          const file = path.join(base, entry.name, 'migration.sql');
          if (await stat(path.join(dir, file)).then((info) => info.isFile(), () => false)) found.push(file);
        }
        if (found.length > 0) return found;
      }
      return [];
    }
    case 'sqitch': {
      const deploy = path.basename(dir) === 'deploy' || !(await isDirectory(path.join(dir, 'deploy'))) ? '' : 'deploy';
      return sqlFilesUnder(dir, deploy);
    }
    default:
      return [];
  }
}

/** Every .sql file under `dir/sub`, recursively (sqitch changes may live in subdirectories). */
async function sqlFilesUnder(dir: string, sub: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await entries(path.join(dir, sub))) {
    const relative = path.join(sub, entry.name);
    if (entry.directory) found.push(...(await sqlFilesUnder(dir, relative)));
    else if (entry.name.endsWith('.sql')) found.push(relative);
  }
  return found;
}
