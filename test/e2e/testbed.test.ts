import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineRequest } from '../../testbed/docker-engine.js';
import type { TestbedHost, TestbedState } from './helpers/testbed-state.js';
import { acceptedConnections, readTestbedState, sshArgv } from './helpers/testbed-state.js';

let state: TestbedState;
let scratch: string;
const runTag = randomBytes(4).toString('hex');
const containerName = `testbed-e2e-httpd-${runTag}`;
/** Published on two hosts at once; 8090 is outside the ports the deploy tests (81xx/82xx) and the demo (80) use. */
const SHARED_PORT = 8090;

function ssh(host: TestbedHost, words: readonly string[], input?: string) {
  return execa('ssh', [...sshArgv(state, host), ...words], { reject: false, input: input ?? '', timeout: 120_000 });
}

/** A DOCKER_CONFIG dir of this test only (the hosts share this machine's filesystem). */
function clientConfigFor(host: TestbedHost): string {
  return join(scratch, `docker-config-${host.name}`);
}

function hostsUnderTest(): TestbedHost[] {
  return state.hosts.slice(0, 3);
}

async function login(host: TestbedHost, password: string) {
  return ssh(host, ['docker', '--config', clientConfigFor(host), 'login', state.registry.server, '--username', state.registry.username, '--password-stdin'], password);
}

async function fetchText(url: string): Promise<{ status: number; body: string } | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return { status: response.status, body: await response.text() };
  } catch {
    return undefined;
  }
}

beforeAll(() => {
  state = readTestbedState();
  scratch = mkdtempSync(join(tmpdir(), 'stagecraft-testbed-e2e-'));
});

afterAll(async () => {
  if (!state) return;
  await Promise.all(hostsUnderTest().map((host) => ssh(host, ['docker', 'rm', '-f', containerName])));
  rmSync(scratch, { recursive: true, force: true });
});

