/**
 * The risk lint of one file: parse it with the real Postgres parser, check each statement's tree
 * against the rules with what the file said before it as context, and split the findings into
 * accepted (an allow annotation with its reason) and not accepted.
 */
import { SqlParseError, lineOf, parseStatements } from '../raw/sql-statements.js';
import type { ParsedStatement } from '../raw/sql-statements.js';
import { readAnnotations } from './annotations.js';
import type { Allow } from './annotations.js';
import { checkStatement } from './checks.js';
import { FileContext, newLintMemory } from './context.js';
import type { LintMemory } from './context.js';
import { ruleById } from './rules.js';
import type { AcceptedFinding, Finding, LintInput, LintResult } from './types.js';

export { newLintMemory };
export type { LintMemory };

/**
 * Lints one file. `memory` carries what earlier files of the same database established (validated
 * not-null checks); pass one per database and lint its files in the order they apply.
 */
export async function lintFile(input: LintInput, memory: LintMemory = newLintMemory()): Promise<LintResult> {
  const result: LintResult = { path: input.path, findings: [], accepted: [], problems: [] };
  let statements: ParsedStatement[];
  try {
    statements = await parseStatements(input.sql);
  } catch (error) {
    if (!(error instanceof SqlParseError)) throw error;
    const where = error.offset === undefined ? input.path : `${input.path}:${lineOf(input.sql, error.offset)}`;
    result.problems.push(`${where}: SQL does not parse: ${error.message}`);
    return result;
  }
  const annotations = readAnnotations(input.path, input.sql, statements);
  result.problems.push(...annotations.problems);

  const context = new FileContext(input.transaction, statements.length, memory);
  statements.forEach((statement, index) => {
    const line = lineOf(input.sql, statement.offset);
    context.enter(statement.node, line);
    const hits = checkStatement(statement.node, context.view());
    context.observe(statement.node);
    for (const hit of hits) {
      const rule = ruleById(hit.rule)!;
      const finding: Finding = { rule: rule.id, class: rule.class, line, statement: statement.text, message: hit.message, fix: rule.fix };
      const allow = findAllow(annotations.statements.get(index), hit.rule) ?? findAllow(annotations.file, hit.rule);
      if (allow) result.accepted.push({ ...finding, reason: allow.reason } satisfies AcceptedFinding);
      else result.findings.push(finding);
    }
  });
  return result;
}

function findAllow(allows: readonly Allow[] | undefined, rule: string): Allow | undefined {
  return allows?.find((allow) => allow.rule === rule);
}
