/**
 * stagecraft's risk lint next to Squawk (the squawk-cli npm package's binary, installed on first run
 * into .bench/squawk/ — not a devDependency: its per-platform packages are not all on this
 * registry, which `npm ci` would refuse) over the same
 * statements: per case, which rules each reports, with Squawk's rules sorted into stagecraft's
 * classes (destructive, incompatible, locking) or set aside as out of class (style, re-runnability,
 * session settings). It checks that every case where Squawk reports an in-class rule has a
 * stagecraft finding too (or is safe by context, said why), and counts the cases only stagecraft
 * flags. Then the time to lint 1,000 files: stagecraft in-process, stagecraft's CLI, Squawk's CLI.
 * Prints figures, asserts no timing. Run: npm run bench:risk-lint (builds first).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { lintFile } from '../src/migrate/risk/lint.js';
import { rawTransaction } from '../src/migrate/risk/sources.js';
import { median } from './support.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const SQUAWK_VERSION = '2.66.0';
const squawkDir = join(root, '.bench/squawk');
const squawk = join(squawkDir, 'node_modules/.bin/squawk');

/** Installs squawk-cli once into .bench/squawk (npm skips the platform packages it cannot find). */
function ensureSquawk(): void {
  if (existsSync(squawk)) return;
  mkdirSync(squawkDir, { recursive: true });
  const install = spawnSync('npm', ['install', '--prefix', squawkDir, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', `squawk-cli@${SQUAWK_VERSION}`], { stdio: 'inherit' });
  if (install.status !== 0) throw new Error(`npm install squawk-cli@${SQUAWK_VERSION} into ${squawkDir} failed (exit ${install.status})`);
}
const stagecraft = join(root, 'bin/stagecraft.js');
const runs = Number(process.env.RUNS ?? 3);
const NO_TX = '-- stagecraft:no-transaction\n';

interface Case {
  name: string;
  sql: string;
  /** Why stagecraft deliberately reports nothing where Squawk does. */
  safeByContext?: string;
}

/** Files stagecraft's raw engine runs in one transaction unless they start with NO_TX; Squawk is told the same (--assume-in-transaction). */
const CASES: Case[] = [
  { name: 'drop table', sql: 'DROP TABLE accounts;' },
  { name: 'drop column', sql: 'ALTER TABLE accounts DROP COLUMN legacy;' },
  { name: 'drop schema', sql: 'DROP SCHEMA reporting CASCADE;' },
  { name: 'drop database', sql: 'DROP DATABASE shop;' },
  { name: 'drop type', sql: 'DROP TYPE mood;' },
  { name: 'drop constraint', sql: 'ALTER TABLE accounts DROP CONSTRAINT accounts_email_key;' },
  { name: 'drop index', sql: 'DROP INDEX accounts_email;' },
  { name: 'drop index concurrently, no transaction', sql: `${NO_TX}DROP INDEX CONCURRENTLY accounts_email;` },
  { name: 'truncate', sql: 'TRUNCATE accounts;' },
  { name: 'truncate cascade', sql: 'TRUNCATE accounts CASCADE;' },
  { name: 'delete without where', sql: 'DELETE FROM sessions;' },
  { name: 'delete in a CTE', sql: 'WITH gone AS (DELETE FROM sessions RETURNING id) SELECT count(*) FROM gone;' },
  { name: 'delete with where', sql: "DELETE FROM sessions WHERE expires_at < now() - interval '30 days';" },
  { name: 'update without where', sql: "UPDATE accounts SET plan = 'free';" },
  { name: 'update with where', sql: "UPDATE accounts SET plan = 'free' WHERE plan IS NULL;" },
  { name: 'rename table', sql: 'ALTER TABLE accounts RENAME TO customers;' },
  { name: 'rename column', sql: 'ALTER TABLE accounts RENAME COLUMN email TO email_address;' },
  { name: 'move table to another schema', sql: 'ALTER TABLE accounts SET SCHEMA billing;' },
  { name: 'change column type', sql: 'ALTER TABLE accounts ALTER COLUMN id TYPE bigint;' },
  { name: 'set not null', sql: 'ALTER TABLE accounts ALTER COLUMN email SET NOT NULL;' },
  {
    name: 'set not null after a validated check',
    sql: `${NO_TX}ALTER TABLE accounts ADD CONSTRAINT email_nn CHECK (email IS NOT NULL) NOT VALID;\nALTER TABLE accounts VALIDATE CONSTRAINT email_nn;\nALTER TABLE accounts ALTER COLUMN email SET NOT NULL;`,
    safeByContext: 'the validated CHECK (email IS NOT NULL) lets PostgreSQL 12+ skip the scan',
  },
  { name: 'drop not null', sql: 'ALTER TABLE accounts ALTER COLUMN email DROP NOT NULL;' },
  { name: 'not null column without default', sql: 'ALTER TABLE accounts ADD COLUMN plan text NOT NULL;' },
  { name: 'not null column with constant default', sql: "ALTER TABLE accounts ADD COLUMN plan text NOT NULL DEFAULT 'free';" },
  { name: 'default now()', sql: 'ALTER TABLE accounts ADD COLUMN created_at timestamptz DEFAULT now();' },
  { name: 'default gen_random_uuid()', sql: 'ALTER TABLE accounts ADD COLUMN token uuid DEFAULT gen_random_uuid();' },
  { name: 'default of an unknown function', sql: 'ALTER TABLE accounts ADD COLUMN score int DEFAULT compute_score();' },
  { name: 'add check', sql: 'ALTER TABLE accounts ADD CONSTRAINT positive CHECK (balance >= 0);' },
  { name: 'add check NOT VALID, validate later', sql: `${NO_TX}ALTER TABLE accounts ADD CONSTRAINT positive CHECK (balance >= 0) NOT VALID;\nALTER TABLE accounts VALIDATE CONSTRAINT positive;` },
  { name: 'add check NOT VALID + validate, one transaction', sql: 'ALTER TABLE accounts ADD CONSTRAINT positive CHECK (balance >= 0) NOT VALID;\nALTER TABLE accounts VALIDATE CONSTRAINT positive;' },
  { name: 'add foreign key', sql: 'ALTER TABLE orders ADD CONSTRAINT orders_account FOREIGN KEY (account_id) REFERENCES accounts (id);' },
  { name: 'add column references', sql: 'ALTER TABLE orders ADD COLUMN account_id bigint REFERENCES accounts (id);' },
  { name: 'add foreign key NOT VALID', sql: 'ALTER TABLE orders ADD CONSTRAINT orders_account FOREIGN KEY (account_id) REFERENCES accounts (id) NOT VALID;' },
  { name: 'add unique', sql: 'ALTER TABLE accounts ADD CONSTRAINT accounts_email_key UNIQUE (email);' },
  { name: 'add primary key', sql: 'ALTER TABLE accounts ADD PRIMARY KEY (id);' },
  { name: 'unique using index', sql: 'ALTER TABLE accounts ADD CONSTRAINT accounts_email_key UNIQUE USING INDEX accounts_email_idx;' },
  { name: 'create index', sql: 'CREATE INDEX accounts_email ON accounts (email);' },
  {
    name: 'create index on a table made in the file',
    sql: 'CREATE TABLE notes (id bigint, body text);\nCREATE INDEX notes_body ON notes (body);',
    safeByContext: 'the table was created in the same file: it is empty and nobody else sees it yet',
  },
  { name: 'create index concurrently, in a transaction', sql: 'CREATE INDEX CONCURRENTLY accounts_email ON accounts (email);' },
  { name: 'create index concurrently, BEGIN…COMMIT', sql: `${NO_TX}BEGIN;\nCREATE INDEX CONCURRENTLY accounts_email ON accounts (email);\nCOMMIT;` },
  { name: 'create index concurrently, no transaction', sql: `${NO_TX}CREATE INDEX CONCURRENTLY accounts_email ON accounts (email);` },
  { name: 'reindex', sql: 'REINDEX TABLE accounts;' },
  { name: 'add bigserial column', sql: 'ALTER TABLE accounts ADD COLUMN seq bigserial;' },
  { name: 'add identity column', sql: 'ALTER TABLE accounts ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;' },
  { name: 'add stored generated column', sql: 'ALTER TABLE orders ADD COLUMN total numeric GENERATED ALWAYS AS (price * qty) STORED;' },
  { name: 'vacuum full', sql: `${NO_TX}VACUUM FULL accounts;` },
  { name: 'cluster', sql: 'CLUSTER accounts USING accounts_pkey;' },
  { name: 'lock table', sql: 'LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE;' },
  { name: 'detach partition', sql: 'ALTER TABLE events DETACH PARTITION events_2020;' },
  { name: 'refresh materialized view', sql: 'REFRESH MATERIALIZED VIEW daily_totals;' },
  { name: 'domain: add check', sql: 'ALTER DOMAIN positive_int ADD CONSTRAINT positive CHECK (VALUE > 0);' },
  { name: 'set tablespace', sql: 'ALTER TABLE accounts SET TABLESPACE fast;' },
  { name: 'create table (serial, varchar)', sql: 'CREATE TABLE items (id serial PRIMARY KEY, name varchar(100) NOT NULL, at timestamp);' },
];

type RiskClass = 'destructive' | 'incompatible' | 'locking';

/** Squawk's rules in stagecraft's classes. */
const SQUAWK_IN_CLASS: Record<string, RiskClass> = {
  'ban-drop-table': 'destructive',
  'ban-drop-column': 'destructive',
  'ban-drop-database': 'destructive',
  'ban-drop-schema': 'destructive',
  'ban-drop-domain': 'destructive',
  'ban-drop-sequence': 'destructive',
  'ban-truncate-cascade': 'destructive',
  'renaming-table': 'incompatible',
  'renaming-column': 'incompatible',
  'renaming-object': 'incompatible',
  'ban-set-schema': 'incompatible',
  'ban-drop-not-null': 'incompatible',
  'ban-drop-constraint': 'incompatible',
  'adding-required-field': 'incompatible',
  'adding-field-with-default': 'locking',
  'adding-foreign-key-constraint': 'locking',
  'adding-not-nullable-field': 'locking',
  'adding-serial-primary-key-field': 'locking',
  'ban-concurrent-index-creation-in-transaction': 'locking',
  'changing-column-type': 'locking',
  'constraint-missing-not-valid': 'locking',
  'disallowed-unique-constraint': 'locking',
  'require-concurrent-index-creation': 'locking',
  'require-concurrent-index-deletion': 'locking',
  'require-concurrent-reindex': 'locking',
  'require-concurrent-partition-detach': 'locking',
  'ban-alter-domain-with-add-constraint': 'locking',
  'prefer-repack': 'locking',
};

/** Squawk's rules outside these classes, and why. */
const SQUAWK_OUT_OF_CLASS: Record<string, string> = {
  'prefer-robust-stmts': 're-runnability (IF [NOT] EXISTS)',
  'require-timeout-settings': 'session settings (lock_timeout, statement_timeout), not what a statement does',
  'require-lock-timeout': 'session settings, not what a statement does',
  'require-statement-timeout': 'session settings, not what a statement does',
  'prefer-bigint-over-int': 'type choice',
  'prefer-bigint-over-smallint': 'type choice',
  'prefer-identity': 'type choice',
  'prefer-text-field': 'type choice',
  'prefer-timestamptz': 'type choice',
  'prefer-timestamp-tz': 'type choice',
  'ban-char-field': 'type choice',
  'ban-create-domain-with-constraint': 'schema style: creating the domain locks nothing',
  'require-enum-value-ordering': 'enum value order',
  'transaction-nesting': 'transaction control (migrate validate reports BEGIN/COMMIT in a transactional raw file)',
  'ban-uncommitted-transaction': 'transaction control',
  'identifier-too-long': 'naming',
  'require-table-schema': 'naming (opt-in)',
  'syntax-error': 'parse errors (stagecraft: a problem, exit 1)',
};

interface SquawkViolation {
  file: string;
  rule_name: string;
}

function runSquawk(files: string[], inTransaction: boolean): SquawkViolation[] {
  if (files.length === 0) return [];
  const result = spawnSync(squawk, ['--reporter', 'json', ...(inTransaction ? ['--assume-in-transaction'] : []), ...files], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (result.error) throw result.error;
  try {
    return JSON.parse(result.stdout) as SquawkViolation[];
  } catch {
    throw new Error(`squawk exited ${result.status} without JSON: ${result.stderr.slice(0, 500)}`);
  }
}

ensureSquawk();
const version = spawnSync(squawk, ['--version'], { encoding: 'utf8' });
if (version.status !== 0) throw new Error(`squawk does not run here (${squawk}): ${version.error?.message ?? version.stderr}`);
console.log(`${version.stdout.trim()} (npm squawk-cli) vs stagecraft's risk lint (libpg-query)\n`);

const dir = mkdtempSync(join(tmpdir(), 'sc-bench-lint-'));
try {
  // ---- the same statements, side by side ----
  const files = CASES.map((c, i) => {
    const file = join(dir, `${String(i + 1).padStart(3, '0')}.sql`);
    writeFileSync(file, `${c.sql}\n`);
    return file;
  });
  const transactional = files.filter((_, i) => !CASES[i]!.sql.startsWith(NO_TX));
  const violations = [...runSquawk(transactional, true), ...runSquawk(files.filter((f) => !transactional.includes(f)), false)];

  const rows: string[][] = [];
  const unclassified = new Set<string>();
  let squawkCases = 0;
  let covered = 0;
  let contextSafe = 0;
  let onlyStagecraft = 0;
  const missed: string[] = [];
  for (const [i, c] of CASES.entries()) {
    const theirs = [...new Set(violations.filter((v) => v.file === files[i]).map((v) => v.rule_name))];
    const inClass = theirs.filter((rule) => rule in SQUAWK_IN_CLASS);
    for (const rule of theirs) if (!(rule in SQUAWK_IN_CLASS) && !(rule in SQUAWK_OUT_OF_CLASS)) unclassified.add(rule);
    const ours = await lintFile({ path: files[i]!, sql: `${c.sql}\n`, transaction: rawTransaction(c.sql) });
    const ourRules = ours.findings.map((f) => f.rule);
    let verdict = '';
    if (inClass.length > 0) {
      squawkCases++;
      if (ourRules.length > 0) covered++;
      else if (c.safeByContext) {
        contextSafe++;
        verdict = `safe by context: ${c.safeByContext}`;
      } else {
        missed.push(c.name);
        verdict = 'MISSED';
      }
    } else if (ourRules.length > 0) {
      onlyStagecraft++;
      verdict = 'stagecraft only';
    }
    rows.push([c.name, inClass.join(' ') || '-', ourRules.join(' ') || '-', verdict]);
  }
  const widths = [0, 1, 2].map((col) => Math.max(...rows.map((row) => row[col]!.length), ['case', 'squawk (in class)', 'stagecraft'][col]!.length));
  const line = (row: string[]) => row.map((cell, col) => (col < 3 ? cell.padEnd(widths[col]!) : cell)).join('  ').trimEnd();
  console.log(line(['case', 'squawk (in class)', 'stagecraft', '']));
  for (const row of rows) console.log(line(row));

  const outOfClass = new Map<string, number>();
  for (const v of violations) if (v.rule_name in SQUAWK_OUT_OF_CLASS) outOfClass.set(v.rule_name, (outOfClass.get(v.rule_name) ?? 0) + 1);
  console.log(`\nSquawk rules set aside as out of class (count over these cases): ${[...outOfClass].map(([rule, n]) => `${rule} ×${n} (${SQUAWK_OUT_OF_CLASS[rule]})`).join('; ') || 'none'}`);
  if (unclassified.size > 0) console.log(`Squawk rules not classified by this benchmark (review them): ${[...unclassified].join(', ')}`);
  console.log(
    `\n${CASES.length} cases: Squawk reports an in-class rule in ${squawkCases}; stagecraft reports a finding in ${covered} of them, ${contextSafe} safe by context (said why), ${missed.length} missed${missed.length ? ` (${missed.join(', ')})` : ''}; stagecraft alone flags ${onlyStagecraft} more.`,
  );

  // ---- time to lint 1,000 files ----
  const many = mkdtempSync(join(dir, 'many-'));
  const manyFiles: string[] = [];
  for (let i = 0; i < 1_000; i++) {
    const c = CASES[i % CASES.length]!;
    const id = String(i + 1).padStart(4, '0');
    // A realistic migration: a new table with its index and seed rows, then the case's statements.
    const sql = `${c.sql.startsWith(NO_TX) ? NO_TX : ''}CREATE TABLE t_${id} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());\nCREATE INDEX t_${id}_name ON t_${id} (name);\nINSERT INTO t_${id} (name) VALUES ('a'), ('b');\n${c.sql.replace(NO_TX, '')}\n`;
    const file = join(many, `${id}_m.sql`);
    writeFileSync(file, sql);
    manyFiles.push(file);
  }
  const texts = manyFiles.map((file) => ({ path: file, sql: readFileSync(file, 'utf8') }));
  const inProcess = [];
  let findings = 0;
  for (let r = 0; r < runs + 1; r++) {
    const start = performance.now();
    findings = 0;
    for (const text of texts) findings += (await lintFile({ ...text, transaction: rawTransaction(text.sql) })).findings.length;
    if (r > 0) inProcess.push(performance.now() - start); // the first run loads the parser's WASM
  }
  const cli = [];
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    const result = spawnSync(process.execPath, [stagecraft, 'migrate', 'lint', '--json', ...manyFiles.map((f) => f.slice(many.length + 1))], { cwd: many, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    cli.push(performance.now() - start);
    if (result.status !== 2) throw new Error(`stagecraft migrate lint exited ${result.status}: ${result.stderr.slice(0, 500)}`);
  }
  const theirs = [];
  let squawkViolations = 0;
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    squawkViolations = runSquawk(manyFiles, true).length;
    theirs.push(performance.now() - start);
  }
  console.log(`\n1,000 files (${texts.reduce((n, t) => n + t.sql.split(';').length - 1, 0)} statements), median of ${runs} runs:`);
  console.log(`  stagecraft lintFile in-process (parser loaded): ${median(inProcess).toFixed(0)} ms, ${findings} findings`);
  console.log(`  stagecraft migrate lint --json (CLI, node start included): ${median(cli).toFixed(0)} ms`);
  console.log(`  squawk --reporter json --assume-in-transaction: ${median(theirs).toFixed(0)} ms, ${squawkViolations} violations (all rules)`);
  if (missed.length > 0) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
