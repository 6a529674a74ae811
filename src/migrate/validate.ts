/**
 * `migrate validate`. Offline: file names and layouts, dependencies.json / environments.json, the
 * dependency graph (all reported by readMigrationFiles), every up and down file parsed with the real
 * Postgres parser, transaction control in files stagecraft wraps in a transaction, and missing down
 * files (warnings, problems with --strict). Against a database: what the raw engine's read-only
 * plan found there — drift, applied ids without a file, dirty rows.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { EngineSettings } from './engine-commands.js';
import { isNoTransaction, migrationsDir, readMigrationFiles } from './raw/files.js';
import type { RawMigrationFile } from './raw/files.js';
import { SqlParseError, lineOf, splitStatements } from './raw/sql-statements.js';
import { resolveCommand } from './raw/state.js';
import type { DatabaseState } from './types.js';
import { UserError } from '../errors.js';
import { lintFile, newLintMemory } from './risk/lint.js';
import { rawTransaction } from './risk/sources.js';

export type ValidationReport =
  | { checked: true; files: number; problems: string[]; warnings: string[] }
  | { checked: false; reason: string; files: 0; problems: []; warnings: [] };

export interface ValidateOptions {
  /** Also the files of this environment only (`<path>/<environment>/`, or environments.json). */
  environment?: string | undefined;
  /** A missing down file is a problem, not a warning. */
  strict?: boolean;
}

async function checkSql(display: string, sql: string): Promise<string[]> {
  try {
    const statements = await splitStatements(sql);
    if (isNoTransaction(sql)) return [];
    return statements
      .filter((statement) => statement.kind === 'TransactionStmt')
      .map((statement) => `${display}:${lineOf(sql, statement.offset)}: "${statement.text}" in a file stagecraft runs in a transaction (remove it, or start the file with -- stagecraft:no-transaction)`);
  } catch (error) {
    if (!(error instanceof SqlParseError)) throw error;
    return [`${display}${error.offset === undefined ? '' : `:${lineOf(sql, error.offset)}`}: ${error.message}`];
  }
}

/**
 * The problems a UserError from readMigrationFiles lists. It prints one problem as
 * `<dir>: <problem>` and several as `<dir>: ` followed by one indented line each; every problem
 * is given back in the single-problem form so each one names the directory.
 */
function listedProblems(error: UserError): string[] {
  const [first = '', ...rest] = error.message.split('\n  ');
  if (rest.length === 0) return [error.message];
  return rest.map((problem) => `${first}${problem}`);
}

function missingDown(display: string, file: RawMigrationFile): string {
  const expected = path.join(display, path.dirname(file.file), `${file.id}.down.sql`);
  return `${path.join(display, file.file)}: no down file (${expected}): \`migrate rollback\` cannot revert ${file.id}`;
}

export async function validateRawMigrations(configDir: string, settings: EngineSettings, options: ValidateOptions = {}): Promise<ValidationReport> {
  if (settings.engine !== 'raw') return { checked: false, reason: `engine ${settings.engine} validates its own files`, files: 0, problems: [], warnings: [] };
  const { dir, display } = migrationsDir(configDir, settings.path ?? '.');
  let files;
  try {
    files = await readMigrationFiles(dir, display, { environment: options.environment });
  } catch (error) {
    if (error instanceof UserError) return { checked: true, files: 0, problems: listedProblems(error), warnings: [] };
    throw error;
  }
  const problems: string[] = [];
  const warnings: string[] = [];
  for (const file of files) {
    problems.push(...(await checkSql(path.join(display, file.file), file.sql)));
    if (file.down) problems.push(...(await checkSql(path.join(display, file.down.file), await readFile(file.down.path, 'utf8'))));
    else (options.strict ? problems : warnings).push(missingDown(display, file));
  }
  // The risk lint's findings are warnings here (`migrate lint` and deploy's guard decide on them);
  // SQL that does not parse is already a problem above.
  const memory = newLintMemory();
  for (const file of files) {
    const linted = await lintFile({ path: path.join(display, file.file), sql: file.sql, transaction: rawTransaction(file.sql) }, memory);
    for (const finding of linted.findings) warnings.push(`${linted.path}:${finding.line}: risk: ${finding.rule} (${finding.class}): ${finding.message} — fix: ${finding.fix}`);
    problems.push(...linted.problems.filter((problem) => !problem.includes('SQL does not parse')));
  }
  return { checked: true, files: files.length, problems, warnings };
}

/**
 * What a raw database's state (from the engine's read-only plan) says is wrong with it: applied
 * files changed since (drift), applied ids without a file, and rows left running by a process
 * that died (dirty). A migration being applied right now, or simply pending, is not a problem.
 */
export function databaseProblems(database: string, environment: string, migrationsDisplay: string, state: DatabaseState): string[] {
  const problems: string[] = [];
  for (const entry of state.migrations) {
    const shown = entry.file === undefined ? undefined : path.join(migrationsDisplay, entry.file);
    if (entry.dirty) {
      const where = shown ?? `${entry.id} (its file is gone)`;
      problems.push(`${database}: ${where}: ${entry.error ?? 'dirty: left running'}; check it by hand, then \`${resolveCommand(environment, database, entry.id)}\``);
    } else if (entry.missing_file) {
      problems.push(`${database}: ${entry.id} is applied but has no file in ${migrationsDisplay}`);
    } else if (entry.state === 'drifted') {
      problems.push(`${database}: drift: ${shown ?? entry.id} changed after it was applied (its checksum differs from stagecraft_migrations); restore it and put the change in a new migration`);
    }
  }
  return problems;
}
