import { mkdtempSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo, Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../../src/errors.js';
import {
  DockerEngineError,
  HostCommandError,
  HostConnectionError,
  HostError,
  HostFileExistsError,
  HostKeyVerificationError,
} from '../../../src/remote/errors.js';
import { signalExitCode } from '../../../src/remote/host.js';
import { SshHost } from '../../../src/remote/ssh-host.js';
import type { SshHostOptions } from '../../../src/remote/ssh-host.js';
import { fingerprintOf, generateKey, startTestSshServer } from './helpers/test-ssh-server.js';
import type { TestSshServer } from './helpers/test-ssh-server.js';
import { waitUntil } from '../../helpers/wait.js';

const polling = { timeoutMs: 10_000, intervalMs: 5 };

let server: TestSshServer;
let knownHosts: string;

function options(overrides: Partial<SshHostOptions> = {}): SshHostOptions {
  return {
    address: '127.0.0.1',
    port: server.port,
    user: 'root',
    keyPaths: [server.clientKey.privatePath],
    agentSocket: null,
    knownHostsPath: knownHosts,
    strictHostKeyChecking: true,
    connectTimeoutMs: 3000,
    ...overrides,
  };
}

async function expectRejection<T extends Error>(promise: Promise<unknown>, type: new (...args: never[]) => T): Promise<T> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(type);
  return error as T;
}

/**
 * A command that blocks until `gate` exists, then prints `i`: holds its channel open for as long as
 * the test needs. It gives up after ~30 s so a failed test leaves no process behind.
 */
function gatedEcho(gate: string, i: number): string[] {
  return ['sh', '-c', 'n=0; while [ ! -e "$1" ] && [ "$n" -lt 3000 ]; do sleep 0.01; n=$((n+1)); done; echo "$2"', 'sh', gate, String(i)];
}

beforeAll(async () => {
  server = await startTestSshServer();
  knownHosts = join(server.dir, 'known_hosts');
  const [type, key] = server.hostKey.publicLine.split(' ');
  writeFileSync(knownHosts, `# test\nother.example ${type} ${key}\n[127.0.0.1]:${server.port} ${type} ${key}\n`);
});

afterAll(async () => {
  await server.close();
});

describe('SshHost host key verification', () => {
  it('refuses an unknown host key, naming the file and the fingerprint', async () => {
    const empty = join(server.dir, 'known_hosts_empty');
    writeFileSync(empty, '');
    const error = await expectRejection(SshHost.connect(options({ knownHostsPath: empty })), HostKeyVerificationError);
    const fingerprint = fingerprintOf(`${server.hostKey.privatePath}.pub`);
    expect(error.reason).toBe('host-key-unknown');
    expect(error.host).toBe('127.0.0.1');
    expect(error.message).toBe(
      `127.0.0.1: host key not in ${empty} (fingerprint ${fingerprint}) — add it with ssh-keyscan or set ssh.strict_host_key_checking: false`,
    );
    expect(error.hint).toContain(`ssh-keyscan -p ${server.port} -t ssh-ed25519 127.0.0.1`);
    expect(error.exitCode).toBe(ExitCode.rollout);
  });

  it('says so when the known_hosts file does not exist', async () => {
    const missing = join(server.dir, 'nope', 'known_hosts');
    const error = await expectRejection(SshHost.connect(options({ knownHostsPath: missing })), HostKeyVerificationError);
    expect(error.message).toContain(`host key not in ${missing} (the file does not exist)`);
  });

  it('refuses loudly when the recorded key differs (possible man-in-the-middle)', async () => {
    const impostor = generateKey(server.dir, `impostor-${Date.now()}`);
    const [type, key] = impostor.publicLine.split(' ');
    const file = join(server.dir, 'known_hosts_changed');
    writeFileSync(file, `[127.0.0.1]:${server.port} ${type} ${key}\n`);
    const error = await expectRejection(SshHost.connect(options({ knownHostsPath: file })), HostKeyVerificationError);
    expect(error.reason).toBe('host-key-changed');
    expect(error.message).toMatch(/^127\.0\.0\.1: HOST KEY MISMATCH/);
    expect(error.message).toContain(`${file}:1`);
    expect(error.message).toContain('man-in-the-middle');
    expect(error.hint).toContain(`ssh-keygen -R 127.0.0.1 -f ${file}`);
  });

  it('accepts any key with strict checking off', async () => {
    const host = await SshHost.connect(options({ knownHostsPath: join(server.dir, 'none'), strictHostKeyChecking: false }));
    expect((await host.exec(['true'])).exitCode).toBe(0);
    await host.close();
  });
});

