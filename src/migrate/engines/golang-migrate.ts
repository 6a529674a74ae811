/**
 * golang-migrate: `migrate -path P -database URL up` applies; `migrate ... version` prints the
 * current version (and whether it is dirty). `plan` reads `schema_migrations` and the image's
 * migration files itself instead (see golang-migrate-plan.ts), so pending migrations are listed.
 * The URL reaches the tool through DATABASE_URL via a fixed `sh -c` script, never in argv.
 */
import type { DatabaseState } from '../types.js';
import { unreadable } from '../types.js';
import { golangMigrateArgv } from '../engine-commands.js';
import type { ToolRun } from './container-tool.js';
import { describeToolFailure, toolEngine } from './tool-engine.js';
import { outputLines } from './tool-output.js';
import { readGolangMigratePlan } from './golang-migrate-plan.js';

/** Parses `migrate version`: `3`, `3 (dirty)`, or `error: no migration`. */
export function parseMigrateVersion(run: ToolRun): DatabaseState {
  const notes = ['golang-migrate reports only the current version: pending migrations cannot be listed'];
  for (const line of outputLines(`${run.stdout}\n${run.stderr}`)) {
    const text = line.trim();
    if (text === 'error: no migration') return { readable: true, migrations: [], applied_count: 0, pending_known: false, notes };
    const match = /^(\d+)( \(dirty\))?$/.exec(text);
    if (match) {
      const dirty = match[2] !== undefined;
      return {
        readable: true,
        migrations: [
          dirty
            ? { id: match[1]!, state: 'failed', error: 'dirty: this version failed part-way; fix the database, then `migrate force` it' }
            : { id: match[1]!, state: 'applied' },
        ],
        applied_count: dirty ? 0 : 1,
        pending_known: false,
        notes: [`current version ${match[1]}${dirty ? ' (dirty)' : ''}`, ...notes],
      };
    }
  }
  return unreadable(run.exitCode === 0 ? 'migrate version printed no version' : describeToolFailure(run));
}

/** `plan` and the status around a run read `schema_migrations` and the image's files (golang-migrate-plan.ts) unless `plan_command` is set. */
export const golangMigrateEngine = toolEngine({
  name: 'golang-migrate',
  applyCommand: (target) => golangMigrateArgv(target.migrations.path, 'up'),
  applyToCommand: (target, to) => golangMigrateArgv(target.migrations.path, 'goto', to),
  statusCommand: (target) => golangMigrateArgv(target.migrations.path, 'version'),
  readState: readGolangMigratePlan,
  parseStatus: parseMigrateVersion,
});
