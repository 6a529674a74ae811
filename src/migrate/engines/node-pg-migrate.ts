/**
 * node-pg-migrate: `node-pg-migrate up -m <path>` applies, `down N` reverts the newest N (each
 * migration's `down`), both in a one-off container of the app image with DATABASE_URL in the env.
 * Plans do not start it: the files under `migrations.path` come from the image and the names run
 * from its table (`migrations.table`, default public.pgmigrations), read-only through the tunnel.
 */
import { UserError } from '../../errors.js';
import { MigrationError } from '../errors.js';
import { bookkeepingTable, qualifiedTable, tableExists, withReadOnlyDatabase } from '../database/read-only.js';
import type { BookkeepingTable } from '../database/read-only.js';
import type { DatabaseClient } from '../database/connect.js';
import type { RollbackSelection } from '../graph/rollback-set.js';
import type { DatabaseState, EngineTarget, MigrationEngine, MigrationOutcome, RollbackOptions, RunOutcome } from '../types.js';
import { pendingOf, unreadable } from '../types.js';
import { applyCommand, nodePgMigrateArgv } from '../engine-commands.js';
import { runTool } from './container-tool.js';
import type { ToolRun } from './container-tool.js';
import { readMigrationTree } from './image-files.js';
import { NODE_PG_MIGRATE_TABLE, nodePgMigrateFiles, nodePgMigrateState } from './node-pg-migrate-state.js';
import { parseStatusLines } from './status-lines.js';
import { describeToolFailure, interruptedOutcome, toolEngine } from './tool-engine.js';
import { outputLines } from './tool-output.js';

export async function readNodePgMigrateRun(client: DatabaseClient, table: BookkeepingTable): Promise<{ name: string; run_on: string }[] | undefined> {
  if (!(await tableExists(client, table.table, table.schema))) return undefined;
  const result = await client.query<{ name: string; run_on: string }>(`SELECT name, to_char(run_on, 'YYYY-MM-DD"T"HH24:MI:SS.MS') AS run_on FROM ${qualifiedTable(table.table, table.schema)} ORDER BY run_on, id`);
  return result.rows;
}

export async function readNodePgMigratePlan(target: EngineTarget): Promise<DatabaseState> {
  const path = target.migrations.path ?? 'migrations';
  const table = bookkeepingTable(target.migrations.table, NODE_PG_MIGRATE_TABLE);
  const message = (error: unknown) => target.scrub(error instanceof Error ? error.message : String(error));
  let files: ReturnType<typeof nodePgMigrateFiles>;
  try {
    // node-pg-migrate reads the directory itself, not below it.
    const tree = await readMigrationTree(target, path, { include: (file) => !file.includes('/') });
    if ('missing' in tree) return unreadable(`cannot list node-pg-migrate's migrations: ${tree.missing} (migrations.path must be the directory node-pg-migrate reads, its -m)`);
    files = nodePgMigrateFiles(tree.files.keys());
  } catch (error) {
    return unreadable(`could not read ${path} from the app image: ${message(error)}`);
  }
  if ('error' in files) return unreadable(files.error);
  try {
    const run = await withReadOnlyDatabase(target, (client) => readNodePgMigrateRun(client, table));
    return nodePgMigrateState({ path, table, files, run });
  } catch (error) {
    return unreadable(`cannot read ${qualifiedTable(table.table, table.schema)}: ${message(error)}`);
  }
}

/** `up N`: how many of the pending migrations, in order, reach `to`. */
export function upCount(before: DatabaseState | undefined, to: string): number {
  if (!before?.readable) throw new MigrationError(`cannot apply up to ${to}: the state could not be read (${before?.reason ?? 'not read'})`);
  const pending = pendingOf(before).map((m) => m.id);
  const index = pending.indexOf(to);
  if (index < 0) throw new UserError(`${to} is not pending; pending: ${pending.join(', ') || 'none'}`);
  return index + 1;
}

/**
 * `down N` reverts the newest N names of the table: a rollback of anything else cannot be done
 * with it. `applied` in the order they ran.
 */
