/**
 * The remote layer against the real testbed: sshd + dockerd per host in network namespaces,
 * an auth-protected registry. Nothing here is mocked.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectHost, HostPool } from '../../src/remote/connect.js';
import type { SshSettings } from '../../src/remote/connect.js';
import type { RegistryAuth } from '../../src/remote/docker-ops.js';
import { DockerOperationError, HostConnectionError, HostKeyVerificationError } from '../../src/remote/errors.js';
import type { Host } from '../../src/remote/host.js';
import { LocalHost } from '../../src/remote/local-host.js';
import { acceptedConnections, readTestbedState } from './helpers/testbed-state.js';
import type { TestbedHost, TestbedState } from './helpers/testbed-state.js';

let state: TestbedState;
let ssh: SshSettings;
let auth: RegistryAuth;
let busybox: string;
const run = randomBytes(4).toString('hex');
const labels = { 'stagecraft.test': 'remote-e2e', 'stagecraft.test-run': run };

type Outcome<T> = { host: string; ok: true; value: T } | { host: string; ok: false; error: Error };

/** Runs `fn` on every host at once; one host's failure (connecting or in `fn`) does not stop the others. */
function onEachHost<T>(pool: HostPool, addresses: readonly string[], fn: (host: Host) => Promise<T>): Promise<Outcome<T>[]> {
  return Promise.all(
    addresses.map(async (address): Promise<Outcome<T>> => {
      try {
        return { host: address, ok: true, value: await fn(await pool.get(address)) };
      } catch (error) {
        return { host: address, ok: false, error: error as Error };
      }
    }),
  );
}

/** A value that breaks anything that builds shell strings: quotes, substitution, `;`, newlines. */
function nastyValue(marker: string): string {
  return `it's "quoted" $(touch ${marker}) \`touch ${marker}\`; touch ${marker}\nsecond line ünï ✓\n`;
}

function fingerprintOfKnownHost(address: string): string {
  const line = readFileSync(state.ssh.known_hosts, 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith(`${address} `));
  if (!line) throw new Error(`no known_hosts line for ${address}`);
  const file = join(mkdtempSync(join(tmpdir(), 'sc-e2e-fp-')), 'key.pub');
  writeFileSync(file, `${line.split(' ').slice(1).join(' ')}\n`);
  return execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', file]).toString().split(/\s+/)[1] ?? '';
}

/** The root-namespace end of a host's veth pair (its "cable"). */
function rootSideInterface(host: TestbedHost): string {
  const links = execFileSync('ip', ['-o', 'link', 'show']).toString().split('\n');
  const line = links.find((entry) => new RegExp(`link-netns ${host.netns}(\\s|$)`).test(entry));
  const name = line?.split(':')[1]?.trim().split('@')[0];
  if (!name) throw new Error(`no veth into ${host.netns}`);
  return name;
}

beforeAll(() => {
  state = readTestbedState();
  ssh = { user: state.ssh.user, keys: [state.ssh.key], known_hosts: state.ssh.known_hosts, connect_timeout: 5000 };
  auth = { username: state.registry.username, password: state.registry.password, serveraddress: state.registry.server };
  busybox = state.images.busybox;
  expect(state.hosts.length).toBeGreaterThanOrEqual(3);
});

