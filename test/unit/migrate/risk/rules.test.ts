import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RULES, ruleById } from '../../../../src/migrate/risk/rules.js';
import type { TransactionMode } from '../../../../src/migrate/risk/types.js';
import { lint, rules } from './helpers.js';

/** Each case: SQL in (run as `mode`, default one transaction), the rules it breaks out, in order. */
interface Case {
  sql: string;
  expect: string[];
  mode?: TransactionMode;
}

const CASES: Record<string, { breaks: Case[]; safe: Case[] }> = {
  'drop-table': {
    breaks: [{ sql: 'DROP TABLE accounts;', expect: ['drop-table'] }, { sql: 'DROP TABLE IF EXISTS app.accounts, app.users CASCADE;', expect: ['drop-table'] }],
    safe: [
      { sql: 'CREATE TABLE scratch (id int);\nDROP TABLE scratch;', expect: [] },
      { sql: 'DROP VIEW accounts_view;', expect: [] },
    ],
  },
  'drop-column': {
    breaks: [{ sql: 'ALTER TABLE accounts DROP COLUMN legacy;', expect: ['drop-column'] }],
    safe: [{ sql: 'CREATE TABLE t (a int, b int);\nALTER TABLE t DROP COLUMN b;', expect: [] }],
  },
  'drop-schema': {
    breaks: [{ sql: 'DROP SCHEMA reporting CASCADE;', expect: ['drop-schema'] }],
    safe: [{ sql: 'CREATE SCHEMA reporting;', expect: [] }],
  },
  'drop-database': {
    breaks: [{ sql: 'DROP DATABASE shop;', expect: ['drop-database'] }],
    safe: [{ sql: 'CREATE DATABASE shop;', expect: [] }],
  },
  'drop-type': {
    breaks: [{ sql: 'DROP TYPE mood;', expect: ['drop-type'] }, { sql: 'DROP DOMAIN positive_int;', expect: ['drop-type'] }],
    safe: [{ sql: "CREATE TYPE mood AS ENUM ('ok');", expect: [] }],
  },
  'drop-constraint': {
    breaks: [{ sql: 'ALTER TABLE accounts DROP CONSTRAINT accounts_email_key;', expect: ['drop-constraint'] }],
    safe: [{ sql: 'CREATE TABLE t (a int CONSTRAINT k CHECK (a > 0));\nALTER TABLE t DROP CONSTRAINT k;', expect: [] }],
  },
  'drop-index': {
    breaks: [{ sql: 'DROP INDEX accounts_email;', expect: ['drop-index'] }],
    safe: [
      { sql: '-- stagecraft:no-transaction\nDROP INDEX CONCURRENTLY accounts_email;', mode: 'explicit', expect: [] },
      { sql: 'CREATE TABLE t (a int);\nCREATE INDEX t_a ON t (a);\nDROP INDEX t_a;', expect: [] },
    ],
  },
  truncate: {
    breaks: [{ sql: 'TRUNCATE accounts;', expect: ['truncate'] }, { sql: 'TRUNCATE TABLE a, b CASCADE;', expect: ['truncate'] }],
    safe: [{ sql: 'CREATE TABLE staging_import (a int);\nTRUNCATE staging_import;', expect: [] }],
  },
  'delete-without-where': {
    breaks: [
      { sql: 'DELETE FROM sessions;', expect: ['delete-without-where'] },
      { sql: 'WITH gone AS (DELETE FROM sessions RETURNING id) SELECT count(*) FROM gone;', expect: ['delete-without-where'] },
    ],
    safe: [{ sql: "DELETE FROM sessions WHERE expires_at < now() - interval '30 days';", expect: [] }],
  },
  'update-without-where': {
    breaks: [{ sql: "UPDATE accounts SET plan = 'free';", expect: ['update-without-where'] }],
    safe: [
      { sql: "UPDATE accounts SET plan = 'free' WHERE plan IS NULL;", expect: [] },
      { sql: "CREATE TABLE t (a int);\nINSERT INTO t VALUES (1);\nUPDATE t SET a = 2;", expect: [] },
    ],
  },
  'rename-table': {
    breaks: [
      { sql: 'ALTER TABLE accounts RENAME TO customers;', expect: ['rename-table'] },
      { sql: 'ALTER VIEW active_accounts RENAME TO live_accounts;', expect: ['rename-table'] },
      { sql: 'ALTER TABLE accounts SET SCHEMA billing;', expect: ['rename-table'] },
    ],
    safe: [
      { sql: 'CREATE TABLE t (a int);\nALTER TABLE t RENAME TO u;\nCREATE INDEX u_a ON u (a);', expect: [] },
      { sql: 'ALTER INDEX accounts_email RENAME TO accounts_email_idx;', expect: [] },
    ],
  },
  'rename-column': {
    breaks: [{ sql: 'ALTER TABLE accounts RENAME COLUMN email TO email_address;', expect: ['rename-column'] }],
    safe: [{ sql: 'CREATE TABLE t (a int);\nALTER TABLE t RENAME COLUMN a TO b;', expect: [] }],
  },
  'change-column-type': {
    breaks: [{ sql: 'ALTER TABLE accounts ALTER COLUMN id TYPE bigint;', expect: ['change-column-type'] }],
    safe: [{ sql: 'CREATE TABLE t (a int);\nALTER TABLE t ALTER COLUMN a TYPE bigint;', expect: [] }],
  },
  'set-not-null': {
    breaks: [
      { sql: 'ALTER TABLE accounts ALTER COLUMN email SET NOT NULL;', expect: ['set-not-null'] },
      { sql: 'ALTER TABLE accounts ADD CONSTRAINT email_nn NOT NULL email;', expect: ['set-not-null'] },
      // A check that was never validated does not help.
      { sql: 'ALTER TABLE accounts ADD CONSTRAINT k CHECK (email IS NOT NULL) NOT VALID;\nALTER TABLE accounts ALTER COLUMN email SET NOT NULL;', expect: ['set-not-null'] },
      // A validated check on another column does not help either.
      { sql: '-- stagecraft:no-transaction\nALTER TABLE accounts ADD CONSTRAINT k CHECK (name IS NOT NULL) NOT VALID;\nALTER TABLE accounts VALIDATE CONSTRAINT k;\nALTER TABLE accounts ALTER COLUMN email SET NOT NULL;', mode: 'explicit', expect: ['set-not-null'] },
    ],
    safe: [
      { sql: '-- stagecraft:no-transaction\nALTER TABLE accounts ADD CONSTRAINT k CHECK (email IS NOT NULL) NOT VALID;\nALTER TABLE accounts VALIDATE CONSTRAINT k;\nALTER TABLE accounts ALTER COLUMN email SET NOT NULL;\nALTER TABLE accounts DROP CONSTRAINT k;', mode: 'explicit', expect: ['drop-constraint'] },
      { sql: 'ALTER TABLE accounts ADD CONSTRAINT email_nn NOT NULL email NOT VALID;', expect: [] },
      { sql: 'CREATE TABLE t (a int);\nALTER TABLE t ALTER COLUMN a SET NOT NULL;', expect: [] },
    ],
  },
  'drop-not-null': {
    breaks: [{ sql: 'ALTER TABLE accounts ALTER COLUMN email DROP NOT NULL;', expect: ['drop-not-null'] }],
    safe: [{ sql: 'ALTER TABLE accounts ALTER COLUMN email SET DEFAULT \'\';', expect: [] }],
  },
  'not-null-without-default': {
    breaks: [{ sql: 'ALTER TABLE accounts ADD COLUMN plan text NOT NULL;', expect: ['not-null-without-default'] }],
    safe: [
      { sql: "ALTER TABLE accounts ADD COLUMN plan text NOT NULL DEFAULT 'free';", expect: [] },
      { sql: 'ALTER TABLE accounts ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();', expect: [] },
      { sql: 'ALTER TABLE accounts ADD COLUMN plan text;', expect: [] },
      { sql: 'CREATE TABLE t (a int);\nALTER TABLE t ADD COLUMN b int NOT NULL;', expect: [] },
    ],
  },
  'check-without-not-valid': {
    breaks: [
      { sql: 'ALTER TABLE accounts ADD CONSTRAINT positive CHECK (balance >= 0);', expect: ['check-without-not-valid'] },
      { sql: 'ALTER TABLE accounts ADD COLUMN age int CHECK (age > 0);', expect: ['check-without-not-valid'] },
      { sql: 'ALTER DOMAIN positive_int ADD CONSTRAINT positive CHECK (VALUE > 0);', expect: ['check-without-not-valid'] },
    ],
    safe: [
      { sql: 'ALTER TABLE accounts ADD CONSTRAINT positive CHECK (balance >= 0) NOT VALID;', expect: [] },
      { sql: 'ALTER DOMAIN positive_int ADD CONSTRAINT positive CHECK (VALUE > 0) NOT VALID;', expect: [] },
      { sql: 'CREATE TABLE t (a int);\nALTER TABLE t ADD CONSTRAINT k CHECK (a > 0);', expect: [] },
    ],
  },
  'foreign-key-without-not-valid': {
    breaks: [
      { sql: 'ALTER TABLE orders ADD CONSTRAINT orders_account FOREIGN KEY (account_id) REFERENCES accounts (id);', expect: ['foreign-key-without-not-valid'] },
      { sql: 'ALTER TABLE orders ADD COLUMN account_id bigint REFERENCES accounts (id);', expect: ['foreign-key-without-not-valid'] },
    ],
    safe: [
      { sql: 'ALTER TABLE orders ADD CONSTRAINT orders_account FOREIGN KEY (account_id) REFERENCES accounts (id) NOT VALID;', expect: [] },
      { sql: 'CREATE TABLE orders (id bigint, account_id bigint REFERENCES accounts (id));', expect: [] },
    ],
  },
  'validate-in-same-transaction': {
    breaks: [
      { sql: 'ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES accounts (id) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT fk;', expect: ['validate-in-same-transaction'] },
      { sql: 'BEGIN;\nALTER TABLE t ADD CONSTRAINT k CHECK (a > 0) NOT VALID;\nALTER TABLE t VALIDATE CONSTRAINT k;\nCOMMIT;', mode: 'explicit', expect: ['validate-in-same-transaction'] },
    ],
    safe: [
      // NOT VALID, then VALIDATE CONSTRAINT in its own transaction: the safe pattern.
      { sql: '-- stagecraft:no-transaction\nALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES accounts (id) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT fk;', mode: 'explicit', expect: [] },
      { sql: 'BEGIN;\nALTER TABLE t ADD CONSTRAINT k CHECK (a > 0) NOT VALID;\nCOMMIT;\nALTER TABLE t VALIDATE CONSTRAINT k;', mode: 'explicit', expect: [] },
      // Validating a constraint an earlier migration added.
      { sql: 'ALTER TABLE orders VALIDATE CONSTRAINT fk;', expect: [] },
    ],
  },
  'unique-without-index': {
    breaks: [
      { sql: 'ALTER TABLE accounts ADD CONSTRAINT accounts_email_key UNIQUE (email);', expect: ['unique-without-index'] },
      { sql: 'ALTER TABLE accounts ADD PRIMARY KEY (id);', expect: ['unique-without-index'] },
      { sql: 'ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&);', expect: ['unique-without-index'] },
      { sql: 'ALTER TABLE accounts ADD COLUMN code text UNIQUE;', expect: ['unique-without-index'] },
    ],
    safe: [{ sql: 'ALTER TABLE accounts ADD CONSTRAINT accounts_email_key UNIQUE USING INDEX accounts_email_idx;', expect: [] }],
  },
  'create-index': {
    breaks: [{ sql: 'CREATE INDEX accounts_email ON accounts (email);', expect: ['create-index'] }, { sql: 'CREATE UNIQUE INDEX ON accounts (lower(email));', expect: ['create-index'] }],
    safe: [
      // An index on a table created in the same file.
      { sql: 'CREATE TABLE notes (id bigint, body text);\nCREATE INDEX notes_body ON notes (body);', expect: [] },
      { sql: 'CREATE TABLE app.notes (id bigint);\nCREATE INDEX notes_id ON app.notes (id);', expect: [] },
      { sql: '-- stagecraft:no-transaction\nCREATE INDEX CONCURRENTLY accounts_email ON accounts (email);', mode: 'explicit', expect: [] },
    ],
  },
  reindex: {
    breaks: [{ sql: 'REINDEX TABLE accounts;', expect: ['reindex'] }, { sql: 'REINDEX (CONCURRENTLY false) INDEX accounts_email;', expect: ['reindex'] }],
    safe: [{ sql: 'REINDEX INDEX CONCURRENTLY accounts_email;', mode: 'explicit', expect: [] }],
  },
  'concurrently-in-transaction': {
    breaks: [
      { sql: 'CREATE INDEX CONCURRENTLY accounts_email ON accounts (email);', expect: ['concurrently-in-transaction'] },
      { sql: 'BEGIN;\nCREATE INDEX CONCURRENTLY a_b ON a (b);\nCOMMIT;', mode: 'explicit', expect: ['concurrently-in-transaction'] },
      { sql: 'START TRANSACTION;\nDROP INDEX CONCURRENTLY a_b;\nEND;', mode: 'explicit', expect: ['concurrently-in-transaction'] },
      { sql: 'REINDEX (CONCURRENTLY) TABLE accounts;', expect: ['concurrently-in-transaction'] },
      { sql: 'ALTER TABLE events DETACH PARTITION events_2020 CONCURRENTLY;', expect: ['concurrently-in-transaction'] },
      // One multi-statement query (golang-migrate, prisma) is one implicit transaction.
      { sql: 'ALTER TABLE a ADD COLUMN b int;\nCREATE INDEX CONCURRENTLY a_b ON a (b);', mode: 'script', expect: ['concurrently-in-transaction'] },
    ],
    safe: [
      { sql: '-- stagecraft:no-transaction\nCREATE INDEX CONCURRENTLY a_b ON a (b);\nDROP INDEX CONCURRENTLY a_c;', mode: 'explicit', expect: [] },
      { sql: 'BEGIN;\nALTER TABLE a ADD COLUMN b int;\nCOMMIT;\nCREATE INDEX CONCURRENTLY a_b ON a (b);', mode: 'explicit', expect: [] },
      { sql: 'CREATE INDEX CONCURRENTLY a_b ON a (b);', mode: 'script', expect: [] },
    ],
  },
  'add-serial-column': {
    breaks: [
      { sql: 'ALTER TABLE accounts ADD COLUMN seq bigserial;', expect: ['add-serial-column'] },
      { sql: 'ALTER TABLE accounts ADD COLUMN seq serial;', expect: ['add-serial-column'] },
      { sql: 'ALTER TABLE accounts ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;', expect: ['add-serial-column'] },
      { sql: 'ALTER TABLE accounts ADD COLUMN total numeric GENERATED ALWAYS AS (price * qty) STORED;', expect: ['add-serial-column'] },
    ],
    safe: [
      { sql: 'CREATE TABLE t (id bigserial PRIMARY KEY);', expect: [] },
      { sql: 'CREATE TABLE t (a int);\nALTER TABLE t ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY;', expect: [] },
      { sql: 'ALTER TABLE accounts ADD COLUMN seq bigint;', expect: [] },
    ],
  },
  'volatile-default': {
    breaks: [
      { sql: 'ALTER TABLE accounts ADD COLUMN token uuid DEFAULT gen_random_uuid();', expect: ['volatile-default'] },
      { sql: 'ALTER TABLE accounts ADD COLUMN r int DEFAULT (random() * 10)::int;', expect: ['volatile-default'] },
      { sql: 'ALTER TABLE accounts ADD COLUMN seen timestamptz DEFAULT clock_timestamp();', expect: ['volatile-default'] },
      { sql: "ALTER TABLE accounts ADD COLUMN n bigint DEFAULT nextval('accounts_n_seq');", expect: ['volatile-default'] },
      { sql: 'ALTER TABLE accounts ADD COLUMN x int DEFAULT my_function();', expect: ['volatile-default'] },
    ],
    safe: [
      { sql: 'ALTER TABLE accounts ADD COLUMN created_at timestamptz DEFAULT now();', expect: [] },
      { sql: 'ALTER TABLE accounts ADD COLUMN created_at timestamptz DEFAULT CURRENT_TIMESTAMP;', expect: [] },
      { sql: "ALTER TABLE accounts ADD COLUMN tags jsonb DEFAULT '[]'::jsonb;", expect: [] },
      { sql: "ALTER TABLE accounts ADD COLUMN name text DEFAULT lower('X');", expect: [] },
      { sql: 'ALTER TABLE accounts ALTER COLUMN token SET DEFAULT gen_random_uuid();', expect: [] },
      { sql: 'CREATE TABLE t (a int);\nALTER TABLE t ADD COLUMN token uuid DEFAULT gen_random_uuid();', expect: [] },
    ],
  },
  'rewrite-table': {
    breaks: [
      { sql: 'ALTER TABLE accounts SET TABLESPACE fast;', expect: ['rewrite-table'] },
      { sql: 'ALTER TABLE accounts SET LOGGED;', expect: ['rewrite-table'] },
      { sql: 'ALTER TABLE accounts ALTER COLUMN total SET EXPRESSION AS (price * qty);', expect: ['rewrite-table'] },
    ],
    safe: [{ sql: 'ALTER TABLE accounts SET (fillfactor = 90);', expect: [] }],
  },
  'vacuum-full': {
    breaks: [{ sql: 'VACUUM FULL accounts;', expect: ['vacuum-full'] }, { sql: 'VACUUM (FULL, ANALYZE) accounts;', expect: ['vacuum-full'] }],
    safe: [{ sql: 'VACUUM accounts;', mode: 'explicit', expect: [] }, { sql: 'VACUUM (FULL false) accounts;', mode: 'explicit', expect: [] }],
  },
  cluster: {
    breaks: [{ sql: 'CLUSTER accounts USING accounts_pkey;', expect: ['cluster'] }],
    safe: [{ sql: 'CREATE TABLE t (a int PRIMARY KEY);\nCLUSTER t USING t_pkey;', expect: [] }],
  },
  'lock-table': {
    breaks: [{ sql: 'LOCK TABLE accounts;', expect: ['lock-table'] }, { sql: 'LOCK TABLE accounts IN SHARE MODE;', expect: ['lock-table'] }],
    safe: [{ sql: 'LOCK TABLE accounts IN ACCESS SHARE MODE;', expect: [] }, { sql: 'LOCK TABLE accounts IN ROW EXCLUSIVE MODE;', expect: [] }],
  },
  'detach-partition': {
    breaks: [{ sql: 'ALTER TABLE events DETACH PARTITION events_2020;', expect: ['detach-partition'] }],
    safe: [{ sql: 'ALTER TABLE events DETACH PARTITION events_2020 CONCURRENTLY;', mode: 'explicit', expect: [] }],
  },
  'refresh-materialized-view': {
    breaks: [{ sql: 'REFRESH MATERIALIZED VIEW daily_totals;', expect: ['refresh-materialized-view'] }],
    safe: [{ sql: 'REFRESH MATERIALIZED VIEW CONCURRENTLY daily_totals;', expect: [] }],
  },
};

