/**
 * The risk rules' checks: one statement's syntax tree (libpg-query) and what the file said before
 * it (the context) in, the rules it breaks out. Pure: the context is read, never changed here.
 */
import type {
  AlterDomainStmt,
  AlterTableCmd,
  AlterTableStmt,
  ColumnDef,
  Constraint,
  DeleteStmt,
  DropStmt,
  Node,
  RangeVar,
  UpdateStmt,
} from 'libpg-query';
import { findNodes, objectName, optionOn, relationName, strings } from './nodes.js';
import type { RuleId } from './rules.js';
import { defaultVolatility } from './volatility.js';

/** What the file (and the files before it) established before the statement being checked. */
export interface StatementContext {
  /** The table was created earlier in this file, so no other version has written rows to it. */
  createdHere(table: RangeVar | undefined): boolean;
  /** The index was created earlier in this file. */
  indexCreatedHere(name: string): boolean;
  /** The statement runs inside a transaction (explicit, the file's, or a multi-statement query's). */
  inTransaction: boolean;
  /** Why it does, for messages: "stagecraft runs this file in one transaction". */
  transactionReason: string;
  /** A validated CHECK (column IS NOT NULL) exists on the table (this file or an earlier one). */
  validatedNotNull(table: RangeVar | undefined, column: string): boolean;
  /** The constraint was added NOT VALID earlier in the transaction this statement runs in. */
  addedNotValidInThisTransaction(table: RangeVar | undefined, constraint: string): boolean;
}

export interface Hit {
  rule: RuleId;
  message: string;
}

const SERIAL_TYPES = new Set(['serial', 'serial2', 'serial4', 'serial8', 'smallserial', 'bigserial']);
const LOCK_MODES = ['', 'ACCESS SHARE', 'ROW SHARE', 'ROW EXCLUSIVE', 'SHARE UPDATE EXCLUSIVE', 'SHARE', 'SHARE ROW EXCLUSIVE', 'EXCLUSIVE', 'ACCESS EXCLUSIVE'];
/** LOCK TABLE modes from SHARE up block writes (ACCESS EXCLUSIVE also reads). */
const FIRST_BLOCKING_LOCK_MODE = 5;