export function downCount(applied: readonly string[], selection: RollbackSelection): number | { error: string } {
  if ('steps' in selection) return Math.min(selection.steps, applied.length);
  if ('to' in selection) {
    const index = applied.indexOf(selection.to);
    return index < 0 ? { error: `${selection.to} is not applied` } : applied.length - index - 1;
  }
  const newest = applied.slice(applied.length - selection.ids.length);
  const unknown = selection.ids.filter((id) => !applied.includes(id));
  if (unknown.length > 0) return { error: `${unknown.join(', ')} not applied` };
  if (!selection.ids.every((id) => newest.includes(id))) {
    return { error: `node-pg-migrate down reverts the newest migrations only (newest ${selection.ids.length}: ${newest.join(', ')}); ${selection.ids.join(', ')} is not that` };
  }
  return selection.ids.length;
}

/** The migration node-pg-migrate was running when it failed (`### MIGRATION <name> (UP|DOWN) ###`). */
export function nodePgMigrateFailedMigration(run: ToolRun): string | undefined {
  let current: string | undefined;
  for (const line of outputLines(`${run.stdout}\n${run.stderr}`)) {
    const match = /^### MIGRATION (\S+) \((?:UP|DOWN)\) ###$/.exec(line.trim());
    if (match) current = match[1];
  }
  return current;
}

const tool = toolEngine({
  name: 'node-pg-migrate',
  applyCommand: (target) => applyCommand({ ...target.migrations, command: undefined }),
  applyToCommand: (target, to, before) => nodePgMigrateArgv(target.migrations, 'up', String(upCount(before, to))),
  readState: readNodePgMigratePlan,
  refusesDrift: true,
  parseStatus: parseStatusLines,
  failedMigration: nodePgMigrateFailedMigration,
});

async function rollback(target: EngineTarget, options: RollbackOptions): Promise<RunOutcome> {
  const before = await tool.plan(target);
  if (!before.readable) throw new MigrationError(`${target.database}: cannot read the state before rolling back: ${before.reason ?? 'unknown reason'}; nothing was rolled back`);
  const applied = before.migrations.filter((m) => m.state === 'applied' || m.state === 'drifted').map((m) => m.id);
  const count = downCount(applied, options.selection);
  if (typeof count !== 'number') throw new UserError(`${target.database}: ${count.error}; nothing was rolled back`);
  const reverting = applied.slice(applied.length - count).reverse();
  if (count === 0) return { status: 'completed', migrations: [], notes: [] };
  const argv = nodePgMigrateArgv(target.migrations, 'down', String(count));
  target.log(`running ${argv.join(' ')} in ${target.containerName}`);
  const run = await runTool(target, argv, { purpose: 'apply', timeoutMs: options.timeoutMs, signal: options.signal });
  if (run.interrupted) return interruptedOutcome(target, argv, options.signal);
  const after = await tool.plan(target);
  const stillApplied = new Set(after.readable ? after.migrations.filter((m) => m.state === 'applied' || m.state === 'drifted').map((m) => m.id) : reverting);
  const failed = run.exitCode !== 0 || run.timedOut;
  const failedId = failed ? nodePgMigrateFailedMigration(run) : undefined;
  const error = failed ? `${failedId ? `${failedId}: ` : ''}${describeToolFailure(run, options.timeoutMs)}` : undefined;
  const migrations = reverting.map((id): MigrationOutcome => {
    if (id === failedId) return { id, outcome: 'failed', ...(error ? { error } : {}) };
    return { id, outcome: stillApplied.has(id) ? 'skipped' : 'applied' };
  });
  const notes = after.readable ? [] : [`the state after the rollback could not be read (${after.reason ?? 'unknown reason'}): which migrations were reverted is not known`];
  return failed ? { status: 'failed', migrations, error: error!, notes } : { status: 'completed', migrations, notes };
}

export const nodePgMigrateEngine: MigrationEngine = { ...tool, rollback };
