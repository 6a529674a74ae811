import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestbedError, lastLines } from './exec.js';

export function readPidFile(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').split('\n')[0]?.trim() ?? '', 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** True for a live process; zombies (exited, not yet reaped) count as gone. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((part) => part !== '');
  } catch {
    return [];
  }
}

/**
 * The pid, if it is alive AND its command line carries `marker` (a path only this testbed
 * uses), so a recycled pid of an unrelated process is never mistaken for ours.
 */
export function ownProcess(pid: number | undefined, marker: string): number | undefined {
  if (pid === undefined || !isRunning(pid)) return undefined;
  return commandLine(pid).some((part) => part.includes(marker)) ? pid : undefined;
}

/** Starts a long-running daemon in its own session (like `setsid`), output appended to a log. */
export function spawnDetached(command: string, args: readonly string[], logFile: string, env?: NodeJS.ProcessEnv): number {
  const log = openSync(logFile, 'a');
  try {
    const child = spawn(command, args, { detached: true, stdio: ['ignore', log, log], env: env ?? process.env });
    if (child.pid === undefined) throw new TestbedError(`could not start ${command}`);
    child.on('error', () => undefined);
    child.unref();
    return child.pid;
  } finally {
    closeSync(log);
  }
}

export interface WaitOptions {
  timeoutMs: number;
  what: string;
  /** A log to quote when the wait fails. */
  logFile?: string;
  /** Fail early when the process we wait for has died. */
  pid?: number;
  intervalMs?: number;
}

export async function waitUntil(check: () => Promise<boolean> | boolean, options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (await check()) return;
    const died = options.pid !== undefined && !isRunning(options.pid);
    if (died || Date.now() > deadline) {
      const reason = died ? 'its process exited' : `not ready after ${options.timeoutMs} ms`;
      throw new TestbedError(`${options.what}: ${reason}${logTail(options.logFile)}`);
    }
    await sleep(options.intervalMs ?? 25);
  }
}

function logTail(logFile: string | undefined): string {
  if (!logFile) return '';
  try {
    return `\n--- last lines of ${logFile} ---\n${lastLines(readFileSync(logFile, 'utf8'), 15)}`;
  } catch {
    return '';
  }
}

/** SIGTERM, then SIGKILL if the process outlives `graceMs`. */
export async function stopProcess(pid: number, graceMs: number): Promise<void> {
  if (!isRunning(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isRunning(pid) && Date.now() < deadline) await sleep(25);
  if (isRunning(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return;
    }
    const killDeadline = Date.now() + 5_000;
    while (isRunning(pid) && Date.now() < killDeadline) await sleep(25);
  }
}
