import { isAbsolute, resolve } from 'node:path';
import type { LoadedConfig } from '../config/index.js';
import { parseDuration } from '../config/index.js';
import type { Host } from '../remote/host.js';
import { connectHost } from '../remote/connect.js';
import { ExitCode } from '../errors.js';

/**
 * One connection per host for the whole command, opened on first use and shared by every
 * phase (lock, migrations, rollout, audit). Concurrent first uses share one connect.
 */
export class HostConnections {
  private readonly hosts = new Map<string, Promise<Host>>();

  constructor(private readonly loaded: LoadedConfig) {}

  get(address: string): Promise<Host> {
    let host = this.hosts.get(address);
    if (!host) {
      const spec = this.loaded.config.hosts.find((h) => h.address === address);
      const ssh = this.loaded.config.ssh;
      host = connectHost(
        { address, port: spec?.port ?? ssh.port, user: spec?.user ?? ssh.user },
        {
          keys: ssh.keys.map((key) => this.fromConfigDir(key)),
          known_hosts: this.fromConfigDir(ssh.known_hosts),
          strict_host_key_checking: ssh.strict_host_key_checking,
          connect_timeout: parseDuration(ssh.connect_timeout),
        },
        { exitCode: ExitCode.rollout },
      );
      this.hosts.set(address, host);
      // A failed connect is not cached: the next caller gets a fresh attempt and a fresh error.
      host.catch(() => this.hosts.delete(address));
    }
    return host;
  }

  /** Relative key and known_hosts paths in stagecraft.yml mean relative to the config file; `~` is home. */
  private fromConfigDir(path: string): string {
    if (path === '~' || path.startsWith('~/') || isAbsolute(path)) return path;
    return resolve(this.loaded.dir, path);
  }

  async closeAll(): Promise<void> {
    const all = [...this.hosts.values()];
    this.hosts.clear();
    await Promise.all(all.map((host) => host.then((h) => h.close()).catch(() => undefined)));
  }
}

export function connectForCommand(loaded: LoadedConfig): HostConnections {
  return new HostConnections(loaded);
}
