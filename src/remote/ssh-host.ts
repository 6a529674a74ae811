/**
 * A host reached over SSH: ONE ssh2 connection for the whole command. Commands, file uploads and
 * the Docker API (through `docker system dial-stdio` channels) are all channels on it.
 */
import { readFileSync } from 'node:fs';
import Docker from 'dockerode';
import type Dockerode from 'dockerode';
import type { Agent } from 'node:http';
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type { ClientChannel, ConnectConfig, ServerHostKeyAlgorithm } from 'ssh2';
import { ExitCode } from '../errors.js';
import { ChannelLimiter } from './channel-limiter.js';
import { ChannelSocket } from './channel-socket.js';
import { DialStdioAgent } from './dial-stdio-agent.js';
import {
  DockerEngineError,
  HostCommandError,
  HostConnectionError,
  HostError,
  HostFileExistsError,
  HostKeyVerificationError,
} from './errors.js';
import type { HostErrorOptions } from './errors.js';
import { formatMode, lastLines, signalExitCode } from './host.js';
import type { ExecOptions, ExecResult, UploadOptions } from './host.js';
import { HostBase } from './host-base.js';
import {
  checkHostKey,
  fingerprintSha256,
  hostKeyAlgorithmsFor,
  keyTypeOfBlob,
  knownKeyTypes,
  parseKnownHosts,
} from './known-hosts.js';
import type { HostKeyCheck, KnownHostEntry } from './known-hosts.js';
import { OutputTail } from './output-tail.js';
import { quoteArgv } from './quote.js';
import { KeyFileError, planAuthentication } from './ssh-auth.js';

export interface SshHostOptions {
  address: string;
  port: number;
  user: string;
  /** Identity files (`~` expanded). Empty: the default ~/.ssh/id_* files that exist. */
  keyPaths: readonly string[];
  /** ssh-agent socket; defaults to SSH_AUTH_SOCK. Pass null to not use an agent. */
  agentSocket?: string | null;
  knownHostsPath: string;
  strictHostKeyChecking: boolean;
  connectTimeoutMs: number;
  keepaliveIntervalMs?: number;
  /** Most channels open at once on the connection (sshd's MaxSessions defaults to 10). */
  maxChannels?: number;
  errorExitCode?: HostErrorOptions['exitCode'];
}

interface RawExecResult {
  exitCode: number;
  stdout: Buffer;
  stderr: string;
}

const DIAL_STDIO_COMMAND = 'docker system dial-stdio';

// Written once, never built from values: paths and modes arrive as "$1", "$2", ...
const UPLOAD_SCRIPT = [
  'set -e',
  'umask 077',
  'mkdir -p -- "$(dirname -- "$1")"',
  'dest=$1; mode=$2; exclusive=$3',
  'tmp=$(mktemp "$(dirname -- "$dest")/.stagecraft-upload.XXXXXX")',
  'trap \'rm -f -- "$tmp"\' EXIT',
  'cat > "$tmp"',
  'chmod "$mode" "$tmp"',
  'if [ "$exclusive" = 1 ]; then',
  // ln into an existing directory would link inside it and succeed: anything at $dest exists.
  '  if [ -d "$dest" ]; then exit 17; fi',
  '  ln -- "$tmp" "$dest" 2>/dev/null || { [ -e "$dest" ] && exit 17; ln -- "$tmp" "$dest"; }',
  'else',
  '  mv -f -- "$tmp" "$dest"',
  'fi',
  'stat -c %a -- "$dest"',
].join('\n');
const UPLOAD_EXISTS_EXIT = 17;

const READ_SCRIPT = 'if [ -e "$1" ]; then exec cat -- "$1"; else exit 66; fi';
const READ_MISSING_EXIT = 66;

