/** Throw-away PostgreSQL databases on the testbed, one per test suite. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestbedState } from './testbed-state.js';

export interface ScratchDatabase {
  name: string;
  /** As hosts reach it. */
  url: string;
  /** From this machine. */
  localUrl: string;
  query<T extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<T[]>;
  /**
   * Every schema, table, sequence and view outside PostgreSQL's own schemas, with each table's
   * exact row count: equal snapshots before and after a command mean it wrote nothing.
   */
  snapshot(): Promise<string[]>;
  drop(): Promise<void>;
}

async function asAdmin(state: TestbedState, statements: string[]): Promise<void> {
  const admin = new pg.Client({ connectionString: state.postgres.admin_url });
  await admin.connect();
  try {
    for (const statement of statements) await admin.query(statement);
  } finally {
    await admin.end();
  }
}

/** A fresh database named `<prefix>_<random>` owned by the testbed's app user. */
export async function scratchDatabase(state: TestbedState, prefix: string): Promise<ScratchDatabase> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`.replace(/-/g, '_');
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
  await asAdmin(state, [`CREATE DATABASE ${name} OWNER ${state.postgres.user}`]);
  const withName = (url: string) => {
    const parsed = new URL(url);
    parsed.pathname = `/${name}`;
    return parsed.toString();
  };
  const localUrl = withName(state.postgres.local_url);
  return {
    name,
    url: withName(state.postgres.url),
    localUrl,
    async query(sql, params) {
      const client = new pg.Client({ connectionString: localUrl });
      await client.connect();
      try {
        return (await client.query(sql, params)).rows;
      } finally {
        await client.end();
      }
    },
    async snapshot() {
      const client = new pg.Client({ connectionString: localUrl });
      await client.connect();
      try {
        const own = `NOT IN ('pg_catalog', 'information_schema', 'pg_toast')`;
        const schemas = await client.query<{ nspname: string }>(`SELECT nspname FROM pg_namespace WHERE nspname ${own} AND nspname NOT LIKE 'pg_temp_%' AND nspname NOT LIKE 'pg_toast_temp_%' ORDER BY 1`);
        const relations = await client.query<{ schema: string; name: string; kind: string }>(
          `SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS kind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname ${own} AND n.nspname NOT LIKE 'pg_temp_%' AND c.relkind IN ('r', 'p', 'S', 'v', 'm') ORDER BY 1, 2`,
        );
        const lines = schemas.rows.map((row) => `schema ${row.nspname}`);
        for (const relation of relations.rows) {
          const qualified = `"${relation.schema.replace(/"/g, '""')}"."${relation.name.replace(/"/g, '""')}"`;
          if (relation.kind === 'r' || relation.kind === 'p') {
            const count = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${qualified}`);
            lines.push(`table ${relation.schema}.${relation.name}: ${count.rows[0]?.n ?? '?'} rows`);
          } else {
            lines.push(`${relation.kind === 'S' ? 'sequence' : 'view'} ${relation.schema}.${relation.name}`);
          }
        }
        // Sorted in JavaScript: the database's collation would order names differently per machine.
        return lines.sort();
      } finally {
        await client.end();
      }
    },
    drop: () => asAdmin(state, [`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]),
  };
}
