/** What the benchmarks share: the running testbed, an admin query on its PostgreSQL, the median. */
import pg from 'pg';
import { testbedLayout } from '../testbed/layout.js';
import { readStateFile } from '../testbed/state.js';
import type { TestbedState } from '../testbed/state.js';

/** The testbed's state with its primary host; throws when it is not up. */
export function runningTestbed(): { state: TestbedState; primary: TestbedState['hosts'][number] } {
  const state = readStateFile(testbedLayout().stateFile);
  if (!state) throw new Error('the testbed is not up: npm run testbed -- up');
  const primary = state.hosts[0];
  if (!primary) throw new Error('the testbed has no hosts');
  return { state, primary };
}

/** One statement as the testbed's PostgreSQL admin (CREATE / DROP DATABASE). */
export async function asAdmin(state: TestbedState, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: state.postgres.admin_url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