describe('SshHost connection errors', () => {
  it('names an authentication failure and the keys it tried', async () => {
    const wrong = generateKey(server.dir, `wrong-${Date.now()}`);
    const error = await expectRejection(SshHost.connect(options({ keyPaths: [wrong.privatePath] })), HostConnectionError);
    expect(error.reason).toBe('auth');
    expect(error.message).toBe(`127.0.0.1: authentication failed for root (tried keys: ${wrong.privatePath})`);
  });

  it('reports a missing key file as a configuration error', async () => {
    const path = join(server.dir, 'no-such-key');
    const error = await expectRejection(SshHost.connect(options({ keyPaths: [path] })), HostConnectionError);
    expect(error.reason).toBe('key-file');
    expect(error.message).toBe(`127.0.0.1: SSH key ${path} does not exist`);
    expect(error.exitCode).toBe(ExitCode.user);
  });

  it('reports connection refused with the port', async () => {
    const closed = createTcpServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await expectRejection(SshHost.connect(options({ port })), HostConnectionError);
    expect(error.reason).toBe('refused');
    expect(error.message).toBe(`127.0.0.1: connection refused (port ${port})`);
  });

  it('times out on a server that never speaks SSH, naming the limit', async () => {
    const silent: TcpServer = createTcpServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      const error = await expectRejection(SshHost.connect(options({ port, connectTimeoutMs: 300 })), HostConnectionError);
      expect(error.reason).toBe('timeout');
      expect(error.message).toBe('127.0.0.1: connection timed out after 0.3s');
    } finally {
      silent.close();
    }
  });

  it('lets the caller choose the exit code', async () => {
    const wrong = generateKey(server.dir, `wrong2-${Date.now()}`);
    const error = await expectRejection(
      SshHost.connect(options({ keyPaths: [wrong.privatePath], errorExitCode: ExitCode.migration })),
      HostConnectionError,
    );
    expect(error.exitCode).toBe(ExitCode.migration);
  });
});

