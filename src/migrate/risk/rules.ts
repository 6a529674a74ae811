/**
 * The risk lint's rules: id, class, what each catches and its safe alternative. The checks that
 * find them in libpg-query's syntax tree are in checks.ts; the README's rules table mirrors this list.
 */
import type { RiskRule } from './types.js';

export const RULES = [
  // destructive: data or schema gone for good
  { id: 'drop-table', class: 'destructive', what: 'DROP TABLE', fix: 'stop using the table in a release first, then drop it in a later migration that runs after the rollout (migrate_post), with a backup' },
  { id: 'drop-column', class: 'destructive', what: 'ALTER TABLE … DROP COLUMN', fix: 'deploy code that no longer reads or writes the column first, then drop it in a later migration that runs after the rollout (migrate_post)' },
  { id: 'drop-schema', class: 'destructive', what: 'DROP SCHEMA', fix: 'move or drop what the schema holds one object at a time, after no release uses it' },
  { id: 'drop-database', class: 'destructive', what: 'DROP DATABASE', fix: 'drop databases by hand, with a backup, never from a migration' },
  { id: 'drop-type', class: 'destructive', what: 'DROP TYPE, DROP DOMAIN', fix: 'stop using the type in a release first, then drop it in a later migration that runs after the rollout (migrate_post)' },
  { id: 'truncate', class: 'destructive', what: 'TRUNCATE', fix: 'delete the rows you mean with DELETE … WHERE, in batches; truncate by hand if the whole table must go' },
  { id: 'delete-without-where', class: 'destructive', what: 'DELETE without WHERE', fix: 'add a WHERE clause naming the rows to delete, and delete in batches' },
  { id: 'update-without-where', class: 'destructive', what: 'UPDATE without WHERE', fix: 'add a WHERE clause naming the rows to change, and update in batches (e.g. by primary key ranges)' },
  // incompatible: the version still serving breaks
  { id: 'rename-table', class: 'incompatible', what: 'ALTER TABLE/VIEW … RENAME TO, ALTER TABLE … SET SCHEMA', fix: 'create the new table (or a view with the new name), deploy code that uses it, then drop the old name in a later migration' },
  { id: 'rename-column', class: 'incompatible', what: 'ALTER TABLE … RENAME COLUMN', fix: 'add the new column, write both and backfill, deploy code that reads the new one, then drop the old one in a later migration' },
  { id: 'drop-constraint', class: 'incompatible', what: 'ALTER TABLE … DROP CONSTRAINT', fix: 'deploy code that no longer relies on the constraint (ON CONFLICT targets, cascades, checks) first, then drop it after the rollout (migrate_post)' },
  { id: 'drop-not-null', class: 'incompatible', what: 'ALTER COLUMN … DROP NOT NULL', fix: 'deploy code that handles NULL in the column first, then drop the NOT NULL after the rollout (migrate_post)' },
  { id: 'not-null-without-default', class: 'incompatible', what: 'ADD COLUMN … NOT NULL without a DEFAULT', fix: 'add the column with a constant DEFAULT (no rewrite since PostgreSQL 11), or add it nullable, backfill, then SET NOT NULL the safe way' },
  // locking: blocks reads or writes for as long as the table is big
  { id: 'create-index', class: 'locking', what: 'CREATE INDEX without CONCURRENTLY on a table not created in the same file', fix: 'CREATE INDEX CONCURRENTLY, in a file of its own outside a transaction (-- stagecraft:no-transaction)' },
  { id: 'drop-index', class: 'locking', what: 'DROP INDEX without CONCURRENTLY', fix: 'DROP INDEX CONCURRENTLY, in a file of its own outside a transaction (-- stagecraft:no-transaction)' },
  { id: 'reindex', class: 'locking', what: 'REINDEX without CONCURRENTLY', fix: 'REINDEX … CONCURRENTLY (PostgreSQL 12+), outside a transaction (-- stagecraft:no-transaction)' },
  { id: 'concurrently-in-transaction', class: 'locking', what: 'CREATE/DROP INDEX, REINDEX or DETACH PARTITION … CONCURRENTLY inside a transaction (it fails there)', fix: 'put it in a migration of its own that runs outside a transaction: for the raw engine, a file starting with -- stagecraft:no-transaction; for other tools, one statement per migration without BEGIN/COMMIT' },
  { id: 'change-column-type', class: 'locking', what: 'ALTER COLUMN … TYPE', fix: 'add a column of the new type, write both and backfill in batches, switch reads, then drop the old column in a later migration' },
  { id: 'set-not-null', class: 'locking', what: 'SET NOT NULL (or ADD CONSTRAINT … NOT NULL) without a validated CHECK (col IS NOT NULL)', fix: 'ADD CONSTRAINT … CHECK (col IS NOT NULL) NOT VALID, then VALIDATE CONSTRAINT in another transaction, then SET NOT NULL (no scan), then drop the check' },
  { id: 'check-without-not-valid', class: 'locking', what: 'ADD CONSTRAINT … CHECK (on a table or a domain, or inline in ADD COLUMN) without NOT VALID', fix: 'ADD CONSTRAINT … NOT VALID, then ALTER TABLE … VALIDATE CONSTRAINT in another transaction' },
  { id: 'foreign-key-without-not-valid', class: 'locking', what: 'ADD FOREIGN KEY (or REFERENCES in ADD COLUMN) without NOT VALID', fix: 'ADD CONSTRAINT … FOREIGN KEY … NOT VALID, then VALIDATE CONSTRAINT in another transaction' },
  { id: 'validate-in-same-transaction', class: 'locking', what: 'VALIDATE CONSTRAINT in the transaction that added the constraint NOT VALID', fix: 'validate in another transaction: the next migration, or a -- stagecraft:no-transaction file' },
  { id: 'unique-without-index', class: 'locking', what: 'ADD PRIMARY KEY / UNIQUE / EXCLUDE (or UNIQUE/PRIMARY KEY in ADD COLUMN) without USING INDEX', fix: 'CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT … UNIQUE (or PRIMARY KEY) USING INDEX' },
  { id: 'add-serial-column', class: 'locking', what: 'ADD COLUMN of type serial/bigserial/smallserial, GENERATED … AS IDENTITY or GENERATED … STORED on an existing table', fix: 'add a plain nullable column, backfill it in batches, then attach the sequence or default; or create the column with the table' },
  { id: 'volatile-default', class: 'locking', what: 'ADD COLUMN with a volatile default (random(), gen_random_uuid(), clock_timestamp(), nextval(), a function not known to be stable)', fix: 'add the column without a default, SET DEFAULT afterwards (only new rows get it), and backfill existing rows in batches' },
  { id: 'rewrite-table', class: 'locking', what: 'SET TABLESPACE, SET LOGGED/UNLOGGED, SET ACCESS METHOD, ALTER COLUMN … SET EXPRESSION', fix: 'do it in a maintenance window, or copy into a new table online (logical replication, pg_repack)' },
  { id: 'vacuum-full', class: 'locking', what: 'VACUUM FULL', fix: 'plain VACUUM (no exclusive lock) from a migration; reclaim space online with pg_repack or in a maintenance window' },
  { id: 'cluster', class: 'locking', what: 'CLUSTER', fix: 'reorder online with pg_repack, or in a maintenance window' },
  { id: 'lock-table', class: 'locking', what: 'LOCK TABLE in SHARE mode or stronger', fix: 'do not lock by hand: keep the migration to statements whose own locks are short' },
  { id: 'detach-partition', class: 'locking', what: 'DETACH PARTITION without CONCURRENTLY', fix: 'DETACH PARTITION … CONCURRENTLY (PostgreSQL 14+), outside a transaction' },
  { id: 'refresh-materialized-view', class: 'locking', what: 'REFRESH MATERIALIZED VIEW without CONCURRENTLY', fix: 'REFRESH MATERIALIZED VIEW CONCURRENTLY (needs a unique index on the view)' },
] as const satisfies readonly RiskRule[];

export type RuleId = (typeof RULES)[number]['id'];

const BY_ID: ReadonlyMap<string, RiskRule> = new Map(RULES.map((rule) => [rule.id, rule]));

export function ruleById(id: string): RiskRule | undefined {
  return BY_ID.get(id);
}

export const RULE_IDS: readonly string[] = RULES.map((rule) => rule.id);
