/**
 * What a file has said so far, for the checks: tables and indexes it created, which transaction
 * each statement runs in, and the constraints added NOT VALID or validated. Not-null CHECK
 * constraints carry over to the files after it (in the order they apply), so a SET NOT NULL after
 * a CHECK (col IS NOT NULL) validated by an earlier migration is recognised as safe.
 */
import type { AlterTableCmd, Constraint, Node, RangeVar } from 'libpg-query';
import type { StatementContext } from './checks.js';
import { strings } from './nodes.js';
import type { TransactionModel } from './types.js';

interface NotNullCheck {
  table: string;
  column: string;
  valid: boolean;
}

/** What linting carries from one file to the next of the same database. */
export interface LintMemory {
  /** CHECK (col IS NOT NULL) constraints by `table/constraint`. */
  notNullChecks: Map<string, NotNullCheck>;
}

export function newLintMemory(): LintMemory {
  return { notNullChecks: new Map() };
}

/** Tables are told apart by name; a schema is compared only when both sides name one. */
function sameTable(a: { schema?: string | undefined; name: string }, b: RangeVar | undefined): boolean {
  if (b?.relname === undefined || a.name !== b.relname) return false;
  return a.schema === undefined || b.schemaname === undefined || a.schema === b.schemaname;
}

function constraintKey(table: RangeVar | undefined, constraint: string): string {
  return `${table?.relname ?? '?'}/${constraint}`;
}

/** The column a `CHECK (col IS NOT NULL)` is about, if that is what the check says. */
function notNullColumn(constraint: Constraint): string | undefined {
  const expr = constraint.raw_expr;
  if (expr === undefined || !('NullTest' in expr) || expr.NullTest.nulltesttype !== 'IS_NOT_NULL') return undefined;
  const arg = expr.NullTest.arg;
  if (arg === undefined || !('ColumnRef' in arg)) return undefined;
  const fields = strings(arg.ColumnRef.fields);
  return fields.length === 1 ? fields[0] : undefined;
}

export class FileContext {
  private readonly created: { schema?: string | undefined; name: string }[] = [];
  private readonly indexes = new Set<string>();
  /** Constraints added NOT VALID, by `table/constraint`: the transaction they were added in. */
  private readonly notValid = new Map<string, number>();
  private transaction = 0;
  private inBlock = false;
  private blockLine = 0;
  private readonly wholeFile: boolean;

  constructor(
    private readonly model: TransactionModel,
    statementCount: number,
    private readonly memory: LintMemory,
  ) {
    // A multi-statement query runs as one implicit transaction; one statement alone does not.
    this.wholeFile = model.mode === 'file' || (model.mode === 'script' && statementCount > 1);
  }

  /** Moves to the next statement: transaction control opens and closes explicit blocks. */
  enter(node: Node, line: number): void {
    if ('TransactionStmt' in node) {
      const kind = node.TransactionStmt.kind;
      if (kind === 'TRANS_STMT_BEGIN' || kind === 'TRANS_STMT_START') {
        this.inBlock = true;
        this.blockLine = line;
        this.transaction++;
      } else if (kind === 'TRANS_STMT_COMMIT' || kind === 'TRANS_STMT_ROLLBACK' || kind === 'TRANS_STMT_PREPARE') {
        this.inBlock = false;
      }
      return;
    }
    if (!this.wholeFile && !this.inBlock) this.transaction++;
  }

  /** The view the checks read for the current statement. */
  view(): StatementContext {
    const inTransaction = this.wholeFile || this.inBlock;
    const transaction = this.transaction;
    return {
      createdHere: (table) => this.created.some((created) => sameTable(created, table)),
      indexCreatedHere: (name) => this.indexes.has(name.split('.').pop() ?? name),
      inTransaction,
      transactionReason: this.wholeFile ? this.model.wrapper : `it is between BEGIN (line ${this.blockLine}) and COMMIT`,
      validatedNotNull: (table, column) => [...this.memory.notNullChecks.values()].some((check) => check.valid && check.column === column && check.table === table?.relname),
      addedNotValidInThisTransaction: (table, constraint) => inTransaction && this.notValid.get(constraintKey(table, constraint)) === transaction,
    };
  }

  /** Records what the statement created, added or validated, for the statements after it. */
  observe(node: Node): void {
    if ('CreateStmt' in node) this.addTable(node.CreateStmt.relation);
    else if ('CreateTableAsStmt' in node) this.addTable(node.CreateTableAsStmt.into?.rel);
    else if ('SelectStmt' in node && node.SelectStmt.intoClause) this.addTable(node.SelectStmt.intoClause.rel);
    else if ('IndexStmt' in node && node.IndexStmt.idxname) this.indexes.add(node.IndexStmt.idxname);
    else if ('RenameStmt' in node) {
      const stmt = node.RenameStmt;
      if (stmt.renameType === 'OBJECT_TABLE' && stmt.newname && this.created.some((created) => sameTable(created, stmt.relation))) {
        this.created.push({ schema: stmt.relation?.schemaname, name: stmt.newname });
      }
    } else if ('AlterTableStmt' in node) {
      const table = node.AlterTableStmt.relation;
      for (const cmd of (node.AlterTableStmt.cmds ?? []).flatMap((n) => ('AlterTableCmd' in n ? [n.AlterTableCmd] : []))) this.observeCommand(table, cmd);
    }
  }

  private addTable(relation: RangeVar | undefined): void {
    if (relation?.relname !== undefined) this.created.push({ schema: relation.schemaname, name: relation.relname });
  }

  private observeCommand(table: RangeVar | undefined, cmd: AlterTableCmd): void {
    if (cmd.subtype === 'AT_AddConstraint' && cmd.def !== undefined && 'Constraint' in cmd.def) {
      const constraint = cmd.def.Constraint;
      if (constraint.conname === undefined) return;
      const key = constraintKey(table, constraint.conname);
      const valid = constraint.skip_validation !== true;
      if (!valid) this.notValid.set(key, this.transaction);
      const column = constraint.contype === 'CONSTR_CHECK' ? notNullColumn(constraint) : undefined;
      if (column !== undefined && table?.relname !== undefined) this.memory.notNullChecks.set(key, { table: table.relname, column, valid });
    } else if (cmd.subtype === 'AT_ValidateConstraint' && cmd.name !== undefined) {
      const check = this.memory.notNullChecks.get(constraintKey(table, cmd.name));
      if (check) check.valid = true;
    } else if (cmd.subtype === 'AT_DropConstraint' && cmd.name !== undefined) {
      this.memory.notNullChecks.delete(constraintKey(table, cmd.name));
      this.notValid.delete(constraintKey(table, cmd.name));
    }
  }
}