/** The rules `node` breaks, given what came before it. */
export function checkStatement(node: Node, context: StatementContext): Hit[] {
  const hits: Hit[] = [];
  const hit = (rule: RuleId, message: string) => hits.push({ rule, message });

  if ('DropStmt' in node) checkDrop(node.DropStmt, context, hit);
  else if ('DropdbStmt' in node) hit('drop-database', `DROP DATABASE ${node.DropdbStmt.dbname ?? ''} deletes the database and everything in it`);
  else if ('AlterTableStmt' in node) checkAlterTable(node.AlterTableStmt, context, hit);
  else if ('AlterDomainStmt' in node) checkAlterDomain(node.AlterDomainStmt, hit);
  else if ('RenameStmt' in node) {
    const stmt = node.RenameStmt;
    if (!context.createdHere(stmt.relation)) {
      const table = relationName(stmt.relation);
      if (stmt.renameType === 'OBJECT_TABLE' || stmt.renameType === 'OBJECT_VIEW' || stmt.renameType === 'OBJECT_MATVIEW' || stmt.renameType === 'OBJECT_FOREIGN_TABLE') {
        hit('rename-table', `renaming ${table} to ${stmt.newname ?? '?'} breaks the version still serving, which queries ${table}`);
      } else if (stmt.renameType === 'OBJECT_COLUMN') {
        hit('rename-column', `renaming column ${stmt.subname ?? '?'} of ${table} to ${stmt.newname ?? '?'} breaks the version still serving, which uses ${stmt.subname ?? '?'}`);
      }
    }
  } else if ('AlterObjectSchemaStmt' in node) {
    const stmt = node.AlterObjectSchemaStmt;
    if (stmt.objectType === 'OBJECT_TABLE' && !context.createdHere(stmt.relation)) {
      hit('rename-table', `moving ${relationName(stmt.relation)} to schema ${stmt.newschema ?? '?'} breaks the version still serving, which finds it in its old schema`);
    }
  } else if ('TruncateStmt' in node) {
    const tables = (node.TruncateStmt.relations ?? []).flatMap((n) => ('RangeVar' in n ? [n.RangeVar] : [])).filter((table) => !context.createdHere(table));
    if (tables.length > 0) {
      const cascade = node.TruncateStmt.behavior === 'DROP_CASCADE' ? ', and CASCADE empties every table that references them too' : '';
      hit('truncate', `TRUNCATE ${tables.map(relationName).join(', ')} deletes every row${cascade}`);
    }
  } else if ('IndexStmt' in node) {
    const stmt = node.IndexStmt;
    const name = stmt.idxname ?? `an index on ${relationName(stmt.relation)}`;
    if (stmt.concurrent === true) {
      if (context.inTransaction) hit('concurrently-in-transaction', `CREATE INDEX CONCURRENTLY ${name} cannot run inside a transaction, and ${context.transactionReason}`);
    } else if (!context.createdHere(stmt.relation)) {
      hit('create-index', `CREATE INDEX ${name} on ${relationName(stmt.relation)} blocks writes to the table until the whole index is built`);
    }
  } else if ('ReindexStmt' in node) {
    const stmt = node.ReindexStmt;
    const what = stmt.relation ? relationName(stmt.relation) : (stmt.name ?? '');
    if (optionOn(stmt.params, 'concurrently')) {
      if (context.inTransaction) hit('concurrently-in-transaction', `REINDEX CONCURRENTLY ${what} cannot run inside a transaction, and ${context.transactionReason}`);
    } else if (!context.createdHere(stmt.relation)) {
      hit('reindex', `REINDEX ${what} blocks writes (and reads that use the index) while it rebuilds`);
    }
  } else if ('VacuumStmt' in node) {
    const stmt = node.VacuumStmt;
    if (stmt.is_vacuumcmd === true && optionOn(stmt.options, 'full')) {
      const tables = findNodes<RangeVar>(stmt.rels, 'relation').map(relationName);
      hit('vacuum-full', `VACUUM FULL ${tables.join(', ') || '(every table)'} rewrites the table under an ACCESS EXCLUSIVE lock, blocking reads and writes`);
    }
  } else if ('ClusterStmt' in node) {
    const stmt = node.ClusterStmt;
    if (!context.createdHere(stmt.relation)) {
      hit('cluster', `CLUSTER ${stmt.relation ? relationName(stmt.relation) : '(every clustered table)'} rewrites the table under an ACCESS EXCLUSIVE lock, blocking reads and writes`);
    }
  } else if ('LockStmt' in node) {
    const stmt = node.LockStmt;
    const mode = stmt.mode ?? 8;
    const tables = (stmt.relations ?? []).flatMap((n) => ('RangeVar' in n ? [n.RangeVar] : [])).filter((table) => !context.createdHere(table));
    if (mode >= FIRST_BLOCKING_LOCK_MODE && tables.length > 0) {
      const blocks = mode === 8 ? 'reads and writes' : 'writes';
      hit('lock-table', `LOCK TABLE ${tables.map(relationName).join(', ')} IN ${LOCK_MODES[mode] ?? '?'} MODE blocks ${blocks} until the migration's transaction ends`);
    }
  } else if ('RefreshMatViewStmt' in node) {
    const stmt = node.RefreshMatViewStmt;
    if (stmt.concurrent !== true && stmt.skipData !== true && !context.createdHere(stmt.relation)) {
      hit('refresh-materialized-view', `REFRESH MATERIALIZED VIEW ${relationName(stmt.relation)} blocks reads of the view until it is recomputed`);
    }
  }

  // DELETE and UPDATE, also inside WITH clauses.
  for (const stmt of findNodes<DeleteStmt>(node, 'DeleteStmt')) {
    if (stmt.whereClause === undefined && !context.createdHere(stmt.relation)) {
      hit('delete-without-where', `DELETE FROM ${relationName(stmt.relation)} without WHERE deletes every row`);
    }
  }
  for (const stmt of findNodes<UpdateStmt>(node, 'UpdateStmt')) {
    if (stmt.whereClause === undefined && !context.createdHere(stmt.relation)) {
      hit('update-without-where', `UPDATE ${relationName(stmt.relation)} without WHERE overwrites every row (and locks them all until the transaction ends)`);
    }
  }
  return hits;
}

