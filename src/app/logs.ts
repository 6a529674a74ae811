/**
 * `app logs`: the Docker logs of the running app containers of a role on the selected hosts,
 * merged in time order (or as they come, with --follow) and prefixed by host. Read-only: no
 * deploy lock, no audit line.
 */
import type { Session } from '../apply/session.js';
import { UserError } from '../errors.js';
import { mapWithConcurrency } from '../remote/connect.js';
import { runningContainers } from './containers.js';
import type { Write } from './host-output.js';
import { formatLogLine, logLines, matchesGrep, mergeLogLines, splitTimestamp, type LogLine, type LogsQuery } from './log-lines.js';

export interface LogsRequest {
  service: string;
  environment: string;
  role: string;
  hosts: string[];
  query: LogsQuery;
}

export interface LogsIo {
  stdout: Write;
  stderr: Write;
  /** Ends --follow. */
  signal: AbortSignal;
}

export interface LogsOutcome {
  /** Hosts that could not be read, with why. */
  failed: { address: string; error: string }[];
}

const PARALLEL = 8;

/** Writes one line to stdout (the app's stdout) or stderr (its stderr), when it matches --grep. */
function emitter(session: Session, io: LogsIo, grep: string | undefined): (line: LogLine) => void {
  return (line) => {
    if (!matchesGrep(line, grep)) return;
    (line.stream === 'stderr' ? io.stderr : io.stdout)(formatLogLine(line, session.scrub));
  };
}

/** Calls `onLine` for each whole line of a chunked stream; `flush` emits a last partial one. */
function streamLines(onLine: (text: string) => void): { write: (chunk: string) => void; flush: () => void } {
  let pending = '';
  return {
    write(chunk) {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      lines.forEach((line) => onLine(line.replace(/\r$/, '')));
    },
    flush() {
      if (pending !== '') onLine(pending);
      pending = '';
    },
  };
}

export async function executeAppLogs(session: Session, request: LogsRequest, io: LogsIo): Promise<LogsOutcome> {
  const failed: LogsOutcome['failed'] = [];
  const message = (error: unknown) => session.scrub(error instanceof Error ? error.message : String(error));

  // Each host's running containers of the role, found before any line is printed.
  const found = await mapWithConcurrency(request.hosts, PARALLEL, async (address) => {
    try {
      const ops = await (await session.host(address)).dockerOps();
      return { address, ops, containers: await runningContainers(ops, request) };
    } catch (error) {
      failed.push({ address, error: message(error) });
      return { address, ops: undefined, containers: [] };
    }
  });
  const reachable = found.filter((entry) => entry.ops !== undefined);
  const without = reachable.filter((entry) => entry.containers.length === 0).map((entry) => entry.address);
  if (reachable.length > 0 && without.length === reachable.length) {
    throw new UserError(`no running ${request.role} container of ${request.service} (${request.environment}) on ${without.join(', ')}`, {
      hint: `deploy first: stagecraft deploy --env ${request.environment}`,
    });
  }
  for (const address of without) io.stderr(`[${address}] no running ${request.role} container of ${request.service}\n`);

  const emit = emitter(session, io, request.query.grep);
  const options = { tail: request.query.tail, since: request.query.since };
  if (!request.query.follow) {
    const perHost = await mapWithConcurrency(found, PARALLEL, async ({ address, ops, containers }) => {
      const lines: LogLine[] = [];
      try {
        for (const container of containers) {
          const logs = await ops!.readLogs(container.id, options);
          lines.push(...logLines(address, 'stdout', logs.stdout), ...logLines(address, 'stderr', logs.stderr));
        }
      } catch (error) {
        failed.push({ address, error: message(error) });
      }
      return lines;
    });
    mergeLogLines(perHost).forEach(emit);
    return { failed };
  }

  await Promise.all(
    found.flatMap(({ address, ops, containers }) =>
      containers.map(async (container) => {
        const sink = (stream: LogLine['stream']) => streamLines((raw) => emit({ address, stream, ...splitTimestamp(raw) }));
        const out = sink('stdout');
        const err = sink('stderr');
        try {
          await ops!.followLogs(container.id, { ...options, onStdout: out.write, onStderr: err.write, signal: io.signal });
        } catch (error) {
          if (!io.signal.aborted) failed.push({ address, error: message(error) });
        } finally {
          out.flush();
          err.flush();
        }
      }),
    ),
  );
  return { failed };
}