describe('remote layer on the testbed', () => {
  let pool: HostPool;
  beforeAll(() => {
    pool = new HostPool(ssh, { agentSocket: null }, state.hosts.map((h) => ({ address: h.address, port: h.port })));
  });
  afterAll(async () => {
    await pool.close();
  });

  it('pulls from the auth registry and runs one-off containers on 3 hosts in parallel', async () => {
    const hosts = state.hosts.slice(0, 3);
    const outcomes = await onEachHost(
      pool,
      hosts.map((h) => h.address),
      async (host) => {
        const ops = await host.dockerOps();
        await ops.pullImage(busybox, auth);
        const index = hosts.findIndex((h) => h.address === host.name);
        return ops.runOneOff({
          image: busybox,
          name: `sc-e2e-oneoff-${run}-${index}`,
          cmd: ['sh', '-c', 'echo "out from $1"; echo "err from $1" >&2; exit "$2"', 'sh', host.name, String(index * 3)],
          labels,
          timeoutMs: 60_000,
        });
      },
    );
    hosts.forEach((h, index) => {
      const outcome = outcomes[index];
      if (!outcome?.ok) throw outcome?.error ?? new Error('missing outcome');
      expect(outcome.host).toBe(h.address);
      expect(outcome.value.exitCode).toBe(index * 3);
      expect(outcome.value.timedOut).toBe(false);
      expect(outcome.value.stdoutTail).toBe(`out from ${h.address}\n`);
      expect(outcome.value.stderrTail).toBe(`err from ${h.address}\n`);
    });
    // removed afterwards
    for (const h of hosts) {
      const ops = await (await pool.get(h.address)).dockerOps();
      expect(await ops.listContainers({ labels })).toEqual([]);
    }
  });

  it('surfaces a registry auth failure naming the host and the image', async () => {
    // A connection of its own: the shared pool's DockerOps has pulled busybox already and would
    // (rightly) not pull it again within the same command.
    const target = state.hosts[0]!;
    const host = await connectHost({ address: target.address, port: target.port }, ssh, { agentSocket: null });
    const error = await (await host.dockerOps())
      .pullImage(busybox, { ...auth, password: 'wrong-password' })
      .then(
        () => undefined,
        (e: unknown) => e,
      )
      .finally(() => host.close());
    expect(error).toBeInstanceOf(DockerOperationError);
    expect((error as Error).message).toMatch(new RegExp(`^${state.hosts[0]!.address.replaceAll('.', '\\.')}: pulling ${busybox.replaceAll('.', '\\.')} failed: .*(unauthorized|authentication required)`));
    expect((error as DockerOperationError).hint).toContain('registry.username');
    expect((error as Error).message).not.toContain('wrong-password');
  });

  it('does not go to the registry for a digest-pinned image the host already has', async () => {
    const target = state.hosts[0]!;
    const host = await connectHost({ address: target.address, port: target.port }, ssh, { agentSocket: null });
    try {
      const ops = await host.dockerOps();
      const info = await ops.inspectImage(busybox);
      const pinned = info?.RepoDigests?.find((entry) => entry.startsWith(`${busybox.replace(/:[^:/]+$/, '')}@`));
      expect(pinned).toMatch(/@sha256:[0-9a-f]{64}$/);
      // Wrong credentials would fail any registry request (previous test): this one makes none.
      await expect(ops.pullImage(pinned!, { ...auth, password: 'wrong-password' })).resolves.toBeUndefined();
    } finally {
      await host.close();
    }
  });

  it('delivers an env value with quotes, $(), ; and newlines verbatim, and nothing runs', async () => {
    const host = await pool.get(state.hosts[0]!.address);
    const marker = `/tmp/stagecraft-pwned-${run}`;
    const value = nastyValue(marker);
    const ops = await host.dockerOps();
    await ops.pullImage(busybox, auth);
    const result = await ops.runOneOff({
      image: busybox,
      name: `sc-e2e-env-${run}`,
      cmd: ['sh', '-c', 'printf "%s" "$NASTY"; if [ -e "$1" ]; then echo "marker exists in container" >&2; fi', 'sh', marker],
      env: { NASTY: value },
      labels,
      timeoutMs: 60_000,
    });
    expect(result.exitCode).toBe(0);
    expect(Buffer.from(result.stdoutTail, 'utf8').equals(Buffer.from(value, 'utf8'))).toBe(true);
    expect(result.stderrTail).toBe('');
    expect((await host.exec(['test', '-e', marker])).exitCode).toBe(1);
    expect(existsSync(marker)).toBe(false);
  });

  it('passes exec argv verbatim over SSH, and nothing runs', async () => {
    const host = await pool.get(state.hosts[1]!.address);
    const marker = `/tmp/stagecraft-pwned-exec-${run}`;
    const value = nastyValue(marker);
    const result = await host.exec(['printf', '%s', value]);
    expect(result).toEqual({ exitCode: 0, stdout: value, stderr: '' });
    const viaShell = await host.exec(['sh', '-c', 'printf "%s" "$1"', 'sh', value]);
    expect(viaShell.stdout).toBe(value);
    expect((await host.exec(['test', '-e', marker])).exitCode).toBe(1);
    expect(existsSync(marker)).toBe(false);
  });

  it('stops a one-off container past its timeout, reports it, and removes it', async () => {
    const host = await pool.get(state.hosts[2]!.address);
    const ops = await host.dockerOps();
    await ops.pullImage(busybox, auth);
    const name = `sc-e2e-timeout-${run}`;
    const result = await ops.runOneOff({
      image: busybox,
      name,
      cmd: ['sh', '-c', 'echo started; sleep 600'],
      labels,
      timeoutMs: 1500,
      stopGraceS: 1,
    });
    expect(result.timedOut).toBe(true);
    expect([137, 143]).toContain(result.exitCode);
    expect(result.stdoutTail).toBe('started\n');
    expect(await ops.inspectContainer(name)).toBeUndefined();
    expect(await ops.listContainers({ labels })).toEqual([]);
  });

  it('uploads a 0600 file: stat on the host shows 0600 and the content matches', async () => {
    const host = await pool.get(state.hosts[0]!.address);
    const path = `/tmp/stagecraft-e2e-${run}/env/app's.env`;
    const content = `DATABASE_URL=postgres://u:p@db/x?a=1&b='2'\nQUOTE="$(nope)"\n`;
    await host.uploadFile(path, content, 0o600);
    expect((await host.exec(['stat', '-c', '%a', path])).stdout.trim()).toBe('600');
    expect((await host.exec(['cat', path])).stdout).toBe(content);
    expect((await host.readFile(path))?.toString('utf8')).toBe(content);
    await host.removeFile(path);
    expect(await host.readFile(path)).toBeUndefined();
    await host.exec(['rm', '-rf', `/tmp/stagecraft-e2e-${run}`]);
  });

  it('drives containers through the API: network, files into a container, exec, labels, TCP from the host', async () => {
    const host = await pool.get(state.hosts[1]!.address);
    const ops = await host.dockerOps();
    await ops.pullImage(busybox, auth);
    const network = `sc-e2e-net-${run}`;
    const networkId = await ops.ensureNetwork(network);
    expect(await ops.ensureNetwork(network)).toBe(networkId);
    const name = `sc-e2e-web-${run}`;
    try {
      await ops.createContainer({
        name,
        Image: busybox,
        Cmd: ['sh', '-c', 'mkdir -p /www && echo ok > /www/up && exec httpd -f -p 8080 -h /www'],
        Labels: labels,
        HostConfig: { NetworkMode: network },
      });
      await ops.startContainer(name);
      await ops.putFile(name, '/etc/stagecraft-test.conf', 'server { listen 80; }\n', 0o640);
      const cat = await ops.execInContainer(name, ['sh', '-c', 'cat /etc/stagecraft-test.conf; stat -c %a /etc/stagecraft-test.conf; echo e >&2; exit 4']);
      expect(cat).toEqual({ exitCode: 4, stdout: 'server { listen 80; }\n640\n', stderr: 'e\n' });
      expect((await ops.listContainers({ labels })).map((c) => c.Names[0])).toEqual([`/${name}`]);

      const info = await ops.inspectContainer(name);
      const ip = info?.NetworkSettings.Networks[network]?.IPAddress;
      expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      // The container's network is only reachable from inside the host: tunnel through SSH.
      let body = '';
      for (let attempt = 0; attempt < 50 && body === ''; attempt += 1) {
        body = await new Promise<string>((resolve) => {
          host.openTcp(ip!, 8080).then(
            (socket) => {
              const req = request({ host: ip, port: 8080, path: '/up', createConnection: () => socket as never, timeout: 2000 }, (res) => {
                let text = '';
                res.on('data', (chunk: Buffer) => (text += chunk.toString()));
                res.on('end', () => resolve(text));
              });
              req.on('error', () => resolve(''));
              req.end();
            },
            () => setTimeout(() => resolve(''), 100),
          );
        });
      }
      expect(body).toBe('ok\n');
      await ops.stopContainer(name, 1);
      expect((await ops.inspectContainer(name))?.State.Running).toBe(false);
    } finally {
      await ops.removeContainer(name, { force: true });
      await (await host.docker()).getNetwork(network).remove();
    }
    expect(await ops.inspectContainer(name)).toBeUndefined();
  });
});

