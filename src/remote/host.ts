/** What deploy, migrate and rollout need from a target machine, whatever the transport. */
import { constants as osConstants } from 'node:os';
import type { Duplex } from 'node:stream';
import type Dockerode from 'dockerode';
import type { DockerOps } from './docker-ops.js';
import type { HostErrorOptions } from './errors.js';

export interface ExecOptions {
  /** Sent to the command's stdin, then stdin is closed. Without it stdin is closed at once. */
  stdin?: string | Buffer;
  /**
   * Environment variables are deliberately not supported: sshd drops them unless AcceptEnv allows
   * it, and secrets must never go into argv. Pass data through stdin or an uploaded file.
   */
  env?: never;
  /**
   * Past this the call fails with HostCommandError. Over SSH the command is only asked to stop
   * (signal request + channel close); OpenSSH does not deliver the signal, so a command that
   * ignores its closed channel can run on. Use containers (runOneOff) for work that must be killed.
   */
  timeoutMs?: number;
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
}

export interface ExecResult {
  /** The command's exit status; 128 + signal number when a signal ended it. */
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface UploadOptions {
  /** Fail with HostFileExistsError instead of replacing an existing file (atomic). */
  exclusive?: boolean;
}

export interface Host {
  /** The address as configured (`local` for the local engine); starts every error message. */
  readonly name: string;
  readonly kind: 'ssh' | 'local';
  /** Exit code errors from this host carry (chosen by whoever connected it). */
  readonly errorExitCode: HostErrorOptions['exitCode'];

  /** Runs argv on the host. Over SSH every argument is shell-quoted: it arrives verbatim. */
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;

  /** dockerode talking to this host's engine (checked with `docker version` on first use). */
  docker(): Promise<Dockerode>;

  /** Higher-level container operations on this host's engine. */
  dockerOps(): Promise<DockerOps>;

  /**
   * A TCP connection to `address:port` as seen from the host (e.g. a container's IP on a Docker
   * network), over SSH a direct-tcpip channel. Socket-like enough for `http.request`'s createConnection.
   */
  openTcp(address: string, port: number): Promise<Duplex>;

  /**
   * Writes a file on the host's filesystem atomically with `mode` (e.g. 0o600), then verifies the
   * mode. Missing parent directories are created (mode 0700). A relative path is relative to the
   * SSH user's home directory (for the local host: the current user's home).
   */
  uploadFile(path: string, content: string | Buffer, mode: number, options?: UploadOptions): Promise<void>;

  /** A file's content, or undefined when it does not exist. */
  readFile(path: string): Promise<Buffer | undefined>;

  /** Removes a file; no error if it is already gone. */
  removeFile(path: string): Promise<void>;

  /** Creates a directory and its parents (like `mkdir -p`), optionally setting the last one's mode. */
  mkdirp(path: string, mode?: number): Promise<void>;

  /** Closes the connection and every channel on it. Safe to call twice. */
  close(): Promise<void>;
}

export function lastLines(text: string, count: number): string {
  return text.split('\n').slice(-count).join('\n');
}

export function formatMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** 128 + the signal's number, as shells report it; accepts `SIGTERM` and `TERM` (ssh2 gives either). */
export function signalExitCode(signal: string): number {
  const name = signal.startsWith('SIG') ? signal : `SIG${signal}`;
  const number = (osConstants.signals as Record<string, number | undefined>)[name];
  return 128 + (number ?? 0);
}