function secondsText(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))}s`;
}

function isChannelOpenFailure(error: unknown): boolean {
  return error instanceof Error && /Channel open failure/i.test(error.message);
}

function readKnownHosts(path: string): { entries: KnownHostEntry[]; missing: boolean } {
  try {
    return { entries: parseKnownHosts(readFileSync(path, 'utf8')), missing: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], missing: true };
    throw error;
  }
}

export class SshHost extends HostBase {
  readonly kind = 'ssh' as const;
  readonly name: string;
  readonly errorExitCode: HostErrorOptions['exitCode'];
  private readonly client: ssh2.Client;
  private readonly limiter: ChannelLimiter;
  private agent: DialStdioAgent | undefined;
  private dockerPromise: Promise<Dockerode> | undefined;
  private closedByUs = false;
  private clientClosed = false;
  private lostError: HostConnectionError | undefined;

  private constructor(name: string, client: ssh2.Client, options: SshHostOptions) {
    super();
    this.name = name;
    this.client = client;
    this.errorExitCode = options.errorExitCode ?? ExitCode.rollout;
    this.limiter = new ChannelLimiter(options.maxChannels ?? 8);
    client.on('error', (error: Error & { level?: string }) => {
      const detail = error.level === 'client-timeout' ? 'SSH connection lost (no answer to keepalives)' : `SSH connection failed: ${error.message}`;
      this.lostError ??= this.connectionError('lost', detail, error);
    });
    client.on('close', () => {
      this.clientClosed = true;
      if (!this.closedByUs) this.lostError ??= this.connectionError('lost', 'SSH connection lost');
      this.agent?.destroy();
    });
  }

  /** Opens the connection: verifies the host key, authenticates, and fails with a named error. */
  static async connect(options: SshHostOptions): Promise<SshHost> {
    const name = options.address;
    const exitCode = options.errorExitCode ?? ExitCode.rollout;
    const fail = (reason: HostConnectionError['reason'], detail: string, extra: HostErrorOptions = {}): HostConnectionError =>
      new HostConnectionError(name, reason, detail, { exitCode, ...extra });

    let auth;
    try {
      const agentSocket = options.agentSocket === null ? undefined : (options.agentSocket ?? process.env.SSH_AUTH_SOCK);
      auth = planAuthentication(options.user, options.keyPaths, agentSocket || undefined);
    } catch (error) {
      if (error instanceof KeyFileError) throw fail('key-file', error.message, { exitCode: ExitCode.user });
      throw error;
    }
    if (auth.methods.length === 0) {
      throw fail('auth', `no SSH credentials to offer for ${options.user}: no ssh.keys configured, no ~/.ssh/id_* key and SSH_AUTH_SOCK is not set`, {
        exitCode: ExitCode.user,
      });
    }

    const known = options.strictHostKeyChecking ? readKnownHosts(options.knownHostsPath) : { entries: [], missing: false };
    const preferred = hostKeyAlgorithmsFor(knownKeyTypes(known.entries, options.address, options.port)) as ServerHostKeyAlgorithm[];
    let rejection: { check: HostKeyCheck; blob: Buffer } | undefined;

    const config: ConnectConfig = {
      host: options.address,
      port: options.port,
      username: options.user,
      readyTimeout: options.connectTimeoutMs,
      keepaliveInterval: options.keepaliveIntervalMs ?? 5000,
      keepaliveCountMax: 3,
      authHandler: auth.methods,
      hostVerifier: (blob: Buffer): boolean => {
        if (!options.strictHostKeyChecking) return true;
        const check = checkHostKey(known.entries, options.address, options.port, blob);
        if (check.status === 'match') return true;
        rejection = { check, blob };
        return false;
      },
      ...(preferred.length > 0 ? { algorithms: { serverHostKey: { remove: preferred, prepend: preferred, append: [] } } } : {}),
    };

    const client = new ssh2.Client();
    // Never an unhandled 'error' event, whatever phase the connection is in.
    client.on('error', () => undefined);
    return new Promise<SshHost>((resolve, reject) => {
      let settled = false;
      const settle = (outcome: SshHost | Error): void => {
        if (settled) return;
        settled = true;
        client.removeListener('ready', onReady);
        client.removeListener('error', onError);
        client.removeListener('close', onClose);
        if (outcome instanceof Error) {
          client.end();
          reject(outcome);
        } else {
          resolve(outcome);
        }
      };
      // The host is built in the same tick as 'ready' so it sees every later event.
      const onReady = (): void => settle(new SshHost(name, client, options));
      const onError = (error: Error & { level?: string; code?: string }): void => {
        if (rejection) {
          settle(SshHost.hostKeyError(options, exitCode, rejection.check, rejection.blob, known.missing));
          return;
        }
        settle(SshHost.translateConnectError(error, options, auth.described, fail));
      };
      const onClose = (): void => settle(fail('lost', 'connection closed before SSH was ready'));
      client.on('ready', onReady);
      client.on('error', onError);
      client.on('close', onClose);
      try {
        client.connect(config);
        // Without TCP_NODELAY every exec round trip costs ~40 ms more (Nagle + delayed ACK).
        client.setNoDelay(true);
      } catch (error) {
        settle(fail('protocol', `cannot start SSH connection: ${(error as Error).message}`));
      }
    });
  }

  private static translateConnectError(
    error: Error & { level?: string; code?: string },
    options: SshHostOptions,
    tried: readonly string[],
    fail: (reason: HostConnectionError['reason'], detail: string, extra?: HostErrorOptions) => HostConnectionError,
  ): HostConnectionError {
    const port = options.port === 22 ? '' : ` (port ${options.port})`;
    switch (error.code) {
      case 'ECONNREFUSED':
        return fail('refused', `connection refused${port}`, { hint: 'is sshd running and listening on that address and port?', cause: error });
      case 'ETIMEDOUT':
        return fail('timeout', `connection timed out after ${secondsText(options.connectTimeoutMs)}`, { cause: error });
      case 'EHOSTUNREACH':
        return fail('unreachable', 'host unreachable', { cause: error });
      case 'ENETUNREACH':
        return fail('unreachable', 'network unreachable', { cause: error });
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return fail('dns', `cannot resolve host name ${options.address}`, { cause: error });
      case 'ECONNRESET':
        return fail('protocol', 'connection reset during the SSH handshake', { cause: error });
      default:
        break;
    }
    if (error.level === 'client-timeout') {
      return fail('timeout', `connection timed out after ${secondsText(options.connectTimeoutMs)}`, { cause: error });
    }
    if (error.level === 'client-authentication') {
      return fail('auth', `authentication failed for ${options.user} (tried keys: ${tried.join(', ')})`, {
        hint: 'check ssh.user and ssh.keys, and that the public key is in the server\'s authorized_keys',
        cause: error,
      });
    }
    return fail('protocol', `SSH connection failed: ${error.message}`, { cause: error });
  }

  private static hostKeyError(
    options: SshHostOptions,
    exitCode: HostErrorOptions['exitCode'],
    check: HostKeyCheck,
    blob: Buffer,
    fileMissing: boolean,
  ): HostKeyVerificationError {
    const fingerprint = fingerprintSha256(blob);
    const type = keyTypeOfBlob(blob);
    const file = options.knownHostsPath;
    const portArg = options.port === 22 ? '' : `-p ${options.port} `;
    switch (check.status) {
      case 'changed':
        return new HostKeyVerificationError(
          options.address,
          'host-key-changed',
          fingerprint,
          `HOST KEY MISMATCH: the server offered ${type} ${fingerprint}, which is not the ${check.knownType} key recorded in ${file}:${check.line}. ` +
            'Someone could be intercepting the connection (man-in-the-middle); refusing to connect',
          {
            exitCode,
            hint: `if the server's key really changed (reinstall), remove the old entry with ssh-keygen -R ${options.address} -f ${file} and add the new one`,
          },
        );
      case 'revoked':
        return new HostKeyVerificationError(
          options.address,
          'host-key-revoked',
          fingerprint,
          `host key ${fingerprint} is marked @revoked in ${file}:${check.line}; refusing to connect`,
          { exitCode },
        );
      default:
        return new HostKeyVerificationError(
          options.address,
          'host-key-unknown',
          fingerprint,
          `host key not in ${file}${fileMissing ? ' (the file does not exist)' : ''} (fingerprint ${fingerprint}) — ` +
            'add it with ssh-keyscan or set ssh.strict_host_key_checking: false',
          { exitCode, hint: `ssh-keyscan ${portArg}-t ${type} ${options.address} >> ${file}   (then compare the fingerprint with the server's)` },
        );
    }
  }

  /** Why the connection is gone, if it is. */
  override transportFailure(): HostConnectionError | undefined {
    if (this.closedByUs) return this.connectionError('lost', 'connection already closed');
    return this.lostError;
  }

  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const raw = await this.execRaw(argv, options);
    return { exitCode: raw.exitCode, stdout: raw.stdout.toString('utf8'), stderr: raw.stderr };
  }

  private async execRaw(argv: readonly string[], options: ExecOptions = {}): Promise<RawExecResult> {
    const command = quoteArgv(argv);
    const channel = await this.openChannel(command, argv[0] ?? '');
    const stdoutChunks: Buffer[] = [];
    const stdoutText = options.onStdout ? new OutputTail(0, options.onStdout) : undefined;
    const stderr = new OutputTail(Number.POSITIVE_INFINITY, options.onStderr);

    return new Promise<RawExecResult>((resolve, reject) => {
      let settled = false;
      const settle = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        stdoutText?.end();
        stderr.end();
        outcome();
      };
      const timer =
        options.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              // Best effort: sshd signals the command's shell only; a child still holding the
              // output open keeps the channel (and its slot) until it ends, so fail now.
              channel.signal('KILL');
              channel.close();
              const error = new HostCommandError(
                this.name,
                `${argv[0] ?? ''} timed out after ${secondsText(options.timeoutMs ?? 0)}`,
                { stderr: stderr.value },
                { exitCode: this.errorExitCode },
              );
              settle(() => reject(error));
            }, options.timeoutMs);
      channel.on('data', (chunk: Buffer) => {
        stdoutChunks.push(chunk);
        stdoutText?.write(chunk);
      });
      channel.stderr.on('data', (chunk: Buffer) => stderr.write(chunk));
      // ssh2 repeats the exit status as the 'close' arguments; its 'exit' event may already have
      // fired (same incoming packet batch as the channel confirmation) before we could listen.
      channel.on('close', (code?: number | null, signal?: string) => {
        const exitCode = typeof code === 'number' ? code : signal ? signalExitCode(signal) : undefined;
        settle(() => {
          if (exitCode !== undefined) {
            resolve({ exitCode, stdout: Buffer.concat(stdoutChunks), stderr: stderr.value });
          } else {
            reject(
              this.transportFailure() ??
                new HostCommandError(this.name, `${argv[0] ?? ''} ended without an exit status`, { stderr: stderr.value }, {
                  exitCode: this.errorExitCode,
                }),
            );
          }
        });
      });
      channel.end(options.stdin);
    });
  }

  /** Opens an exec channel running `command`; `label` names it in the error. */
  private async openChannel(command: string, label: string): Promise<ClientChannel> {
    try {
      return await this.openWithinLimit((done) => this.client.exec(command, done), { fewerOnRefusal: true });
    } catch (error) {
      if (error instanceof HostError) throw error;
      throw new HostCommandError(this.name, `cannot open an SSH channel for ${label}: ${(error as Error).message}`, {}, { exitCode: this.errorExitCode });
    }
  }

  /**
   * Opens a channel of any kind within the channel limit; fails with the lost connection when
   * that is the reason. `fewerOnRefusal`: a refused session means the server allows fewer
   * (sshd's MaxSessions), so lower the limit and wait for a slot instead (not for direct-tcpip,
   * whose refusals come from the target).
   */
  private async openWithinLimit(
    open: (done: (error: Error | undefined, channel: ClientChannel) => void) => void,
    { fewerOnRefusal }: { fewerOnRefusal: boolean },
  ): Promise<ClientChannel> {
    for (;;) {
      const failure = this.transportFailure();
      if (failure) throw failure;
      const release = await this.limiter.acquire();
      try {
        const channel = await new Promise<ClientChannel>((resolve, reject) => {
          try {
            open((error, opened) => (error ? reject(error) : resolve(opened)));
          } catch (error) {
            reject(error);
          }
        });
        channel.once('close', release);
        return channel;
      } catch (error) {
        const othersOpen = this.limiter.activeCount - 1;
        release();
        if (fewerOnRefusal && isChannelOpenFailure(error) && othersOpen > 0) {
          this.limiter.lowerLimitTo(othersOpen);
          continue;
        }
        throw this.transportFailure() ?? error;
      }
    }
  }

  async docker(): Promise<Dockerode> {
    this.dockerPromise ??= this.connectDocker();
    return this.dockerPromise;
  }

  private async connectDocker(): Promise<Dockerode> {
    // dial-stdio failures only surface as "socket hang up"; this check reports the real reason.
    let check: ExecResult;
    try {
      check = await this.exec(['docker', 'version', '--format', '{{.Server.Version}}'], { timeoutMs: 30_000 });
    } catch (error) {
      if (error instanceof HostError) throw error;
      throw new DockerEngineError(this.name, `cannot check the Docker engine: ${(error as Error).message}`, { exitCode: this.errorExitCode });
    }
    if (check.exitCode !== 0) {
      const notInstalled = check.exitCode === 127;
      throw new DockerEngineError(
        this.name,
        notInstalled
          ? 'the docker CLI is not installed (it is needed for `docker system dial-stdio`)'
          : `Docker engine not reachable: ${lastLines(check.stderr.trim(), 5) || `docker version exited with ${check.exitCode}`}`,
        { exitCode: this.errorExitCode, hint: notInstalled ? undefined : 'is dockerd running, and may this SSH user use it (docker group)?' },
      );
    }
    this.agent = new DialStdioAgent((socket) => this.openDialStdio(socket), this.limiter);
    const options: Dockerode.DockerOptions & { agent: Agent } = { protocol: 'http', host: 'docker', port: 2375, agent: this.agent };
    return new Docker(options);
  }

  private async openDialStdio(socket: ChannelSocket): Promise<ClientChannel> {
    const channel = await this.openChannel(DIAL_STDIO_COMMAND, 'docker system dial-stdio');
    const stderr = new OutputTail(2000);
    channel.stderr.on('data', (chunk: Buffer) => stderr.write(chunk));
    channel.on('close', (code?: number | null) => {
      if (typeof code === 'number' && code !== 0) {
        stderr.end();
        socket.destroy(
          new DockerEngineError(this.name, `docker system dial-stdio exited with ${code}: ${stderr.value.trim()}`, { exitCode: this.errorExitCode }),
        );
      }
    });
    return channel;
  }

  async openTcp(address: string, port: number): Promise<Duplex> {
    try {
      const channel = await this.openWithinLimit((done) => this.client.forwardOut('127.0.0.1', 0, address, port, done), { fewerOnRefusal: false });
      return new ChannelSocket(channel);
    } catch (error) {
      if (error instanceof HostError) throw error;
      throw new HostError(this.name, `cannot open a TCP connection to ${address}:${port} through SSH: ${(error as Error).message}`, {
        exitCode: this.errorExitCode,
        // Health checks and the raw migration engine reach containers and databases this way.
        ...(/prohibited/i.test((error as Error).message) ? { hint: 'allow it in the host\'s sshd_config: AllowTcpForwarding yes' } : {}),
      });
    }
  }

  async uploadFile(path: string, content: string | Buffer, mode: number, options: UploadOptions = {}): Promise<void> {
    const result = await this.exec(['sh', '-c', UPLOAD_SCRIPT, 'sh', path, formatMode(mode), options.exclusive ? '1' : '0'], {
      stdin: content,
      timeoutMs: 120_000,
    });
    if (result.exitCode === UPLOAD_EXISTS_EXIT && options.exclusive) {
      throw new HostFileExistsError(this.name, path, { exitCode: this.errorExitCode });
    }
    if (result.exitCode !== 0) {
      throw new HostCommandError(this.name, `writing ${path} failed: ${lastLines(result.stderr.trim(), 5)}`, result, { exitCode: this.errorExitCode });
    }
    const actual = Number.parseInt(result.stdout.trim(), 8);
    if (actual !== (mode & 0o7777)) {
      throw new HostCommandError(
        this.name,
        `${path} has mode ${result.stdout.trim()} after upload, expected ${formatMode(mode)}`,
        result,
        { exitCode: this.errorExitCode },
      );
    }
  }

  async readFile(path: string): Promise<Buffer | undefined> {
    const result = await this.execRaw(['sh', '-c', READ_SCRIPT, 'sh', path], { timeoutMs: 120_000 });
    if (result.exitCode === READ_MISSING_EXIT) return undefined;
    if (result.exitCode !== 0) {
      throw new HostCommandError(this.name, `reading ${path} failed: ${lastLines(result.stderr.trim(), 5)}`, result, { exitCode: this.errorExitCode });
    }
    return result.stdout;
  }

  async removeFile(path: string): Promise<void> {
    const result = await this.exec(['rm', '-f', '--', path], { timeoutMs: 60_000 });
    if (result.exitCode !== 0) {
      throw new HostCommandError(this.name, `removing ${path} failed: ${lastLines(result.stderr.trim(), 5)}`, result, { exitCode: this.errorExitCode });
    }
  }

  async mkdirp(path: string, mode?: number): Promise<void> {
    const argv = mode === undefined ? ['mkdir', '-p', '--', path] : ['sh', '-c', 'mkdir -p -- "$1" && chmod "$2" "$1"', 'sh', path, formatMode(mode)];
    const result = await this.exec(argv, { timeoutMs: 60_000 });
    if (result.exitCode !== 0) {
      throw new HostCommandError(this.name, `creating ${path} failed: ${lastLines(result.stderr.trim(), 5)}`, result, { exitCode: this.errorExitCode });
    }
  }

  /** How many channels are open on the connection right now (for tests and the bench). */
  get openChannelCount(): number {
    return this.limiter.activeCount;
  }

  async close(): Promise<void> {
    if (this.closedByUs) return;
    this.closedByUs = true;
    this.agent?.destroy();
    if (this.clientClosed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000);
      timer.unref();
      this.client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.client.end();
    });
  }

  private connectionError(reason: HostConnectionError['reason'], detail: string, cause?: unknown): HostConnectionError {
    return new HostConnectionError(this.name, reason, detail, { exitCode: this.errorExitCode, cause });
  }
}
