/** The remote layer's public API: connect to hosts, run commands, drive their Docker engines. */
export { connectHost, defaultKnownHostsPath, DEFAULT_CONNECT_TIMEOUT_MS, HostPool, mapWithConcurrency } from './connect.js';
export type { ConnectOptions, HostOutcome, HostSpec, SshSettings } from './connect.js';
export { DockerOps, engineMessage, splitImageRef } from './docker-ops.js';
export type { ContainerExecResult, OneOffResult, OneOffSpec, RegistryAuth } from './docker-ops.js';
export {
  DockerEngineError,
  DockerOperationError,
  HostCommandError,
  HostConnectionError,
  HostError,
  HostFileExistsError,
  HostKeyVerificationError,
} from './errors.js';
export type { ConnectionFailure, HostErrorOptions } from './errors.js';
export { execChecked } from './host.js';
export type { ExecOptions, ExecResult, Host, UploadOptions } from './host.js';
export { LOCAL_HOST_NAME, LocalHost } from './local-host.js';
export { quoteArg, quoteArgv } from './quote.js';
export { SshHost } from './ssh-host.js';
export type { SshHostOptions } from './ssh-host.js';
