/**
 * knex's plan without `knex migrate:list`, which creates `knex_migrations` and
 * `knex_migrations_lock` on a database that has none (so `migrate plan` would write). Instead:
 *   - the migration files come from the app image: a one-off container runs node, which imports
 *     the knexfile (as knex would) and lists the migrations directory with knex's load extensions;
 *     it never connects to the database;
 *   - the applied ones come from knex's own table, read with the pg driver through the primary
 *     host's SSH tunnel; a table that does not exist means nothing is applied.
 */
import { closeClient, connectDatabase } from '../database/connect.js';
import type { DatabaseClient } from '../database/connect.js';
import type { DatabaseState, EngineTarget, MigrationEntry } from '../types.js';
import { unreadable } from '../types.js';
import { runStatusTool } from './container-tool.js';
import { describeToolFailure } from './tool-engine.js';

/** What the image says: knex's table and the migration files in the order knex sorts them. */
export interface KnexLayout {
  tableName: string;
  schemaName: string | null;
  files: string[];
}

const MARKER = 'STAGECRAFT_KNEX_LAYOUT ';

/** Runs in the image with `node -e` (CommonJS; the knexfile may be CJS or ESM). Reads files only. */
export const KNEX_LAYOUT_SCRIPT = `
const fs = require('fs'), path = require('path'), { pathToFileURL } = require('url');
(async () => {
  let config = {};
  for (const name of ['knexfile.js', 'knexfile.cjs', 'knexfile.mjs']) {
    if (!fs.existsSync(name)) continue;
    const loaded = await import(pathToFileURL(path.resolve(name)).href);
    config = loaded.default !== undefined ? loaded.default : loaded;
    break;
  }
  if (typeof config === 'function') config = await config();
  const env = process.env.NODE_ENV || 'development';
  if (config && !config.client && !config.migrations && config[env]) config = config[env];
  const migrations = (config && config.migrations) || {};
  if (migrations.migrationSource) throw new Error('the knexfile sets migrations.migrationSource: stagecraft cannot list its migrations without knex; set migrations.plan_command');
  const dirs = [].concat(migrations.directory || './migrations');
  const extensions = migrations.loadExtensions || ['.co', '.coffee', '.eg', '.iced', '.js', '.cjs', '.litcoffee', '.ls', '.ts'];
  const files = [];
  for (const dir of dirs) {
    if (!fs.existsSync(dir)) continue;
    for (const name of fs.readdirSync(dir)) if (extensions.includes(path.extname(name))) files.push(name);
  }
  files.sort();
  console.log(${JSON.stringify(MARKER)} + JSON.stringify({ tableName: migrations.tableName || 'knex_migrations', schemaName: migrations.schemaName || null, files }));
})().catch((error) => { console.error(error && error.message ? error.message : String(error)); process.exit(1); });
`;

export function parseKnexLayout(stdout: string): KnexLayout | undefined {
  const line = stdout.split('\n').find((text) => text.startsWith(MARKER));
  if (line === undefined) return undefined;
  try {
    const value = JSON.parse(line.slice(MARKER.length)) as Partial<KnexLayout>;
    if (typeof value.tableName !== 'string' || !Array.isArray(value.files) || !value.files.every((file) => typeof file === 'string')) return undefined;
    return { tableName: value.tableName, schemaName: typeof value.schemaName === 'string' ? value.schemaName : null, files: value.files };
  } catch {
    return undefined;
  }
}

/** knex's view of the state: every applied name, then the files not applied, as `migrate:list` shows them. */
export function knexState(layout: KnexLayout, applied: readonly string[] | undefined): DatabaseState {
  const done = new Set(applied ?? []);
  const migrations: MigrationEntry[] = [
    ...(applied ?? []).map((id): MigrationEntry => ({ id, state: 'applied' })),
    ...layout.files.filter((file) => !done.has(file)).map((id): MigrationEntry => ({ id, state: 'pending' })),
  ];
  const missing = (applied ?? []).filter((id) => !layout.files.includes(id));
  const notes = [
    ...(applied === undefined ? [`${layout.tableName} does not exist yet: nothing applied`] : []),
    ...(missing.length > 0 ? [`applied but not in the image's migrations directory: ${missing.join(', ')} (knex refuses to migrate until they are back)`] : []),
  ];
  return { readable: true, migrations, applied_count: done.size, pending_known: true, notes };
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Names in knex's table in applied order, or undefined when the table does not exist. Reads only. */
export async function readKnexApplied(client: DatabaseClient, layout: KnexLayout): Promise<string[] | undefined> {
  const qualified = `${layout.schemaName ? `${quoteIdent(layout.schemaName)}.` : ''}${quoteIdent(layout.tableName)}`;
  const exists = await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [qualified]);
  if (exists.rows[0]?.t == null) return undefined;
  return (await client.query<{ name: string }>(`SELECT name FROM ${qualified} ORDER BY id`)).rows.map((row) => row.name);
}

export async function readKnexPlan(target: EngineTarget): Promise<DatabaseState> {
  if ('missing' in target.image) return unreadable(`no app image to read knex's migrations from: ${target.image.missing}`);
  const argv = ['node', '-e', KNEX_LAYOUT_SCRIPT];
  let layout: KnexLayout | undefined;
  try {
    const run = await runStatusTool(target, argv);
    if (run.exitCode !== 0 || run.timedOut) return unreadable(`listing knex migrations in the image failed: ${describeToolFailure({ ...run, argv: ['node', '-e', '<list knex migrations>'] })}`);
    layout = parseKnexLayout(run.stdout);
  } catch (error) {
    return unreadable(`could not list knex migrations in the image: ${target.scrub(error instanceof Error ? error.message : String(error))}`);
  }
  if (!layout) return unreadable('listing knex migrations in the image printed no result');
  let client: DatabaseClient | undefined;
  try {
    client = await connectDatabase({ database: target.database, url: target.url, via: await target.host(), applicationName: `stagecraft plan (${target.actor})`.slice(0, 63), scrub: target.scrub });
    await client.query('SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY');
    return knexState(layout, await readKnexApplied(client, layout));
  } catch (error) {
    return unreadable(`cannot read ${layout.tableName}: ${target.scrub(error instanceof Error ? error.message : String(error))}`);
  } finally {
    await closeClient(client);
  }
}
