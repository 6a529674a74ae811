import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectHost, HostPool, mapWithConcurrency } from '../../../src/remote/connect.js';
import type { SshSettings } from '../../../src/remote/connect.js';
import { HostConnectionError } from '../../../src/remote/errors.js';
import { LocalHost } from '../../../src/remote/local-host.js';
import { startTestSshServer } from './helpers/test-ssh-server.js';
import type { TestSshServer } from './helpers/test-ssh-server.js';

let server: TestSshServer;
let ssh: SshSettings;
let closedPort: number;

beforeAll(async () => {
  server = await startTestSshServer();
  const knownHosts = join(server.dir, 'known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${server.port} ${server.hostKey.publicLine}\n`);
  ssh = { user: 'root', port: server.port, keys: [server.clientKey.privatePath], known_hosts: knownHosts, connect_timeout: 2000 };
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
});

afterAll(async () => {
  await server.close();
});

describe('connectHost', () => {
  it('gives a LocalHost for address "local"', async () => {
    expect(await connectHost({ address: 'local' })).toBeInstanceOf(LocalHost);
  });

  it('connects over SSH with settings from the ssh section', async () => {
    const host = await connectHost({ address: '127.0.0.1' }, ssh, { agentSocket: null });
    expect(host.kind).toBe('ssh');
    expect((await host.exec(['echo', 'hi'])).stdout).toBe('hi\n');
    await host.close();
  });
});

describe('HostPool', () => {
  it('connects each host once, remembers a failed connection, and keeps hosts apart', async () => {
    const pool = new HostPool(ssh, { agentSocket: null }, [{ address: '127.0.0.2', port: closedPort }]);
    const before = server.acceptedConnections;
    const [ok, refused, local] = await Promise.allSettled(['127.0.0.1', '127.0.0.2', 'local'].map((address) => pool.get(address)));
    expect(ok?.status).toBe('fulfilled');
    expect((await pool.get('127.0.0.1')).name).toBe('127.0.0.1');
    expect(refused?.status).toBe('rejected');
    const error = (refused as PromiseRejectedResult).reason as Error;
    expect(error).toBeInstanceOf(HostConnectionError);
    expect(error.message).toMatch(/^127\.0\.0\.2: connection refused/);
    expect(local).toMatchObject({ status: 'fulfilled', value: { name: 'local' } });

    // The same host object (and connection) is reused for later work; a failure is reported again, not retried.
    expect(await pool.get('127.0.0.1')).toBe(await pool.get('127.0.0.1'));
    expect((await (await pool.get('127.0.0.1')).exec(['true'])).exitCode).toBe(0);
    await expect(pool.get('127.0.0.2')).rejects.toBe(error);
    expect(server.acceptedConnections - before).toBe(1);
    await pool.close();
  });
});

describe('mapWithConcurrency', () => {
  it('keeps order and never runs more than the limit at once', async () => {
    let running = 0;
    let peak = 0;
    const results = await mapWithConcurrency([5, 1, 4, 2, 3, 0], 2, async (n) => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, n * 3));
      running -= 1;
      return n * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30, 0]);
    expect(peak).toBe(2);
  });
});
