/** The risk lint's vocabulary: classes, rules, findings. Data only. */

/**
 * - `destructive`: deletes data or schema that cannot be brought back by a rollback.
 * - `incompatible`: breaks the version still serving during the rollout (it uses the old shape).
 * - `locking`: holds a lock that blocks reads or writes for as long as the table is big.
 */
export type RiskClass = 'destructive' | 'incompatible' | 'locking';

export const RISK_CLASSES: readonly RiskClass[] = ['destructive', 'incompatible', 'locking'];

export interface RiskRule {
  id: string;
  class: RiskClass;
  /** What the rule catches, for the README and `--help`-like listings. */
  what: string;
  /** The safe alternative. */
  fix: string;
}

/** One statement breaking one rule. The JSON of `migrate lint --json` prints these keys. */
export interface Finding {
  rule: string;
  class: RiskClass;
  /** 1-based line of the statement's first token. */
  line: number;
  /** The statement's text. */
  statement: string;
  message: string;
  fix: string;
}

/** A finding accepted by a `-- stagecraft:allow RULE reason` annotation. */
export interface AcceptedFinding extends Finding {
  reason: string;
}

/**
 * How the tool that applies a file wraps its statements in transactions:
 * - `file`: the whole file runs in one transaction (stagecraft's raw engine without the
 *   no-transaction marker; drizzle-kit, which runs its migrations in one transaction);
 * - `explicit`: each statement on its own, except between an explicit BEGIN and COMMIT
 *   (raw files marked `-- stagecraft:no-transaction`, sqitch's psql);
 * - `script`: the file is sent as one multi-statement query, which Postgres runs as one
 *   implicit transaction when it holds more than one statement (golang-migrate, prisma).
 */
export type TransactionMode = 'file' | 'explicit' | 'script';

export interface TransactionModel {
  mode: TransactionMode;
  /** Who wraps the file, for messages: "stagecraft runs this file in one transaction". */
  wrapper: string;
}

/** One file to lint. */
export interface LintInput {
  /** As messages show it. */
  path: string;
  sql: string;
  transaction: TransactionModel;
}

/** What linting one file found. */
export interface LintResult {
  path: string;
  /** Findings no annotation accepted, in statement order. */
  findings: Finding[];
  /** Findings accepted by an annotation, with its reason. */
  accepted: AcceptedFinding[];
  /** SQL that does not parse, malformed annotations: `path:line: message`. */
  problems: string[];
}
