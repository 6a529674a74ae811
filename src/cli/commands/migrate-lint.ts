/**
 * `stagecraft migrate lint [--database DB] [--json] [FILE...]`: the risk lint over the configured
 * databases' migration files, or over the .sql files given. Exit 0 when nothing is left unaccepted,
 * 1 for files that cannot be read or parsed and malformed annotations, 2 ("refused: unsafe
 * migration") when a finding is not accepted by a `-- stagecraft:allow RULE reason` annotation.
 */
import { readFile, stat } from 'node:fs/promises';
import { RefusedError, UserError } from '../../errors.js';
import { printableText } from '../../user-text.js';
import { countReport, formatLintReport, lintReportJson } from '../../migrate/risk/format.js';
import type { LintReport, LintedFile } from '../../migrate/risk/format.js';
import { lintFile, newLintMemory } from '../../migrate/risk/lint.js';
import { databaseSources, rawTransaction } from '../../migrate/risk/sources.js';
import type { CommonOptions } from '../context.js';

export interface MigrateLintOptions extends CommonOptions {
  database?: string;
  json: boolean;
  files: string[];
}

export async function runMigrateLint(options: MigrateLintOptions): Promise<void> {
  const report = options.files.length > 0 ? await lintGivenFiles(options) : await lintConfigured(options);
  if (options.json) process.stdout.write(`${JSON.stringify(lintReportJson(report), null, 2)}\n`);
  else for (const line of formatLintReport(report)) process.stdout.write(`${line}\n`);

  const counts = countReport(report);
  if (counts.problems > 0) throw new UserError(`${counts.problems} problem(s) in migration files`);
  if (counts.findings > 0) {
    throw new RefusedError(`${counts.findings} risky statement(s) not accepted`, {
      hint: 'apply the fix, or accept one with a line above the statement: -- stagecraft:allow RULE why it is safe here',
    });
  }
}

/** Loose .sql files, linted as the raw engine runs them (one transaction unless marked no-transaction). */
async function lintGivenFiles(options: MigrateLintOptions): Promise<LintReport> {
  if (options.database !== undefined) throw new UserError('--database chooses configured databases: give it or FILE arguments, not both');
  // Read them all at once (the reads are most of the time), then lint in the order given.
  const texts = await Promise.allSettled(options.files.map((file) => readSql(file)));
  const files: LintedFile[] = [];
  for (const [index, text] of texts.entries()) {
    if (text.status === 'rejected') throw text.reason;
    const sql = text.value;
    files.push({ ...(await lintFile({ path: printableText(options.files[index]!), sql, transaction: rawTransaction(sql) })), database: null });
  }
  return { files, not_linted: [] };
}

async function readSql(file: string): Promise<string> {
  const shown = printableText(file);
  try {
    const info = await stat(file);
    if (info.isDirectory()) throw new UserError(`${shown}: is a directory (give the .sql files, e.g. db/*.sql)`);
    // A FIFO or a device would block the read, or never end.
    if (!info.isFile()) throw new UserError(`${shown}: not a regular file`);
    return await readFile(file, 'utf8');
  } catch (error) {
    if (error instanceof UserError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(`${shown}: ${code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? (error as Error).message})`}`);
  }
}

async function lintConfigured(options: MigrateLintOptions): Promise<LintReport> {
  // Loaded here only: linting loose files needs neither the config nor migrate.ts's engines.
  const { loadForCommand } = await import('../context.js');
  const { selectDatabases } = await import('./migrate.js');
  const loaded = await loadForCommand(options);
  const report: LintReport = { files: [], not_linted: [] };
  for (const database of selectDatabases(loaded, options.database)) {
    const migrations = loaded.config.databases[database]!.migrations;
    const sources = await databaseSources(loaded.dir, migrations, loaded.environment);
    if (!sources.linted) {
      report.not_linted.push({ database, engine: migrations.engine, reason: sources.reason });
      continue;
    }
    if (sources.problems.length > 0) {
      report.files.push({ path: migrations.path ?? '.', database, findings: [], accepted: [], problems: sources.problems });
    }
    const memory = newLintMemory();
    for (const input of sources.files) {
      report.files.push({ ...(await lintFile(input, sources.ordered ? memory : newLintMemory())), database });
    }
  }
  return report;
}