describe('testbed state contract', () => {
  it('describes at least three hosts with distinct addresses, engines and namespaces', () => {
    expect(state.hosts.length).toBeGreaterThanOrEqual(3);
    expect(new Set(state.hosts.map((host) => host.address)).size).toBe(state.hosts.length);
    expect(new Set(state.hosts.map((host) => host.docker_host)).size).toBe(state.hosts.length);
    expect(new Set(state.hosts.map((host) => host.netns)).size).toBe(state.hosts.length);
    for (const host of state.hosts) {
      expect(host.docker_host).toMatch(/^unix:\/\/\//);
      expect(host.docker_host.length).toBeLessThan(108);
      expect(host.port).toBe(22);
    }
    expect(existsSync(state.ssh.key)).toBe(true);
    const knownHosts = readFileSync(state.ssh.known_hosts, 'utf8');
    for (const host of state.hosts) expect(knownHosts).toMatch(new RegExp(`^${host.address.replaceAll('.', '\\.')} ssh-ed25519 `, 'm'));
    expect(state.registry.server).toBe('10.201.0.1:5000');
    expect(Object.values(state.images).every((ref) => ref.startsWith(`${state.registry.server}/`))).toBe(true);
  });
});

describe('hosts over ssh', () => {
  it('each sshd accepts the key and `docker info` reaches that host’s own engine (distinct engine IDs)', async () => {
    const ids: string[] = [];
    for (const host of hostsUnderTest()) {
      const result = await ssh(host, ['docker', 'info', '--format', '{{.ID}}']);
      expect(result.stderr).toBe('');
      expect(result.exitCode).toBe(0);
      const id = result.stdout.trim();
      const direct = await engineRequest(host.docker_host.replace(/^unix:\/\//, ''), 'GET', '/info');
      expect((JSON.parse(direct.body) as { ID: string }).ID).toBe(id);
      ids.push(id);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('logs every accepted key login in the host’s sshd log', async () => {
    const host = hostsUnderTest()[0]!;
    const count = () => acceptedConnections(host);
    const before = count();
    expect((await ssh(host, ['true'])).exitCode).toBe(0);
    let after = count();
    for (let attempt = 0; attempt < 50 && after === before; attempt += 1) {
      await sleep(20);
      after = count();
    }
    expect(after).toBe(before + 1);
  });

  it('refuses to connect when the host key is not in known_hosts', async () => {
    const host = hostsUnderTest()[0]!;
    const emptyKnownHosts = join(scratch, 'empty_known_hosts');
    writeFileSync(emptyKnownHosts, '');
    const argv = sshArgv(state, host).map((arg) => (arg === `UserKnownHostsFile=${state.ssh.known_hosts}` ? `UserKnownHostsFile=${emptyKnownHosts}` : arg));
    const result = await execa('ssh', [...argv, 'true'], { reject: false, input: '' });
    expect(result.exitCode).toBe(255);
    expect(result.stderr).toMatch(/Host key verification failed/);
  });

  it('refuses a key that is not authorised (key-only auth, no password fallback)', async () => {
    const host = hostsUnderTest()[0]!;
    const strangerKey = join(scratch, 'stranger_ed25519');
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', strangerKey]);
    const argv = sshArgv(state, host).map((arg) => (arg === state.ssh.key ? strangerKey : arg));
    const result = await execa('ssh', [...argv, 'true'], { reject: false, input: '' });
    expect(result.exitCode).toBe(255);
    expect(result.stderr).toMatch(/Permission denied \(publickey\)/);
  });
});

describe('registry and Postgres from the hosts', () => {
  it('refuses a pull without login (auth is enforced)', async () => {
    const host = hostsUnderTest()[0]!;
    const result = await ssh(host, ['docker', '--config', join(scratch, 'no-login'), 'pull', state.images.busybox]);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/no basic auth credentials|unauthorized/);
  });

  it('refuses a login with a wrong password', async () => {
    const result = await login(hostsUnderTest()[0]!, 'not-the-password');
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/unauthorized|401/);
  });

  it('on each host: logs in with the password on stdin, pulls, and a container reaches Postgres', async () => {
    for (const host of hostsUnderTest()) {
      const logged = await login(host, state.registry.password);
      expect(logged.stdout).toMatch(/Login Succeeded/);
      expect(logged.exitCode).toBe(0);
      const pulled = await ssh(host, ['docker', '--config', clientConfigFor(host), 'pull', state.images.busybox]);
      expect(pulled.exitCode).toBe(0);
      const reach = await ssh(host, ['docker', 'run', '--rm', state.images.busybox, 'nc', '-w', '3', state.postgres.host, String(state.postgres.port)]);
      expect(reach.exitCode).toBe(0);
    }
    // The same check fails against a closed port, so a 0 above means Postgres answered.
    const closed = await ssh(hostsUnderTest()[0]!, ['docker', 'run', '--rm', state.images.busybox, 'nc', '-w', '3', state.postgres.host, '1']);
    expect(closed.exitCode).not.toBe(0);
  });

  // Each host has its own network stack; a port above 80 keeps this test clear of a demo deploy's proxies.
  it('two hosts publish the same port at once and each answers at its own address', async () => {
    const hosts = hostsUnderTest().slice(0, 2);
    for (const host of hosts) {
      const logged = await login(host, state.registry.password);
      expect(logged.exitCode).toBe(0);
      const started = await ssh(host, [
        'docker', '--config', clientConfigFor(host), 'run', '-d', '--name', containerName, '--hostname', host.name,
        '-p', `${SHARED_PORT}:8080`, state.images.busybox, 'httpd', '-f', '-p', '8080', '-h', '/etc',
      ]);
      expect(started.stderr).toBe('');
      expect(started.exitCode).toBe(0);
    }
    for (const host of hosts) {
      let answer = await fetchText(`http://${host.address}:${SHARED_PORT}/hostname`);
      for (let attempt = 0; attempt < 100 && answer?.status !== 200; attempt += 1) {
        await sleep(50);
        answer = await fetchText(`http://${host.address}:${SHARED_PORT}/hostname`);
      }
      expect(answer).toEqual({ status: 200, body: `${host.name}\n` });
    }
  });
});

describe('Postgres from the operator', () => {
  async function query(url: string): Promise<string> {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
    await client.connect();
    try {
      const result = await client.query<{ who: string }>('SELECT current_user AS who');
      return result.rows[0]!.who;
    } finally {
      await client.end();
    }
  }

  it('accepts the stagecraft user at the bridge address and on loopback', async () => {
    expect(await query(state.postgres.url)).toBe('stagecraft');
    expect(await query(state.postgres.local_url)).toBe('stagecraft');
    expect(await query(state.postgres.admin_url)).toBe('stagecraft_admin');
  });

  it('refuses a wrong password', async () => {
    const wrong = new URL(state.postgres.local_url);
    wrong.password = 'wrong';
    await expect(query(wrong.toString())).rejects.toThrow(/password authentication failed/);
  });
});
