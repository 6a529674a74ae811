import { ExitCode, StagecraftError } from '../errors.js';

export interface HostErrorOptions {
  /** Which exit code the command should end with; the caller knows the phase (default: rollout). */
  exitCode?: ExitCode;
  hint?: string;
  cause?: unknown;
}

/** Any failure tied to one host. The message always starts with the host name. */
export class HostError extends StagecraftError {
  readonly host: string;

  constructor(host: string, detail: string, options: HostErrorOptions = {}) {
    super(`${host}: ${detail}`, options.exitCode ?? ExitCode.rollout, { hint: options.hint, cause: options.cause });
    this.host = host;
  }
}

export type ConnectionFailure =
  | 'refused'
  | 'timeout'
  | 'unreachable'
  | 'dns'
  | 'auth'
  | 'host-key-unknown'
  | 'host-key-changed'
  | 'host-key-revoked'
  | 'key-file'
  | 'lost'
  | 'protocol';

export class HostConnectionError extends HostError {
  readonly reason: ConnectionFailure;

  constructor(host: string, reason: ConnectionFailure, detail: string, options: HostErrorOptions = {}) {
    super(host, detail, options);
    this.reason = reason;
  }
}

/** The host key was not in known_hosts, or did not match what is there. */
export class HostKeyVerificationError extends HostConnectionError {
  readonly fingerprint: string;

  constructor(
    host: string,
    reason: 'host-key-unknown' | 'host-key-changed' | 'host-key-revoked',
    fingerprint: string,
    detail: string,
    options: HostErrorOptions = {},
  ) {
    super(host, reason, detail, options);
    this.fingerprint = fingerprint;
  }
}

/** A command run on the host could not run, timed out, or (for checked runs) failed. */
export class HostCommandError extends HostError {
  /** The remote command's own exit status (not the CLI's exit code), when it ran at all. */
  readonly commandExitCode: number | undefined;
  readonly stderr: string;

  constructor(host: string, detail: string, result: { exitCode?: number; stderr?: string }, options: HostErrorOptions = {}) {
    super(host, detail, options);
    this.commandExitCode = result.exitCode;
    this.stderr = result.stderr ?? '';
  }
}

/** The host's Docker engine cannot be reached (checked once before the first API call). */
export class DockerEngineError extends HostError {}

/** A Docker API call failed; `statusCode` is the engine's HTTP status when there was one. */
export class DockerOperationError extends HostError {
  readonly operation: string;
  readonly statusCode: number | undefined;

  constructor(host: string, operation: string, detail: string, statusCode: number | undefined, options: HostErrorOptions = {}) {
    super(host, detail, options);
    this.operation = operation;
    this.statusCode = statusCode;
  }
}

/** `uploadFile(..., { exclusive: true })` found the file already there. */
export class HostFileExistsError extends HostError {
  readonly path: string;

  constructor(host: string, path: string, options: HostErrorOptions = {}) {
    super(host, `${path} already exists`, options);
    this.path = path;
  }
}
