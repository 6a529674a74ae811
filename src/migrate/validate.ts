/**
 * `migrate validate`: offline checks of raw migration files with the real Postgres parser — file
 * names, SQL that does not parse, and transaction control in files stagecraft wraps in a transaction.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { EngineSettings } from './engine-commands.js';
import { isNoTransaction, migrationsDir, readMigrationFiles } from './raw/files.js';
import { SqlParseError, lineOf, splitStatements } from './raw/sql-statements.js';
import { StagecraftError } from '../errors.js';

export type ValidationReport = { checked: true; files: number; problems: string[] } | { checked: false; reason: string; problems: [] };

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

export async function validateRawMigrations(configDir: string, settings: EngineSettings, environment?: string): Promise<ValidationReport> {
  if (settings.engine !== 'raw') return { checked: false, reason: `engine ${settings.engine} validates its own files`, problems: [] };
  const { dir, display } = migrationsDir(configDir, settings.path ?? '.');
  let files;
  try {
    files = await readMigrationFiles(dir, display, { environment });
  } catch (error) {
    if (error instanceof StagecraftError) return { checked: true, files: 0, problems: [error.message] };
    throw error;
  }
  const problems: string[] = [];
  for (const file of files) {
    problems.push(...(await checkSql(path.join(display, file.file), file.sql)));
    if (file.down) problems.push(...(await checkSql(path.join(display, file.down.file), await readFile(file.down.path, 'utf8'))));
  }
  return { checked: true, files: files.length, problems };
}
