import { hostname, userInfo } from 'node:os';
import { RefusedError } from '../errors.js';
import { HostFileExistsError } from '../remote/errors.js';
import type { Host } from '../remote/host.js';

export interface LockDetails {
  service: string;
  environment: string;
  actor: string;
  acquired_at: string;
  version?: string;
  message?: string;
  command?: string;
}

/** Relative to the SSH user's home on the primary host. */
const LOCK_DIR = '.stagecraft/locks';

export function defaultActor(): string {
  let user = process.env.USER ?? '';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (e.g. in a container): fall back to $USER
  }
  return `${user || 'unknown'}@${hostname()}`;
}

export function describeAge(since: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(since)) / 1000));
  if (seconds < 90) return `${seconds}s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `${minutes}m`;
  return `${Math.round(minutes / 60)}h`;
}

export function describeHolder(details: LockDetails, now = Date.now()): string {
  const parts = [`held by ${details.actor} for ${describeAge(details.acquired_at, now)} (since ${details.acquired_at})`];
  if (details.command) parts.push(`during ${details.command}${details.version ? ` of ${details.version}` : ''}`);
  if (details.message) parts.push(`message: "${details.message}"`);
  return parts.join(', ');
}

/** The deploy lock of one service+environment: a file created atomically (exclusive upload) on the primary host. */
export class DeployLock {
  readonly path: string;

  constructor(
    private readonly host: Host,
    readonly service: string,
    readonly environment: string,
  ) {
    this.path = `${LOCK_DIR}/${`${service}-${environment}.json`.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
  }

  get label(): string {
    return `${this.service}/${this.environment}`;
  }

  async status(): Promise<LockDetails | undefined> {
    const content = await this.host.readFile(this.path);
    if (content === undefined) return undefined;
    try {
      return JSON.parse(content.toString('utf8')) as LockDetails;
    } catch {
      const message = `unreadable lock file ~/${this.path}: ${content.toString('utf8').slice(0, 200)}`;
      return { service: this.service, environment: this.environment, actor: 'unknown', acquired_at: new Date(0).toISOString(), message };
    }
  }

  /** Takes the lock or throws RefusedError (exit 2) naming the holder; waits up to `waitMs` for it first. */
  async acquire(details: Omit<LockDetails, 'service' | 'environment' | 'acquired_at'>, waitMs = 0): Promise<LockDetails> {
    const deadline = Date.now() + waitMs;
    let delay = 250;
    for (;;) {
      const full: LockDetails = { service: this.service, environment: this.environment, acquired_at: new Date().toISOString(), ...details };
      try {
        await this.host.uploadFile(this.path, `${JSON.stringify(full)}\n`, 0o600, { exclusive: true });
        return full;
      } catch (error) {
        if (!(error instanceof HostFileExistsError)) throw error;
      }
      const holder = await this.status();
      if (!holder) continue; // released between our attempt and the read: try again at once
      if (Date.now() >= deadline) {
        throw new RefusedError(`deploy lock for ${this.label} is ${describeHolder(holder)}`, {
          hint: waitMs > 0
            ? `still held after waiting; try later, or if that run is gone: stagecraft lock release --env ${this.environment}`
            : `wait for it (--lock-wait 5m), or if that run is gone: stagecraft lock release --env ${this.environment}`,
        });
      }
      await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(0, deadline - Date.now()))));
      delay = Math.min(delay * 2, 5_000);
    }
  }

  async release(): Promise<void> {
    await this.host.removeFile(this.path);
  }
}