describe('connection failures on the testbed', () => {
  it('refuses an unknown host key with a clear message', async () => {
    const h1 = state.hosts[0]!;
    const file = join(mkdtempSync(join(tmpdir(), 'sc-e2e-kh-')), 'known_hosts');
    writeFileSync(
      file,
      readFileSync(state.ssh.known_hosts, 'utf8')
        .split('\n')
        .filter((line) => !line.startsWith(`${h1.address} `))
        .join('\n'),
    );
    const error = await connectHost({ address: h1.address, port: h1.port }, { ...ssh, known_hosts: file }, { agentSocket: null }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HostKeyVerificationError);
    expect((error as Error).message).toBe(
      `${h1.address}: host key not in ${file} (fingerprint ${fingerprintOfKnownHost(h1.address)}) — add it with ssh-keyscan or set ssh.strict_host_key_checking: false`,
    );
  });

  it('refuses a changed host key (possible man-in-the-middle), naming the recorded line', async () => {
    const h1 = state.hosts[0]!;
    const dir = mkdtempSync(join(tmpdir(), 'sc-e2e-mitm-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'impostor')]);
    const impostor = readFileSync(join(dir, 'impostor.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    const file = join(dir, 'known_hosts');
    writeFileSync(file, `${h1.address} ${impostor}\n`);
    const error = await connectHost({ address: h1.address, port: h1.port }, { ...ssh, known_hosts: file }, { agentSocket: null }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HostKeyVerificationError);
    expect((error as HostKeyVerificationError).reason).toBe('host-key-changed');
    expect((error as Error).message).toBe(
      `${h1.address}: HOST KEY MISMATCH: the server offered ssh-ed25519 ${fingerprintOfKnownHost(h1.address)}, which is not the ssh-ed25519 key recorded in ${file}:1. ` +
        'Someone could be intercepting the connection (man-in-the-middle); refusing to connect',
    );
  });

  it('reports a wrong private key as an authentication error', async () => {
    const h1 = state.hosts[0]!;
    const key = join(mkdtempSync(join(tmpdir(), 'sc-e2e-key-')), 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const error = await connectHost({ address: h1.address, port: h1.port }, { ...ssh, keys: [key] }, { agentSocket: null }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HostConnectionError);
    expect((error as HostConnectionError).reason).toBe('auth');
    expect((error as Error).message).toBe(`${h1.address}: authentication failed for ${state.ssh.user} (tried keys: ${key})`);
  });

  it('names a host whose link is down, while the other hosts finish their work', async () => {
    const [h1, h2, h3] = state.hosts as [TestbedHost, TestbedHost, TestbedHost];
    const cable = rootSideInterface(h3);
    const connectTimeoutMs = 3000;
    const pool = new HostPool({ ...ssh, connect_timeout: connectTimeoutMs }, { agentSocket: null }, state.hosts.map((h) => ({ address: h.address, port: h.port })));
    execFileSync('ip', ['link', 'set', 'dev', cable, 'down']);
    try {
      expect(execFileSync('ip', ['-o', 'link', 'show', 'dev', cable]).toString()).toMatch(/state DOWN/);
      process.stdout.write(`[remote e2e] cable ${cable} of ${h3.netns} (${h3.address}) is down\n`);
      const started = Date.now();
      const outcomes = await onEachHost(pool, [h1.address, h2.address, h3.address], async (host) => {
        const ops = await host.dockerOps();
        await ops.pullImage(busybox, auth);
        const result = await ops.runOneOff({ image: busybox, name: `sc-e2e-linkdown-${run}`, cmd: ['echo', host.name], labels, timeoutMs: 60_000 });
        return result.stdoutTail.trim();
      });
      process.stdout.write(`[remote e2e] link-down run finished in ${Date.now() - started} ms (connect timeout ${connectTimeoutMs} ms)\n`);
      expect(outcomes[0]).toEqual({ host: h1.address, ok: true, value: h1.address });
      expect(outcomes[1]).toEqual({ host: h2.address, ok: true, value: h2.address });
      const failed = outcomes[2];
      expect(failed?.ok).toBe(false);
      const error = (failed as { error: Error }).error;
      expect(error).toBeInstanceOf(HostConnectionError);
      expect((error as HostConnectionError).host).toBe(h3.address);
      expect(['timeout', 'unreachable']).toContain((error as HostConnectionError).reason);
      expect(error.message).toMatch(new RegExp(`^${h3.address.replaceAll('.', '\\.')}: (connection timed out after 3s|host unreachable)$`));
    } finally {
      execFileSync('ip', ['link', 'set', 'dev', cable, 'up']);
      await pool.close();
    }
  });
});

describe('one SSH connection per host', () => {
  it('a run of many execs, Docker API calls, uploads and a one-off is accepted once by each sshd', async () => {
    const hosts = state.hosts.slice(0, 3);
    const before = hosts.map(acceptedConnections);
    const pool = new HostPool(ssh, { agentSocket: null }, hosts.map((h) => ({ address: h.address, port: h.port })));
    try {
      const outcomes = await onEachHost(
        pool,
        hosts.map((h) => h.address),
        async (host: Host) => {
          const docker = await host.docker();
          for (let i = 0; i < 10; i += 1) await docker.version();
          await Promise.all(Array.from({ length: 12 }, () => docker.listContainers()));
          await Promise.all(Array.from({ length: 12 }, (_, i) => host.exec(['echo', String(i)])));
          // the testbed's hosts share one filesystem: a path per host
          const path = `/tmp/stagecraft-e2e-one-${run}-${host.name}`;
          await host.uploadFile(path, 'x', 0o600);
          await host.removeFile(path);
          const ops = await host.dockerOps();
          await ops.pullImage(busybox, auth);
          await ops.runOneOff({ image: busybox, name: `sc-e2e-one-${run}`, cmd: ['true'], labels, timeoutMs: 60_000 });
          return host.name;
        },
      );
      for (const outcome of outcomes) if (!outcome.ok) throw outcome.error;
    } finally {
      await pool.close();
    }
    // sshd logs the "Accepted" line during authentication, before our first command ran.
    const after = hosts.map(acceptedConnections);
    expect(after.map((count, i) => count - (before[i] ?? 0))).toEqual(hosts.map(() => 1));
  });
});

describe('LocalHost against a real engine', () => {
  it('runs a one-off through DOCKER_HOST', async () => {
    const previous = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = state.hosts[0]!.docker_host;
    try {
      const host = new LocalHost();
      const ops = await host.dockerOps();
      await ops.pullImage(busybox, auth);
      const result = await ops.runOneOff({
        image: busybox,
        name: `sc-e2e-local-${run}`,
        cmd: ['sh', '-c', 'printf "%s" "$V"; exit 3'],
        env: { V: nastyValue('/tmp/never') },
        labels,
        timeoutMs: 60_000,
      });
      expect(result).toMatchObject({ exitCode: 3, timedOut: false, stdoutTail: nastyValue('/tmp/never') });
      await host.close();
    } finally {
      if (previous === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = previous;
    }
  });
});
