/**
 * A pg client for one database, connected the way the hosts reach it: through a TCP connection
 * opened from the primary host over its SSH connection, or directly for `address: local`.
 */
import pg from 'pg';
import type { Host } from '../../remote/host.js';
import { MigrationError } from '../errors.js';
import { ChannelSocket } from '../../remote/channel-socket.js';

export type DatabaseClient = pg.Client;

export interface ConnectDatabaseOptions {
  /** Key under `databases:`, for messages. */
  database: string;
  url: string;
  /** Tunnel through this host; undefined or a local host connects directly. */
  via?: Host | undefined;
  /** Shows in pg_stat_activity: how a lock holder is recognised. */
  applicationName: string;
  scrub: (text: string) => string;
}

const CONNECT_TIMEOUT_MS = 15_000;

interface Endpoint {
  host: string;
  port: number;
}

/** Host and port of a postgres:// URL (what the tunnel connects to). */
export function databaseEndpoint(url: string): Endpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new MigrationError('database URL is not a valid URL (expected postgres://user:password@host:port/database)');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new MigrationError(`database URL must start with postgres:// or postgresql://, not ${parsed.protocol}//`);
  }
  const host = decodeURIComponent(parsed.hostname).replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new MigrationError('database URL has no host (Unix sockets cannot be reached through SSH)');
  return { host, port: parsed.port === '' ? 5432 : Number(parsed.port) };
}

export async function connectDatabase(options: ConnectDatabaseOptions): Promise<DatabaseClient> {
  const { via } = options;
  const endpoint = databaseEndpoint(options.url);
  const through = via && via.kind !== 'local' ? ` through ${via.name}` : '';
  const fail = (error: unknown): never => {
    const detail = options.scrub(error instanceof Error ? error.message : String(error));
    throw new MigrationError(`${options.database}: cannot connect to ${endpoint.host}:${endpoint.port}${through}: ${detail}`, {
      hint: 'check the database URL and that the primary host can reach the database',
      cause: error,
    });
  };
  let stream: ChannelSocket | undefined;
  if (via && via.kind !== 'local') {
    // Over SSH, openTcp already hands back a ChannelSocket (which pg can connect()); wrap anything else.
    stream = await via.openTcp(endpoint.host, endpoint.port).then((duplex) => (duplex instanceof ChannelSocket ? duplex : new ChannelSocket(duplex)), fail);
  }
  const tunnel = stream;
  const client = new pg.Client({
    connectionString: options.url,
    application_name: options.applicationName,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    ...(tunnel ? { stream: () => tunnel } : {}),
  });
  // An idle client whose connection drops emits 'error'; without a listener that would crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    tunnel?.destroy();
    await client.end().catch(() => undefined);
    fail(error);
  }
  return client;
}

/** Ends a client, ignoring errors of an already broken connection. */
export async function closeClient(client: DatabaseClient | undefined): Promise<void> {
  if (client) await client.end().catch(() => undefined);
}