describe('risk rules over the Postgres syntax tree', () => {
  it('every rule has cases that break it and cases that do not', () => {
    expect(Object.keys(CASES).sort()).toEqual(RULES.map((rule) => rule.id).sort());
  });

  for (const [rule, { breaks, safe }] of Object.entries(CASES)) {
    describe(rule, () => {
      for (const c of breaks) {
        it(`flags ${JSON.stringify(c.sql)}${c.mode ? ` (${c.mode})` : ''}`, async () => {
          expect(await rules(c.sql, c.mode)).toEqual(c.expect);
        });
      }
      for (const c of safe) {
        it(`accepts ${JSON.stringify(c.sql)}${c.mode ? ` (${c.mode})` : ''}`, async () => {
          expect(await rules(c.sql, c.mode)).toEqual(c.expect);
        });
      }
    });
  }
});

describe('findings', () => {
  it('carry rule, class, line, statement, message and fix', async () => {
    const sql = '-- a comment\n\nCREATE TABLE t (a int);\n\n  ALTER TABLE accounts\n    DROP COLUMN legacy;\n';
    const result = await lint(sql);
    expect(result.findings).toEqual([
      {
        rule: 'drop-column',
        class: 'destructive',
        line: 5,
        statement: 'ALTER TABLE accounts\n    DROP COLUMN legacy',
        message: expect.stringContaining('legacy of accounts'),
        fix: ruleById('drop-column')!.fix,
      },
    ]);
    expect(Object.keys(result.findings[0]!)).toEqual(['rule', 'class', 'line', 'statement', 'message', 'fix']);
  });

  it('one statement can break several rules, each a finding', async () => {
    expect(await rules('ALTER TABLE a DROP COLUMN b, ALTER COLUMN c TYPE bigint, ADD COLUMN d int NOT NULL;')).toEqual(['drop-column', 'change-column-type', 'not-null-without-default']);
  });

  it('a SQL syntax error is a problem with file:line, not a finding', async () => {
    const result = await lint('CREATE TABLE t (a int);\n\nALTER TABLE t DROP COLUMN;\n');
    expect(result.findings).toEqual([]);
    expect(result.problems).toEqual(['m.sql:3: SQL does not parse: syntax error at or near ";"']);
  });

  it('messages say why a statement runs in a transaction', async () => {
    const [explicit] = (await lint('BEGIN;\nCREATE INDEX CONCURRENTLY a_b ON a (b);\nCOMMIT;', 'explicit')).findings;
    expect(explicit!.message).toContain('between BEGIN (line 1) and COMMIT');
    const [whole] = (await lint('CREATE INDEX CONCURRENTLY a_b ON a (b);')).findings;
    expect(whole!.message).toContain('stagecraft runs this file in one transaction');
  });

  it('every rule has a class, what it catches and a fix', () => {
    for (const rule of RULES) {
      expect(['destructive', 'incompatible', 'locking']).toContain(rule.class);
      expect(rule.what.length).toBeGreaterThan(3);
      expect(rule.fix.length).toBeGreaterThan(10);
    }
  });

  it('the README\'s rules table lists every rule with its class and fix', () => {
    const readme = readFileSync(new URL('../../../../README.md', import.meta.url), 'utf8');
    for (const rule of RULES) expect(readme).toContain(`| \`${rule.id}\` | ${rule.class} | ${rule.what} | ${rule.fix} |`);
  });
});
