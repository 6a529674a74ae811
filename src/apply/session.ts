/**
 * One command's hold on an environment, for every command that changes it (deploy, rollback,
 * migrate run, migrate rollback) and the lock commands: the host connections (one per host for the
 * whole command), the deploy lock on the primary host, SIGINT/SIGTERM while the lock is held or
 * waited for (they abort `signal`, which the work observes; the lock is released before the
 * process exits 130), and the audit line each changing command leaves on the hosts.
 */
import type { LoadedConfig } from '../config/index.js';
import { redactText } from '../config/index.js';
import { ExitCode, StagecraftError } from '../errors.js';
import { DeployLock, defaultActor, type LockDetails } from '../lock/deploy-lock.js';
import { primaryHost } from '../plan/plan-deploy.js';
import { mapWithConcurrency } from '../remote/connect.js';
import type { Host } from '../remote/host.js';
import { Interrupted } from './executor.js';
import { HostConnections } from './host-connections.js';

export interface SessionOptions {
  /** What a host connection failure exits with (rollout 5 in deploy, migration 4 in migrate). */
  hostExitCode?: ExitCode;
  /** Where the session's own notes go (the interrupt notice, a lock it could not release). */
  warn?: (line: string) => void;
}

export interface LockRequest {
  /** Recorded in the lock file: what holds it (`deploy`, `migrate run`, `manual lock`). */
  command: string;
  version?: string | undefined;
  message?: string | undefined;
  /** How long to wait for a held lock before refusing (0: refuse at once). */
  waitMs: number;
}

export interface AuditFailure {
  address: string;
  error: string;
}

/** Tabs and line breaks would split the audit line's fields. */
function auditField(value: string): string {
  return value.replace(/[\t\r\n]+/g, ' ');
}

export class Session {
  readonly actor = defaultActor();
  readonly primary: string;
  readonly hosts: HostConnections;
  readonly scrub: (text: string) => string;
  private readonly controller = new AbortController();
  private readonly warn: (line: string) => void;

  constructor(
    readonly loaded: LoadedConfig,
    options: SessionOptions = {},
  ) {
    this.primary = primaryHost(loaded.config);
    this.hosts = new HostConnections(loaded, options.hostExitCode);
    this.scrub = (text) => redactText(text, loaded.secretValues);
    this.warn = options.warn ?? ((line) => process.stderr.write(`${line}\n`));
  }

  /** Aborted by SIGINT/SIGTERM (reason: an `Interrupted`) while the deploy lock is held or waited for. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get interrupted(): boolean {
    return this.controller.signal.aborted;
  }

  host(address: string): Promise<Host> {
    return this.hosts.get(address);
  }

  /** The deploy lock of this service and environment, on the primary host. */
  async deployLock(): Promise<DeployLock> {
    return new DeployLock(await this.host(this.primary), this.loaded.config.service, this.loaded.environment);
  }

  /**
   * Takes the deploy lock (waiting up to `waitMs`), runs `work` with the session's signal, and
   * always releases the lock. SIGINT/SIGTERM from before the wait until the release abort the
   * signal instead of killing the process; a wait they interrupt throws `Interrupted` (exit 130).
   */
  async underDeployLock<T>(request: LockRequest, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return this.interruptible(async () => {
      const { lock } = await this.takeLock(request);
      try {
        return await work(this.signal);
      } finally {
        await lock.releaseOwn().catch((error: unknown) => {
          this.warn(`warning: could not release the deploy lock ${lock.location}: ${this.scrub(error instanceof Error ? error.message : String(error))}`);
        });
      }
    });
  }

  /** Takes the deploy lock and keeps it after the command (`lock acquire`); an interrupted wait takes nothing. */
  async holdDeployLock(request: LockRequest): Promise<LockDetails> {
    return this.interruptible(async () => {
      const { lock, held } = await this.takeLock(request);
      if (this.interrupted) {
        // The signal came while the lock file was being written: the user asked for nothing to be held.
        await lock.releaseOwn();
        throw this.signal.reason;
      }
      return held;
    });
  }

  /**
   * Appends one line to `~/.stagecraft/audit.log` on each host: time, actor, service, environment,
   * then `fields`, tab-separated. Returns the hosts where that failed (never throws).
   */
  async audit(addresses: readonly string[], fields: readonly string[]): Promise<AuditFailure[]> {
    const { service } = this.loaded.config;
    const line = [new Date().toISOString(), this.actor, service, this.loaded.environment, ...fields].map(auditField).join('\t');
    const failures: AuditFailure[] = [];
    await mapWithConcurrency(addresses, 8, async (address) => {
      try {
        const host = await this.host(address);
        const result = await host.exec(['sh', '-c', 'mkdir -p "$HOME/.stagecraft" && printf "%s\\n" "$1" >> "$HOME/.stagecraft/audit.log"', 'sh', line]);
        if (result.exitCode !== 0) failures.push({ address, error: result.stderr.trim() });
      } catch (error) {
        failures.push({ address, error: this.scrub(error instanceof Error ? error.message : String(error)) });
      }
    });
    return failures;
  }

  close(): Promise<void> {
    return this.hosts.closeAll();
  }

  private async takeLock(request: LockRequest): Promise<{ lock: DeployLock; held: LockDetails }> {
    const lock = await this.deployLock();
    try {
      const held = await lock.acquire(
        { actor: this.actor, command: request.command, ...(request.version ? { version: request.version } : {}), ...(request.message ? { message: request.message } : {}) },
        request.waitMs,
        { signal: this.signal, onWait: (line) => this.warn(line) },
      );
      return { lock, held };
    } catch (error) {
      if (error instanceof Interrupted) {
        throw new StagecraftError(`${error.message} while waiting for the deploy lock ${lock.location}; nothing was changed`, ExitCode.interrupted);
      }
      throw error;
    }
  }

  /** Runs `fn` with SIGINT/SIGTERM (and a crash outside any awaited promise) aborting `signal`. */
  private async interruptible<T>(fn: () => Promise<T>): Promise<T> {
    const abort = (reason: Interrupted, notice: string) => {
      if (this.controller.signal.aborted) return;
      this.warn(notice);
      this.controller.abort(reason);
    };
    const handlers = (['SIGINT', 'SIGTERM'] as const).map((name) => {
      const handler = () => abort(new Interrupted(name), `${name} received: stopping; the deploy lock is released before exit`);
      process.on(name, handler);
      return () => process.off(name, handler);
    });
    // A bug that throws outside any awaited promise must not leave hosts half-switched and the
    // deploy lock held: stop the run the way an interrupt does, and exit as an internal error.
    const crashed = (error: unknown) => {
      abort(new Interrupted('an internal error', ExitCode.internal), `internal error: ${this.scrub(error instanceof Error ? (error.stack ?? error.message) : String(error))}`);
    };
    process.on('uncaughtException', crashed);
    process.on('unhandledRejection', crashed);
    try {
      return await fn();
    } finally {
      handlers.forEach((off) => off());
      process.off('uncaughtException', crashed);
      process.off('unhandledRejection', crashed);
    }
  }
}

/** Opens a session for `work` and always closes its connections. */
export async function withSession<T>(loaded: LoadedConfig, options: SessionOptions, work: (session: Session) => Promise<T>): Promise<T> {
  const session = new Session(loaded, options);
  try {
    return await work(session);
  } finally {
    await session.close();
  }
}
