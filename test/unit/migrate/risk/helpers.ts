import { lintFile, newLintMemory } from '../../../../src/migrate/risk/lint.js';
import type { LintMemory } from '../../../../src/migrate/risk/lint.js';
import type { LintResult, TransactionMode } from '../../../../src/migrate/risk/types.js';

const WRAPPERS: Record<TransactionMode, string> = {
  file: 'stagecraft runs this file in one transaction',
  explicit: '',
  script: 'the tool sends the file as one multi-statement query',
};

/** Lints `sql` as a file run in `mode` (default: one transaction, like a raw file). */
export function lint(sql: string, mode: TransactionMode = 'file', memory: LintMemory = newLintMemory()): Promise<LintResult> {
  return lintFile({ path: 'm.sql', sql, transaction: { mode, wrapper: WRAPPERS[mode] } }, memory);
}

/** The rule ids of the findings not accepted, in order. */
export async function rules(sql: string, mode: TransactionMode = 'file'): Promise<string[]> {
  const result = await lint(sql, mode);
  if (result.problems.length > 0) throw new Error(`unexpected problems: ${result.problems.join('; ')}`);
  return result.findings.map((finding) => finding.rule);
}