type HitFn = (rule: RuleId, message: string) => void;

function checkDrop(stmt: DropStmt, context: StatementContext, hit: HitFn): void {
  const names = (stmt.objects ?? []).map(objectName);
  const list = names.join(', ');
  switch (stmt.removeType) {
    case 'OBJECT_TABLE': {
      const existing = (stmt.objects ?? []).filter((object) => !context.createdHere(tableOf(object)));
      if (existing.length > 0) hit('drop-table', `DROP TABLE ${existing.map(objectName).join(', ')} deletes the table and every row in it${stmt.behavior === 'DROP_CASCADE' ? ', and CASCADE drops what depends on it' : ''}`);
      return;
    }
    case 'OBJECT_SCHEMA':
      hit('drop-schema', `DROP SCHEMA ${list} deletes the schema${stmt.behavior === 'DROP_CASCADE' ? ' and, with CASCADE, every table and row in it' : ''}`);
      return;
    case 'OBJECT_TYPE':
    case 'OBJECT_DOMAIN':
      hit('drop-type', `DROP ${stmt.removeType === 'OBJECT_DOMAIN' ? 'DOMAIN' : 'TYPE'} ${list} deletes the type${stmt.behavior === 'DROP_CASCADE' ? ', and CASCADE drops the columns that use it, with their data' : ''}`);
      return;
    case 'OBJECT_INDEX': {
      if (stmt.concurrent === true) {
        if (context.inTransaction) hit('concurrently-in-transaction', `DROP INDEX CONCURRENTLY ${list} cannot run inside a transaction, and ${context.transactionReason}`);
        return;
      }
      const existing = names.filter((name) => !context.indexCreatedHere(name));
      if (existing.length > 0) hit('drop-index', `DROP INDEX ${existing.join(', ')} takes an ACCESS EXCLUSIVE lock on the table, blocking reads and writes while it waits for running queries`);
      return;
    }
    default:
      return;
  }
}

/** The table a DROP TABLE object names (`List` of `schema`, `table`). */
function tableOf(object: Node): RangeVar | undefined {
  if (!('List' in object)) return undefined;
  const parts = strings(object.List.items);
  const relname = parts[parts.length - 1];
  return relname === undefined ? undefined : { relname, ...(parts.length > 1 ? { schemaname: parts[parts.length - 2] } : {}) };
}

function constraintsOf(column: ColumnDef): Constraint[] {
  return (column.constraints ?? []).flatMap((node) => ('Constraint' in node ? [node.Constraint] : []));
}

function checkAlterTable(stmt: AlterTableStmt, context: StatementContext, hit: HitFn): void {
  const table = stmt.relation;
  const name = relationName(table);
  // A table created earlier in this file holds no rows another version wrote: nothing to lock or break.
  if (context.createdHere(table)) return;
  for (const cmd of (stmt.cmds ?? []).flatMap((node) => ('AlterTableCmd' in node ? [node.AlterTableCmd] : []))) {
    checkAlterTableCommand(cmd, table, name, context, hit);
  }
}

