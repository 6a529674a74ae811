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
    drop: () => asAdmin(state, [`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]),
  };
}