describe('SshHost commands and files', () => {
  let host: SshHost;
  beforeAll(async () => {
    host = await SshHost.connect(options());
  });
  afterAll(async () => {
    await host.close();
  });

  it('passes argv verbatim, separates stdout from stderr and returns the exit code', async () => {
    const nasty = `it's "quoted" $(touch ${server.dir}/pwned) ; rm -rf / \n second line ünï`;
    const result = await host.exec(['sh', '-c', 'printf "%s" "$1"; printf "to-stderr" >&2; exit 42', 'sh', nasty]);
    expect(result).toEqual({ exitCode: 42, stdout: nasty, stderr: 'to-stderr' });
    expect(existsSync(join(server.dir, 'pwned'))).toBe(false);
  });

  it('feeds stdin and streams output chunks', async () => {
    const chunks: string[] = [];
    const input = 'line 1\nline 2 ✓\n'.repeat(1000);
    const result = await host.exec(['cat'], { stdin: input, onStdout: (chunk) => chunks.push(chunk) });
    expect(result.stdout).toBe(input);
    expect(chunks.join('')).toBe(input);
  });

  it('keeps the exit status when it arrives together with the channel confirmation', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => host.exec(['instant-exit', '5'])));
    expect(results.map((r) => r.exitCode)).toEqual(Array.from({ length: 20 }, () => 5));
  });

  it('maps signal names either way ssh2 may give them', () => {
    expect(signalExitCode('SIGTERM')).toBe(143);
    expect(signalExitCode('KILL')).toBe(137);
  });

  it('reports a signal as 128 + its number', async () => {
    const result = await host.exec(['sh', '-c', 'kill -TERM $$']);
    expect(result.exitCode).toBe(143);
  });

  it('fails a command past its timeout and stays usable', async () => {
    const error = await expectRejection(host.exec(['sleep', '30'], { timeoutMs: 200 }), HostCommandError);
    expect(error.message).toBe('127.0.0.1: sleep timed out after 0.2s');
    expect((await host.exec(['echo', 'still here'])).stdout).toBe('still here\n');
  });

  it('never has more channels open than its limit', async () => {
    const fresh = await SshHost.connect(options({ maxChannels: 8 }));
    const gate = join(server.dir, `gate-limit-${Date.now()}`);
    try {
      server.sessions.peak = 0;
      const runs = Array.from({ length: 20 }, (_, i) => fresh.exec(gatedEcho(gate, i)));
      await waitUntil('8 channels open', () => server.sessions.open >= 8, polling);
      writeFileSync(gate, '');
      const results = await Promise.all(runs);
      expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 20 }, (_, i) => `${i}\n`));
      // All 20 commands block on the gate, so without the limit all 20 would be open at once.
      expect(server.sessions.peak).toBe(8);
    } finally {
      writeFileSync(gate, '');
      await fresh.close();
    }
  });

  it('adapts when the server allows fewer sessions: refused channels are retried, then none is refused', async () => {
    const fresh = await SshHost.connect(options({ maxChannels: 8 }));
    const gates = [join(server.dir, `gate-a-${Date.now()}`), join(server.dir, `gate-b-${Date.now()}`)];
    server.maxSessions = 3;
    server.sessions.peak = 0;
    server.sessions.refused = 0;
    try {
      const first = Array.from({ length: 20 }, (_, i) => fresh.exec(gatedEcho(gates[0]!, i)));
      await waitUntil('3 sessions open and one refused', () => server.sessions.open >= 3 && server.sessions.refused > 0, polling);
      writeFileSync(gates[0]!, '');
      expect((await Promise.all(first)).map((r) => r.stdout)).toEqual(Array.from({ length: 20 }, (_, i) => `${i}\n`));
      const refusedWhileLearning = server.sessions.refused;

      const second = Array.from({ length: 20 }, (_, i) => fresh.exec(gatedEcho(gates[1]!, i)));
      // The learned limit may be below 3 (refusals while channels were closing lower it further).
      await waitUntil('channels open again', () => server.sessions.open >= 1, polling);
      writeFileSync(gates[1]!, '');
      expect((await Promise.all(second)).map((r) => r.stdout)).toEqual(Array.from({ length: 20 }, (_, i) => `${i}\n`));
      expect(server.sessions.refused).toBe(refusedWhileLearning);
      expect(server.sessions.peak).toBe(3);
    } finally {
      for (const gate of gates) writeFileSync(gate, '');
      server.maxSessions = 64;
      await fresh.close();
    }
  });

  it('uploads a file atomically with the requested mode, creating its directory', async () => {
    const path = join(server.dir, 'uploads', 'sub dir', "env file's");
    const content = 'SECRET=a\'b"c$(d)\n';
    await host.uploadFile(path, content, 0o600);
    expect(readFileSync(path, 'utf8')).toBe(content);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    await host.uploadFile(path, 'replaced', 0o640);
    expect(readFileSync(path, 'utf8')).toBe('replaced');
    expect(statSync(path).mode & 0o777).toBe(0o640);
    expect((await host.readFile(path))?.toString()).toBe('replaced');
  });

  it('refuses to replace a file in exclusive mode', async () => {
    const path = join(server.dir, 'lock.json');
    await host.uploadFile(path, 'first', 0o600, { exclusive: true });
    const error = await expectRejection(host.uploadFile(path, 'second', 0o600, { exclusive: true }), HostFileExistsError);
    expect(error.message).toBe(`127.0.0.1: ${path} already exists`);
    expect(readFileSync(path, 'utf8')).toBe('first');
    await host.removeFile(path);
    expect(await host.readFile(path)).toBeUndefined();
    await host.removeFile(path); // already gone: fine
  });

  it('reads binary files byte for byte', async () => {
    const path = join(server.dir, 'binary');
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    writeFileSync(path, bytes);
    expect((await host.readFile(path))?.equals(bytes)).toBe(true);
  });

  it('creates directories with a mode', async () => {
    const path = join(server.dir, 'made', 'deep');
    await host.mkdirp(path, 0o750);
    expect(statSync(path).mode & 0o777).toBe(0o750);
  });

  it('opens TCP connections from the host (direct-tcpip) usable by http.request', async () => {
    const web = createServer((req, res) => res.end(`hello ${req.url}`));
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    const port = (web.address() as AddressInfo).port;
    try {
      const socket = await host.openTcp('127.0.0.1', port);
      const body = await new Promise<string>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/up', createConnection: () => socket as never, timeout: 2000 }, (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
        req.end();
      });
      expect(body).toBe('hello /up');
      socket.destroy();
    } finally {
      web.close();
    }
  });

  it('reports a refused TCP target as a host error and keeps the channel limit', async () => {
    const closed = createTcpServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    // A fresh connection: the one above had its limit lowered on purpose.
    const fresh = await SshHost.connect(options({ maxChannels: 4 }));
    try {
      // With another channel open, a refusal must not read as "the server allows fewer sessions".
      const gate = join(server.dir, `gate-tcp-${Date.now()}`);
      const busy = fresh.exec(gatedEcho(gate, 0));
      await waitUntil('the busy channel to be open', () => server.sessions.open === 1, polling);
      const error = await expectRejection(fresh.openTcp('127.0.0.1', port), HostError);
      expect(error.message).toMatch(new RegExp(`^127\\.0\\.0\\.1: cannot open a TCP connection to 127\\.0\\.0\\.1:${port} through SSH: `));
      writeFileSync(gate, '');
      await busy;
      server.sessions.peak = 0;
      const gate2 = `${gate}-2`;
      const four = Array.from({ length: 4 }, (_, i) => fresh.exec(gatedEcho(gate2, i)));
      await waitUntil('4 channels open', () => server.sessions.open >= 4, polling);
      writeFileSync(gate2, '');
      await Promise.all(four);
      expect(server.sessions.peak).toBe(4);
    } finally {
      await fresh.close();
    }
  });

  it('gives every channel slot back once its work is done', async () => {
    for (let i = 0; i < 50 && host.openChannelCount > 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(host.openChannelCount).toBe(0);
  });
});

