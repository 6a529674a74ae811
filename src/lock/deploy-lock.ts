import { hostname, userInfo } from 'node:os';
import { RefusedError, StagecraftError, ExitCode } from '../errors.js';
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

// Fixed scripts; every variable part arrives as a positional argument, never spliced into the script.
const ACQUIRE = 'mkdir -p "$HOME/.stagecraft/locks" && set -C && cat > "$HOME/.stagecraft/locks/$1"';
const READ = 'f="$HOME/.stagecraft/locks/$1"; if [ -f "$f" ]; then cat "$f"; else exit 3; fi';
const RELEASE = 'rm -f "$HOME/.stagecraft/locks/$1"';

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

/** The deploy lock of one service+environment: a file created atomically (noclobber) on the primary host. */
export class DeployLock {
  readonly fileName: string;

  constructor(
    private readonly host: Host,
    readonly service: string,
    readonly environment: string,
  ) {
    this.fileName = `${service}-${environment}.json`.replace(/[^A-Za-z0-9_.-]/g, '_');
  }

  get label(): string {
    return `${this.service}/${this.environment}`;
  }

  async status(): Promise<LockDetails | undefined> {
    const result = await this.host.exec(['sh', '-c', READ, 'sh', this.fileName]);
    if (result.exitCode === 3) return undefined;
    if (result.exitCode !== 0) {
      throw new StagecraftError(`${this.host.name}: could not read the deploy lock: ${result.stderr.trim()}`, ExitCode.rollout);
    }
    try {
      return JSON.parse(result.stdout) as LockDetails;
    } catch {
      return { service: this.service, environment: this.environment, actor: 'unknown', acquired_at: new Date(0).toISOString(), message: `unreadable lock file: ${result.stdout.slice(0, 200)}` };
    }
  }

  /** Takes the lock or throws RefusedError (exit 2) naming the holder; waits up to `waitMs` for it first. */
  async acquire(details: Omit<LockDetails, 'service' | 'environment' | 'acquired_at'>, waitMs = 0): Promise<LockDetails> {
    const deadline = Date.now() + waitMs;
    let delay = 250;
    for (;;) {
      const full: LockDetails = { service: this.service, environment: this.environment, acquired_at: new Date().toISOString(), ...details };
      const result = await this.host.exec(['sh', '-c', ACQUIRE, 'sh', this.fileName], { stdin: `${JSON.stringify(full)}\n` });
      if (result.exitCode === 0) return full;
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
    const result = await this.host.exec(['sh', '-c', RELEASE, 'sh', this.fileName]);
    if (result.exitCode !== 0) {
      throw new StagecraftError(`${this.host.name}: could not release the deploy lock: ${result.stderr.trim()}`, ExitCode.rollout);
    }
  }
}
