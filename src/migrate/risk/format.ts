/** `migrate lint`'s report: the text lines, the JSON document and the exit decision. Pure. */
import { escapeControls } from '../../user-text.js';
import type { LintResult } from './types.js';

export interface LintedFile extends LintResult {
  /** The configured database the file belongs to; null for a file given on the command line. */
  database: string | null;
}

export interface LintReport {
  files: LintedFile[];
  /** Databases whose engine keeps migrations the lint cannot read (knex, command). */
  not_linted: { database: string; engine: string; reason: string }[];
}

export interface LintCounts {
  files: number;
  findings: number;
  accepted: number;
  problems: number;
}

export function countReport(report: LintReport): LintCounts {
  return report.files.reduce(
    (counts, file) => ({ files: counts.files + 1, findings: counts.findings + file.findings.length, accepted: counts.accepted + file.accepted.length, problems: counts.problems + file.problems.length }),
    { files: 0, findings: 0, accepted: 0, problems: 0 },
  );
}

/** One line per finding (`path:line: RULE (class) message — fix: ...`), accepted finding and problem, then a summary. */
export function formatLintReport(report: LintReport): string[] {
  const lines: string[] = [];
  for (const file of report.files) {
    const entries = [
      ...file.findings.map((f) => ({ line: f.line, text: `${file.path}:${f.line}: ${f.rule} (${f.class}) ${f.message} — fix: ${f.fix}` })),
      ...file.accepted.map((f) => ({ line: f.line, text: `${file.path}:${f.line}: ${f.rule} (${f.class}) accepted: ${f.reason}` })),
    ].sort((a, b) => a.line - b.line);
    lines.push(...file.problems, ...entries.map((entry) => entry.text));
  }
  for (const skipped of report.not_linted) lines.push(`${skipped.database} [${skipped.engine}]: not linted (${skipped.reason})`);
  const counts = countReport(report);
  const files = `${counts.files} file(s)`;
  const accepted = counts.accepted > 0 ? `, ${counts.accepted} accepted` : '';
  const problems = counts.problems > 0 ? `${counts.problems} problem(s), ` : '';
  lines.push(counts.findings === 0 && counts.problems === 0 ? `no findings in ${files}${accepted}` : `${problems}${counts.findings} finding(s) not accepted in ${files}${accepted}`);
  return lines.map(escapeControls);
}

/** The `--json` document: `{"files": [{"path", "database", "findings", "accepted", "problems"}], "not_linted"}`. */
export function lintReportJson(report: LintReport): unknown {
  return {
    files: report.files.map((file) => ({ path: file.path, database: file.database, findings: file.findings, accepted: file.accepted, problems: file.problems })),
    not_linted: report.not_linted,
  };
}
