/**
 * The migration lock: a session-level Postgres advisory lock on a connection of its own, so at
 * most one stagecraft applies migrations to a database at a time. Waiting is bounded; on timeout
 * the error names the session holding it (pid, application, user, since when).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { DatabaseClient } from '../database/connect.js';
import { MigrationLockTimeout } from '../errors.js';

/** Two-int advisory lock key: "STGC" and 1 (migrations). Locks are per database. */
export const LOCK_CLASS_ID = 0x53544743;
export const LOCK_OBJECT_ID = 1;

export interface LockHolder {
  pid: number;
  application_name: string | null;
  usename: string | null;
  client_addr: string | null;
  backend_start: Date | null;
}

export async function tryAdvisoryLock(client: DatabaseClient): Promise<boolean> {
  const result = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS locked', [LOCK_CLASS_ID, LOCK_OBJECT_ID]);
  return result.rows[0]?.locked === true;
}

/** The session holding the migration lock of the connected database, if any. */
export async function lockHolder(client: DatabaseClient): Promise<LockHolder | undefined> {
  const result = await client.query<LockHolder>(
    `SELECT l.pid, a.application_name, a.usename, host(a.client_addr) AS client_addr, a.backend_start
       FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [LOCK_CLASS_ID, LOCK_OBJECT_ID],
  );
  return result.rows[0];
}

export function describeLockHolder(holder: LockHolder): string {
  const parts = [`pid ${holder.pid}`];
  if (holder.application_name) parts.push(`application "${holder.application_name}"`);
  if (holder.usename) parts.push(`user ${holder.usename}`);
  if (holder.client_addr) parts.push(`from ${holder.client_addr}`);
  if (holder.backend_start) parts.push(`connected since ${holder.backend_start.toISOString()}`);
  return parts.join(', ');
}

export interface AcquireOptions {
  database: string;
  timeoutMs: number;
  /** Called once when the lock is busy, before waiting. */
  onWait?: (holder: string) => void;
  /** Poll interval (default 250 ms, doubling up to 2 s). */
  pollMs?: number;
  /** Stops the wait (its reason is thrown). */
  signal?: AbortSignal | undefined;
}

/** Takes the lock, waiting up to `timeoutMs`; throws MigrationLockTimeout naming the holder. */
export async function acquireAdvisoryLock(client: DatabaseClient, options: AcquireOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let delay = options.pollMs ?? 250;
  let announced = false;
  for (;;) {
    options.signal?.throwIfAborted();
    if (await tryAdvisoryLock(client)) return;
    const holder = await lockHolder(client);
    const who = holder ? describeLockHolder(holder) : 'a session that has just released it';
    if (!announced && holder) {
      options.onWait?.(who);
      announced = true;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new MigrationLockTimeout(`${options.database}: the migration lock is held by ${who}`, {
        hint: `another migration run holds it; wait longer with --lock-timeout, or look at that session: SELECT * FROM pg_stat_activity WHERE pid = ${holder?.pid ?? '<pid>'}`,
      });
    }
    await sleep(Math.min(delay, left), undefined, options.signal ? { signal: options.signal } : {}).catch((error: unknown) => {
      throw options.signal?.aborted ? options.signal.reason : error;
    });
    delay = Math.min(delay * 2, 2_000);
  }
}

export async function releaseAdvisoryLock(client: DatabaseClient): Promise<void> {
  await client.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_CLASS_ID, LOCK_OBJECT_ID]);
}