function checkAlterTableCommand(cmd: AlterTableCmd, table: RangeVar | undefined, name: string, context: StatementContext, hit: HitFn): void {
  const column = cmd.name ?? '?';
  switch (cmd.subtype) {
    case 'AT_DropColumn':
      hit('drop-column', `dropping column ${column} of ${name} deletes its data, and the version still serving may read or write it`);
      return;
    case 'AT_DropConstraint':
      hit('drop-constraint', `dropping constraint ${column} of ${name} removes a guarantee the version still serving may rely on (ON CONFLICT, cascades, checks)`);
      return;
    case 'AT_AlterColumnType':
      hit('change-column-type', `changing the type of ${name}.${column} rewrites the table (and its indexes) under an ACCESS EXCLUSIVE lock for most type changes, and the version still serving may send values of the old type`);
      return;
    case 'AT_SetNotNull':
      if (!context.validatedNotNull(table, column)) {
        hit('set-not-null', `SET NOT NULL on ${name}.${column} scans the whole table under an ACCESS EXCLUSIVE lock (no validated CHECK (${column} IS NOT NULL) to skip it)`);
      }
      return;
    case 'AT_DropNotNull':
      hit('drop-not-null', `dropping NOT NULL on ${name}.${column}: once NULLs are written, the version still serving reads values it assumes are never NULL`);
      return;
    case 'AT_AddColumn':
      if (cmd.def !== undefined && 'ColumnDef' in cmd.def) checkAddColumn(cmd.def.ColumnDef, name, hit);
      return;
    case 'AT_AddConstraint':
      if (cmd.def !== undefined && 'Constraint' in cmd.def) checkAddConstraint(cmd.def.Constraint, table, name, context, hit);
      return;
    case 'AT_ValidateConstraint':
      if (context.inTransaction && context.addedNotValidInThisTransaction(table, column)) {
        hit('validate-in-same-transaction', `VALIDATE CONSTRAINT ${column} on ${name} runs in the transaction that added it NOT VALID (${context.transactionReason}), so the lock ADD CONSTRAINT took is held while the whole table is scanned`);
      }
      return;
    case 'AT_DetachPartition': {
      const partition = cmd.def !== undefined && 'PartitionCmd' in cmd.def ? cmd.def.PartitionCmd : undefined;
      const child = relationName(partition?.name);
      if (partition?.concurrent === true) {
        if (context.inTransaction) hit('concurrently-in-transaction', `DETACH PARTITION ${child} CONCURRENTLY cannot run inside a transaction, and ${context.transactionReason}`);
      } else {
        hit('detach-partition', `DETACH PARTITION ${child} takes an ACCESS EXCLUSIVE lock on ${name}, blocking reads and writes of every partition`);
      }
      return;
    }
    case 'AT_SetTableSpace':
      hit('rewrite-table', `SET TABLESPACE moves every row of ${name} under an ACCESS EXCLUSIVE lock`);
      return;
    case 'AT_SetLogged':
    case 'AT_SetUnLogged':
      hit('rewrite-table', `SET ${cmd.subtype === 'AT_SetLogged' ? 'LOGGED' : 'UNLOGGED'} rewrites ${name} under an ACCESS EXCLUSIVE lock`);
      return;
    case 'AT_SetAccessMethod':
      hit('rewrite-table', `SET ACCESS METHOD rewrites ${name} under an ACCESS EXCLUSIVE lock`);
      return;
    case 'AT_SetExpression':
      hit('rewrite-table', `SET EXPRESSION on ${name}.${column} recomputes every row under an ACCESS EXCLUSIVE lock`);
      return;
    default:
      return;
  }
}

