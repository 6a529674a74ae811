import { hostname, userInfo } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { RefusedError, UserError } from '../errors.js';
import { HostConnectionError, HostError, HostFileExistsError } from '../remote/errors.js';
import type { Host } from '../remote/host.js';

const nonEmpty = z.string().min(1);

/**
 * What a deploy lock file holds. Unknown keys (from a newer stagecraft) are ignored; the ones
 * every message relies on must be there and well-formed, or the file is reported as corrupt.
 */
const lockDetailsSchema = z.object({
  service: nonEmpty,
  environment: nonEmpty,
  actor: nonEmpty,
  acquired_at: z.iso.datetime({ offset: true }),
  version: z.string().optional(),
  message: z.string().optional(),
  command: z.string().optional(),
});

export type LockDetails = z.infer<typeof lockDetailsSchema>;

/** What is at the lock path: nothing, a valid lock record, or something that is not one (and why). */
export type LockFileContent = { state: 'free' } | { state: 'held'; holder: LockDetails } | { state: 'corrupt'; reason: string };

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

function describeJsonValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value === 'number' ? 'the number' : typeof value === 'boolean' ? 'the boolean' : typeof value} ${String(value)}`;
}

/** Validates a lock file's bytes; never throws. */
export function parseLockFile(content: Buffer): { holder: LockDetails } | { corrupt: string } {
  if (content.length === 0) return { corrupt: 'the file is empty' };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(content);
  } catch {
    return { corrupt: `it is not text (${content.length} bytes of binary data)` };
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000e-\u001f\u007f]/.test(text)) return { corrupt: `it is not text (${content.length} bytes with control characters)` };
  if (text.trim() === '') return { corrupt: 'the file holds only white space' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { corrupt: `it is not valid JSON (${(error as Error).message.slice(0, 200)})` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { corrupt: `it holds ${describeJsonValue(value)}, not a lock record` };
  }
  const parsed = lockDetailsSchema.safeParse(value);
  if (parsed.success) return { holder: parsed.data };
  const problems = parsed.error.issues.map((issue) => {
    const key = issue.path.map(String).join('.') || 'the record';
    const present = issue.path.length > 0 && (value as Record<string, unknown>)[String(issue.path[0])] !== undefined;
    return present ? `${key} is invalid (${issue.message.replace(/^Invalid input: /, '')})` : `${key} is missing`;
  });
  return { corrupt: `not a lock record: ${problems.join(', ')}` };
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

  /** Where the lock lives, as messages name it. */
  get location(): string {
    return `~/${this.path} on ${this.host.name}`;
  }

  /** What a corrupt lock file is reported as: `exitCode` 2 where it refuses a command, 1 where it is only read. */
  corruptError(reason: string, refused: boolean): UserError | RefusedError {
    const message = `the deploy lock file ${this.location} is corrupt: ${reason}`;
    const hint = `nobody can hold it in this state; inspect it, and if no deploy is running remove it with \`stagecraft lock release --env ${this.environment}\``;
    return refused ? new RefusedError(message, { hint }) : new UserError(message, { hint });
  }

  /** Reads the lock file. An unreadable one (a directory, no permission) is `corrupt`; a lost connection throws. */
  async read(): Promise<LockFileContent> {
    let content: Buffer | undefined;
    try {
      content = await this.host.readFile(this.path);
    } catch (error) {
      if (error instanceof HostConnectionError || !(error instanceof HostError)) throw error;
      return { state: 'corrupt', reason: `it cannot be read (${error.message})` };
    }
    if (content === undefined) return { state: 'free' };
    const parsed = parseLockFile(content);
    return 'holder' in parsed ? { state: 'held', holder: parsed.holder } : { state: 'corrupt', reason: parsed.corrupt };
  }

  /**
   * Takes the lock or throws RefusedError (exit 2) naming the holder; waits up to `waitMs` for it
   * first. A corrupt lock file refuses at once: no holder will ever release it. `signal` stops the
   * wait (its reason is thrown).
   */
  async acquire(
    details: Omit<LockDetails, 'service' | 'environment' | 'acquired_at'>,
    waitMs = 0,
    options: { signal?: AbortSignal; onWait?: (holder: string) => void } = {},
  ): Promise<LockDetails> {
    const { signal } = options;
    const deadline = Date.now() + waitMs;
    let delay = 250;
    let announced = false;
    for (;;) {
      signal?.throwIfAborted();
      const full: LockDetails = { service: this.service, environment: this.environment, acquired_at: new Date().toISOString(), ...details };
      try {
        await this.host.uploadFile(this.path, `${JSON.stringify(full)}\n`, 0o600, { exclusive: true });
        return full;
      } catch (error) {
        if (!(error instanceof HostFileExistsError)) throw error;
      }
      const found = await this.read();
      if (found.state === 'free') continue; // released between our attempt and the read: try again at once
      if (found.state === 'corrupt') throw this.corruptError(found.reason, true);
      if (Date.now() >= deadline) {
        throw new RefusedError(`deploy lock for ${this.label} is ${describeHolder(found.holder)}`, {
          hint: waitMs > 0
            ? `still held after waiting; try later, or if that run is gone: stagecraft lock release --env ${this.environment}`
            : `wait for it (--lock-wait 5m), or if that run is gone: stagecraft lock release --env ${this.environment}`,
        });
      }
      if (!announced) {
        options.onWait?.(`waiting up to ${Math.round(waitMs / 1000)}s for the deploy lock of ${this.label}, ${describeHolder(found.holder)}`);
        announced = true;
      }
      await sleep(Math.min(delay, Math.max(0, deadline - Date.now())), undefined, signal ? { signal } : {}).catch((error: unknown) => {
        throw signal?.aborted ? signal.reason : error;
      });
      delay = Math.min(delay * 2, 5_000);
    }
  }

  /** Removes the lock file, whoever holds it (corrupt too), and says what was there. */
  async release(): Promise<LockFileContent> {
    const found = await this.read();
    if (found.state === 'free') return found;
    try {
      await this.host.removeFile(this.path);
    } catch (error) {
      if (found.state !== 'corrupt' || error instanceof HostConnectionError) throw error;
      throw new UserError(`the deploy lock file ${this.location} is corrupt (${found.reason}) and could not be removed: ${(error as Error).message}`, {
        hint: `remove ~/${this.path} on ${this.host.name} by hand`,
      });
    }
    return found;
  }

  /** Removes the lock this command took (no read first). */
  async releaseOwn(): Promise<void> {
    await this.host.removeFile(this.path);
  }
}
