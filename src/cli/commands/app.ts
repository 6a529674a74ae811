/**
 * `stagecraft app exec|logs`: a command in the app's image or its running container, and the
 * running containers' logs, on the hosts of a role.
 */
import { withSession, type Session } from '../../apply/session.js';
import { mergeHostHistory } from '../../apply/release-history.js';
import { executeAppExec } from '../../app/exec.js';
import { formatExecPlan, planAppExec, type ExecRelease } from '../../app/exec-plan.js';
import { combinedExitCode, formatHostExits, type HostExit } from '../../app/host-output.js';
import { executeAppLogs } from '../../app/logs.js';
import { logsQuery } from '../../app/log-lines.js';
import { DEFAULT_ROLE, selectExecHosts, selectLogHosts } from '../../app/select-hosts.js';
import { ExitCode } from '../../errors.js';
import { recordedImageRef } from '../../plan/image-ref.js';
import { ReleaseStore } from '../../releases/store.js';
import { loadForCommand, storeFileFor, type CommonOptions } from '../context.js';

export interface AppExecOptions extends CommonOptions {
  command: string[];
  host?: string;
  primary: boolean;
  all: boolean;
  role?: string;
  reuse: boolean;
  interactive: boolean;
  dryRun: boolean;
}

export interface AppLogsOptions extends CommonOptions {
  host?: string;
  role?: string;
  since?: string;
  lines?: string;
  follow: boolean;
  grep?: string;
}

const out = (text: string) => void process.stdout.write(text);
const err = (text: string) => void process.stderr.write(text);

/** SIGINT/SIGTERM abort the returned signal (with a notice) instead of killing the process, until `off()`. */
function onInterrupt(notice: string): { signal: AbortSignal; off: () => void } {
  const controller = new AbortController();
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((name) => {
    const handler = () => {
      if (controller.signal.aborted) return;
      if (notice !== '') err(`${name} received: ${notice}\n`);
      controller.abort();
    };
    process.on(name, handler);
    return () => process.off(name, handler);
  });
  return { signal: controller.signal, off: () => handlers.forEach((off) => off()) };
}

/** The current release (after merging the primary's shared history), for a one-off's image. */
async function currentRelease(session: Session, options: CommonOptions): Promise<ExecRelease | undefined> {
  const store = new ReleaseStore(storeFileFor(options));
  await store.list(); // a corrupt store stops us before anything runs
  await mergeHostHistory(session, store, (line) => err(`${line}\n`));
  const current = await store.current(session.loaded.environment);
  return current ? { id: current.id, version: current.version, image: recordedImageRef(current.image) } : undefined;
}

/** With -i on a terminal: raw mode, so keys (Ctrl-C too) go to the command; restored afterwards. */
function rawTerminal(tty: boolean): () => void {
  const stdin = process.stdin;
  if (!tty || !stdin.isTTY) return () => undefined;
  stdin.setRawMode(true);
  return () => stdin.setRawMode(false);
}

export async function runAppExec(options: AppExecOptions): Promise<void> {
  const loaded = await loadForCommand(options);
  const role = options.role ?? DEFAULT_ROLE;
  const hosts = selectExecHosts(loaded.config.hosts, { role, host: options.host, primary: options.primary, all: options.all }, loaded.environment);
  await withSession(loaded, {}, async (session) => {
    const release = options.reuse ? undefined : await currentRelease(session, options);
    const plan = planAppExec({
      service: loaded.config.service,
      environment: loaded.environment,
      role,
      hosts,
      command: options.command,
      reuse: options.reuse,
      interactive: options.interactive,
      stdinIsTty: process.stdin.isTTY === true,
      release,
    });
    if (options.dryRun) {
      out(formatExecPlan(plan));
      return;
    }
    const interrupt = onInterrupt(plan.mode === 'one-off' ? 'stopping the command (its containers are stopped and removed)' : 'detaching (Docker cannot stop a process started by docker exec: it may run on)');
    const restore = rawTerminal(plan.tty);
    let exits: HostExit[];
    try {
      exits = await executeAppExec(session, plan, {
        stdout: out,
        stderr: err,
        stdin: plan.interactive ? process.stdin : undefined,
        ttySize: plan.tty && process.stdout.columns ? { columns: process.stdout.columns, rows: process.stdout.rows } : undefined,
        signal: interrupt.signal,
      });
    } finally {
      restore();
      interrupt.off();
      if (plan.interactive) process.stdin.pause();
    }
    if (plan.hosts.length > 1) err(formatHostExits(exits));
    else for (const exit of exits) if (exit.error) err(`error: ${exit.address}: ${exit.error}\n`);
    process.exitCode = exits.some((exit) => exit.interrupted) ? ExitCode.interrupted : combinedExitCode(exits);
  });
}

export async function runAppLogs(options: AppLogsOptions): Promise<void> {
  const loaded = await loadForCommand(options);
  const role = options.role ?? DEFAULT_ROLE;
  const hosts = selectLogHosts(loaded.config.hosts, { role, host: options.host }, loaded.environment);
  const query = logsQuery({ lines: options.lines, since: options.since, follow: options.follow, grep: options.grep }, Date.now());
  // --follow ends with Ctrl-C: that is how it is meant to stop, so it exits 0.
  const interrupt = query.follow ? onInterrupt('') : undefined;
  try {
    const outcome = await withSession(loaded, {}, (session) =>
      executeAppLogs(session, { service: loaded.config.service, environment: loaded.environment, role, hosts, query }, { stdout: out, stderr: err, signal: interrupt?.signal ?? new AbortController().signal }),
    );
    for (const failure of outcome.failed) err(`error: ${failure.address}: ${failure.error}\n`);
    if (outcome.failed.length > 0) process.exitCode = ExitCode.user;
  } finally {
    interrupt?.off();
  }
}