function checkAddColumn(column: ColumnDef, table: string, hit: HitFn): void {
  const name = `${table}.${column.colname ?? '?'}`;
  const constraints = constraintsOf(column);
  const typeNames = strings(column.typeName?.names);
  const type = (typeNames[typeNames.length - 1] ?? '').toLowerCase();
  const serial = typeNames.length === 1 && SERIAL_TYPES.has(type);
  const identity = constraints.some((c) => c.contype === 'CONSTR_IDENTITY');
  const stored = constraints.some((c) => c.contype === 'CONSTR_GENERATED');
  const defaultExpr = constraints.find((c) => c.contype === 'CONSTR_DEFAULT')?.raw_expr;
  const notNull = constraints.some((c) => c.contype === 'CONSTR_NOTNULL');

  if (serial || identity || stored) {
    const what = serial ? `a ${type} column` : identity ? 'an identity column' : 'a stored generated column';
    hit('add-serial-column', `adding ${name} as ${what} computes a value for every existing row, rewriting the table under an ACCESS EXCLUSIVE lock`);
  } else if (defaultExpr !== undefined) {
    const volatility = defaultVolatility(defaultExpr);
    if (volatility.volatile) {
      const why = volatility.known ? 'a volatile function' : 'a function not known to be stable or immutable';
      hit('volatile-default', `adding ${name} with DEFAULT ${volatility.call} (${why}) rewrites every row of the table under an ACCESS EXCLUSIVE lock`);
    }
  } else if (notNull) {
    hit('not-null-without-default', `adding ${name} NOT NULL without a DEFAULT fails on a table with rows, and the version still serving inserts rows without it`);
  }
  for (const constraint of constraints) {
    if (constraint.contype === 'CONSTR_FOREIGN') {
      hit('foreign-key-without-not-valid', `adding ${name} REFERENCES ${relationName(constraint.pktable)} locks both tables against writes while every row is checked`);
    } else if (constraint.contype === 'CONSTR_CHECK') {
      hit('check-without-not-valid', `adding ${name} with a CHECK scans the whole table under an ACCESS EXCLUSIVE lock`);
    } else if (constraint.contype === 'CONSTR_UNIQUE' || constraint.contype === 'CONSTR_PRIMARY') {
      hit('unique-without-index', `adding ${name} as ${constraint.contype === 'CONSTR_PRIMARY' ? 'PRIMARY KEY' : 'UNIQUE'} builds its index under an ACCESS EXCLUSIVE lock`);
    }
  }
}

function checkAddConstraint(constraint: Constraint, table: RangeVar | undefined, name: string, context: StatementContext, hit: HitFn): void {
  const label = constraint.conname ? `constraint ${constraint.conname}` : 'a constraint';
  const validated = constraint.skip_validation !== true;
  switch (constraint.contype) {
    case 'CONSTR_CHECK':
      if (validated) hit('check-without-not-valid', `adding CHECK ${label} to ${name} scans the whole table under an ACCESS EXCLUSIVE lock`);
      return;
    case 'CONSTR_FOREIGN':
      if (validated) hit('foreign-key-without-not-valid', `adding FOREIGN KEY ${label} to ${name} locks ${name} and ${relationName(constraint.pktable)} against writes while every row is checked`);
      return;
    case 'CONSTR_PRIMARY':
    case 'CONSTR_UNIQUE':
    case 'CONSTR_EXCLUSION':
      if (constraint.indexname === undefined) {
        const kind = constraint.contype === 'CONSTR_PRIMARY' ? 'PRIMARY KEY' : constraint.contype === 'CONSTR_UNIQUE' ? 'UNIQUE' : 'EXCLUDE';
        const tail = constraint.contype === 'CONSTR_EXCLUSION' ? ' (an exclusion constraint cannot use an existing index: add it when the table is created, or in a maintenance window)' : '';
        hit('unique-without-index', `adding ${kind} ${label} to ${name} builds its index under an ACCESS EXCLUSIVE lock, blocking reads and writes${tail}`);
      }
      return;
    case 'CONSTR_NOTNULL': {
      const column = strings(constraint.keys)[0] ?? '?';
      if (validated && !context.validatedNotNull(table, column)) {
        hit('set-not-null', `adding NOT NULL ${label} on ${name}.${column} scans the whole table under an ACCESS EXCLUSIVE lock (no validated CHECK (${column} IS NOT NULL) to skip it)`);
      }
      return;
    }
    default:
      return;
  }
}

function checkAlterDomain(stmt: AlterDomainStmt, hit: HitFn): void {
  // subtype 'C' is ADD CONSTRAINT: every column of the domain's type is checked, in every table.
  if (stmt.subtype !== 'C' || stmt.def === undefined || !('Constraint' in stmt.def)) return;
  const constraint = stmt.def.Constraint;
  if (constraint.contype === 'CONSTR_CHECK' && constraint.skip_validation !== true) {
    hit('check-without-not-valid', `adding CHECK ${constraint.conname ?? ''} to domain ${strings(stmt.typeName).join('.')} scans every table with a column of that type while locking them`);
  }
}
