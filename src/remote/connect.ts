/** Turning configured hosts into connected Host objects, one connection per host per command. */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ExitCode } from '../errors.js';
import type { Host } from './host.js';
import { LOCAL_HOST_NAME, LocalHost } from './local-host.js';
import { expandHome } from './ssh-auth.js';
import { SshHost } from './ssh-host.js';

export interface HostSpec {
  /** IP address or host name; `local` means this machine's Docker engine. */
  address: string;
  port?: number;
  user?: string;
}

/** The `ssh:` section of stagecraft.yml, resolved. */
export interface SshSettings {
  user?: string;
  port?: number;
  keys?: readonly string[];
  known_hosts?: string;
  strict_host_key_checking?: boolean;
  /** Milliseconds. */
  connect_timeout?: number;
}

export interface ConnectOptions {
  /** Exit code for errors from these hosts (default 5, rollout). */
  exitCode?: ExitCode;
  /** Most SSH channels open at once per host (default 8; sshd allows 10 by default). */
  maxChannelsPerHost?: number;
  /** ssh-agent socket; default SSH_AUTH_SOCK; null: do not use an agent. */
  agentSocket?: string | null;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

function defaultKnownHostsPath(): string {
  return join(homedir(), '.ssh', 'known_hosts');
}

export async function connectHost(spec: HostSpec, ssh: SshSettings = {}, options: ConnectOptions = {}): Promise<Host> {
  if (spec.address === LOCAL_HOST_NAME) return new LocalHost({ errorExitCode: options.exitCode });
  return SshHost.connect({
    address: spec.address,
    port: spec.port ?? ssh.port ?? 22,
    user: spec.user ?? ssh.user ?? 'root',
    keyPaths: ssh.keys ?? [],
    agentSocket: options.agentSocket,
    knownHostsPath: expandHome(ssh.known_hosts ?? defaultKnownHostsPath()),
    strictHostKeyChecking: ssh.strict_host_key_checking ?? true,
    connectTimeoutMs: ssh.connect_timeout ?? DEFAULT_CONNECT_TIMEOUT_MS,
    maxChannels: options.maxChannelsPerHost,
    errorExitCode: options.exitCode,
  });
}

/** Runs `fn` over items with at most `concurrency` at once; results keep the input order. */
export async function mapWithConcurrency<I, O>(items: readonly I[], concurrency: number, fn: (item: I, index: number) => Promise<O>): Promise<O[]> {
  const results = new Array<O>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as I, index);
    }
  };
  const workers = Math.max(1, Math.min(concurrency, items.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return results;
}

/**
 * Connections to many hosts, each opened once on first use and shared for the whole command.
 * A failed connection is remembered (and reported again) rather than retried.
 */
export class HostPool {
  private readonly ssh: SshSettings;
  private readonly options: ConnectOptions;
  /** By address (each address has one spec). */
  private readonly connections = new Map<string, Promise<Host>>();
  private readonly specs = new Map<string, HostSpec>();

  constructor(ssh: SshSettings = {}, options: ConnectOptions = {}, specs: readonly HostSpec[] = []) {
    this.ssh = ssh;
    this.options = options;
    for (const spec of specs) this.specs.set(spec.address, spec);
  }

  /** By address, using the spec given to the constructor when there is one (user, port); connects on first use. */
  async get(address: string): Promise<Host> {
    let connection = this.connections.get(address);
    if (!connection) {
      connection = connectHost(this.specs.get(address) ?? { address }, this.ssh, this.options);
      connection.catch(() => undefined); // reported to whoever awaits it
      this.connections.set(address, connection);
    }
    return connection;
  }

  /** Closes every connection that was opened. */
  async close(): Promise<void> {
    const connections = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(
      connections.map(async (connection) => {
        const host = await connection.catch(() => undefined);
        await host?.close();
      }),
    );
  }
}