describe('SshHost Docker engine', () => {
  it('reports why docker system dial-stdio failed, not "socket hang up"', async () => {
    // A docker CLI whose engine check passes but whose dial-stdio fails, as with a socket it may not use.
    const bin = mkdtempSync(join(tmpdir(), 'sc-fake-docker-'));
    writeFileSync(
      join(bin, 'docker'),
      '#!/bin/sh\nif [ "$1" = version ]; then echo 27.0.0; exit 0; fi\necho "permission denied on /var/run/docker.sock" >&2\nexit 1\n',
      { mode: 0o755 },
    );
    const previousPath = process.env.PATH;
    process.env.PATH = `${bin}:${previousPath ?? ''}`;
    const host = await SshHost.connect(options());
    try {
      const docker = await host.docker();
      const error = await expectRejection(docker.version(), DockerEngineError);
      expect(error.message).toBe('127.0.0.1: docker system dial-stdio exited with 1: permission denied on /var/run/docker.sock');
    } finally {
      process.env.PATH = previousPath;
      await host.close();
    }
  });
});

describe('SshHost after the connection drops', () => {
  it('fails running and later commands with "connection lost"', async () => {
    const host = await SshHost.connect(options());
    const running = host.exec(['sleep', '10']);
    await new Promise((resolve) => setTimeout(resolve, 100));
    server.dropConnections();
    const error = await expectRejection(running, HostConnectionError);
    expect(error.message).toBe('127.0.0.1: SSH connection lost');
    const later = await expectRejection(host.exec(['true']), HostConnectionError);
    expect(later.reason).toBe('lost');
    await host.close();
  });
});

describe('one connection per host', () => {
  it('counts a single accepted connection for many calls', async () => {
    const before = server.acceptedConnections;
    const host = await SshHost.connect(options());
    await Promise.all(Array.from({ length: 10 }, () => host.exec(['true'])));
    await host.uploadFile(join(mkdtempSync(join(tmpdir(), 'sc-one-')), 'f'), 'x', 0o600);
    expect(server.acceptedConnections - before).toBe(1);
    await host.close();
  });
});
