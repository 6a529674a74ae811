/**
 * A real SSH server (ssh2's Server) inside the test process, running exec requests with the
 * local /bin/sh. Unit tests use it to exercise SshHost over the actual SSH protocol without the
 * testbed; it is not a mock of SSH (the e2e tests use the testbed's real sshd).
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { Connection, ParsedKey } from 'ssh2';

export interface KeyFiles {
  privatePath: string;
  publicLine: string;
}

export function generateKey(dir: string, name: string): KeyFiles {
  const privatePath = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', privatePath]);
  return { privatePath, publicLine: readFileSync(`${privatePath}.pub`, 'utf8').trim() };
}

export function fingerprintOf(publicKeyPath: string): string {
  return execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', publicKeyPath]).toString().split(/\s+/)[1] ?? '';
}

export interface TestSshServer {
  port: number;
  dir: string;
  hostKey: KeyFiles;
  clientKey: KeyFiles;
  /** Connections accepted (authenticated) so far. */
  readonly acceptedConnections: number;
  /** Sessions open right now / at most at once / refused for being over `maxSessions`. */
  readonly sessions: { open: number; peak: number; refused: number };
  /** Refuse sessions beyond this many open at once (like sshd's MaxSessions). */
  maxSessions: number;
  /** Drops every client connection. */
  dropConnections(): void;
  close(): Promise<void>;
}

function parse(path: string): ParsedKey {
  const key = ssh2.utils.parseKey(readFileSync(path));
  if (key instanceof Error) throw key;
  return Array.isArray(key) ? (key[0] as ParsedKey) : key;
}

export async function startTestSshServer(): Promise<TestSshServer> {
  const dir = mkdtempSync(join(tmpdir(), 'sc-ssh-'));
  const hostKey = generateKey(dir, 'host_key');
  const clientKey = generateKey(dir, 'client_key');
  const allowed = parse(`${clientKey.privatePath}.pub`);
  const clients = new Set<Connection>();
  let accepted = 0;
  const sessions = { open: 0, peak: 0, refused: 0 };

  const state = {
    maxSessions: 64,
  };

  const server = new ssh2.Server({ hostKeys: [readFileSync(hostKey.privatePath)] }, (client) => {
    clients.add(client);
    client.on('close', () => clients.delete(client));
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey' || ctx.username !== 'root') return ctx.reject(['publickey']);
      if (ctx.key.algo !== allowed.type || !ctx.key.data.equals(allowed.getPublicSSH())) return ctx.reject(['publickey']);
      if (ctx.signature && ctx.blob && allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject(['publickey']);
      return ctx.accept();
    });
    client.on('ready', () => {
      accepted += 1;
      client.on('session', (acceptSession, rejectSession) => {
        if (sessions.open >= state.maxSessions) {
          sessions.refused += 1;
          rejectSession();
          return;
        }
        const session = acceptSession();
        sessions.open += 1;
        sessions.peak = Math.max(sessions.peak, sessions.open);
        let closed = false;
        const onClose = (): void => {
          if (closed) return;
          closed = true;
          sessions.open -= 1;
        };
        session.on('close', onClose);
        session.on('exec', (acceptExec, _reject, info) => {
          const stream = acceptExec();
          stream.on('close', onClose);
          // `instant-exit N`: answer in the same breath as the channel confirmation, so the client
          // receives confirmation, exit status and close in one batch (no process involved).
          const instant = /^instant-exit (\d+)$/.exec(info.command);
          if (instant) {
            stream.exit(Number(instant[1]));
            stream.end();
            return;
          }
          const child = spawn('/bin/sh', ['-c', info.command], { stdio: ['pipe', 'pipe', 'pipe'] });
          session.on('signal', (_accept, _rej, signal) => child.kill(`SIG${signal.name}` as NodeJS.Signals));
          stream.pipe(child.stdin);
          child.stdin.on('error', () => undefined);
          child.stdout.pipe(stream, { end: false });
          child.stderr.pipe(stream.stderr, { end: false });
          child.on('close', (code, signal) => {
            if (code !== null) stream.exit(code);
            else stream.exit(signal?.replace(/^SIG/, '') ?? 'KILL', false, '');
            stream.end();
          });
          stream.on('close', () => child.kill('SIGKILL'));
        });
      });
      client.on('tcpip', (acceptTcp, rejectTcp, info) => {
        const socket = connect({ host: info.destIP, port: info.destPort });
        socket.once('error', () => rejectTcp());
        socket.once('connect', () => {
          const stream = acceptTcp();
          stream.pipe(socket).pipe(stream);
          stream.on('close', () => socket.destroy());
          socket.on('close', () => stream.end());
        });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    dir,
    hostKey,
    clientKey,
    get acceptedConnections() {
      return accepted;
    },
    sessions,
    get maxSessions() {
      return state.maxSessions;
    },
    set maxSessions(value: number) {
      state.maxSessions = value;
    },
    dropConnections() {
      for (const client of clients) client.end();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of clients) client.end();
        server.close(() => resolve());
      }),
  };
}
