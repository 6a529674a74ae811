/**
 * The commands container engines run by default, in one light module: the deploy plan shows them
 * and the engines run them. `migrations.command` / `migrations.plan_command` replace them.
 */
import type { MigrationsConfig } from '../config/index.js';

export type EngineSettings = Pick<MigrationsConfig, 'engine' | 'path' | 'command' | 'plan_command' | 'table' | 'statement_lock_timeout' | 'lock_retries'>;

/** How long the raw engine waits for the migration advisory lock unless migrations.lock_timeout says. */
export const DEFAULT_MIGRATION_LOCK_TIMEOUT = '60s';
/** PostgreSQL lock_timeout while the raw engine migrates, unless migrations.statement_lock_timeout says. */
export const DEFAULT_STATEMENT_LOCK_TIMEOUT = '5s';
/** Retries of a raw migration that hit the statement lock timeout, unless migrations.lock_retries says. */
export const DEFAULT_LOCK_RETRIES = 3;

export const KNEX_BIN = 'node_modules/.bin/knex';
export const PRISMA_BIN = 'node_modules/.bin/prisma';
export const DRIZZLE_KIT_BIN = 'node_modules/.bin/drizzle-kit';
export const NODE_PG_MIGRATE_BIN = 'node_modules/.bin/node-pg-migrate';

/**
 * node-pg-migrate reads DATABASE_URL from its environment itself (never argv); the directory is
 * `migrations.path` (`-m`) and `migrations.table` ("table" or "schema.table") its table.
 */
export function nodePgMigrateArgv(settings: Pick<EngineSettings, 'path' | 'table'>, ...command: string[]): string[] {
  const dot = settings.table?.indexOf('.') ?? -1;
  const table = settings.table === undefined ? [] : dot < 0 ? ['--migrations-table', settings.table] : ['--migrations-table', settings.table.slice(dot + 1), '--migrations-schema', settings.table.slice(0, dot)];
  return [NODE_PG_MIGRATE_BIN, ...command, '-m', settings.path ?? 'migrations', ...table];
}

/** golang-migrate gets the URL from DATABASE_URL through a fixed script: never in argv. */
export function golangMigrateArgv(path: string | undefined, ...command: string[]): string[] {
  const script = `exec migrate -path "$1" -database "$DATABASE_URL" ${command.map((_, i) => `"$${i + 2}"`).join(' ')}`;
  return ['sh', '-c', script, 'migrate', path ?? 'migrations', ...command];
}

/** sqitch runs in the directory of sqitch.conf (`migrations.path`) and verifies each change right after deploying it. */
export function sqitchDeployArgv(path: string | undefined, ...extra: string[]): string[] {
  return ['sqitch', '--chdir', path ?? '.', 'deploy', '--verify', ...extra];
}

/** The argv that applies migrations for a container engine (`[]` for raw, which needs none). */
export function applyCommand(settings: EngineSettings): string[] {
  if (settings.command) return [...settings.command];
  switch (settings.engine) {
    case 'raw':
    case 'command':
      return [];
    case 'knex':
      return [KNEX_BIN, 'migrate:latest'];
    case 'prisma':
      return [PRISMA_BIN, 'migrate', 'deploy'];
    case 'drizzle':
      return [DRIZZLE_KIT_BIN, 'migrate'];
    case 'golang-migrate':
      return golangMigrateArgv(settings.path, 'up');
    case 'node-pg-migrate':
      return nodePgMigrateArgv(settings, 'up');
    case 'sqitch':
      return sqitchDeployArgv(settings.path);
  }
}

/** One line saying how a database is migrated, for plans. */
export function describeApply(settings: EngineSettings): string {
  if (settings.engine === 'raw') return `stagecraft applies ${settings.path ?? '.'}/NNNN_*.sql itself (advisory lock, a transaction per file)`;
  return applyCommand(settings).join(' ');
}
