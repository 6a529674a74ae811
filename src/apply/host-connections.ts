import { isAbsolute, resolve } from 'node:path';
import type { LoadedConfig } from '../config/index.js';
import { parseDuration } from '../config/index.js';
import type { Host } from '../remote/host.js';
import { HostPool } from '../remote/connect.js';
import { ExitCode } from '../errors.js';

/** Relative key and known_hosts paths in stagecraft.yml mean relative to the config file; `~` is home. */
function fromConfigDir(dir: string, path: string): string {
  if (path === '~' || path.startsWith('~/') || isAbsolute(path)) return path;
  return resolve(dir, path);
}

/**
 * The hosts of one environment, each connected once on first use and shared by every phase
 * of the command (lock, migrations, rollout, audit).
 */
export class HostConnections {
  private readonly pool: HostPool;

  /** `exitCode`: what a connection failure exits with (rollout 5 in deploy, migration 4 in migrate). */
  constructor(loaded: LoadedConfig, exitCode: ExitCode = ExitCode.rollout) {
    const { ssh, hosts } = loaded.config;
    this.pool = new HostPool(
      {
        user: ssh.user,
        port: ssh.port,
        keys: ssh.keys.map((key) => fromConfigDir(loaded.dir, key)),
        known_hosts: fromConfigDir(loaded.dir, ssh.known_hosts),
        strict_host_key_checking: ssh.strict_host_key_checking,
        connect_timeout: parseDuration(ssh.connect_timeout),
      },
      { exitCode },
      hosts.map((host) => ({ address: host.address, port: host.port ?? ssh.port, user: host.user ?? ssh.user })),
    );
  }

  get(address: string): Promise<Host> {
    return this.pool.get(address);
  }

  closeAll(): Promise<void> {
    return this.pool.close();
  }
}
