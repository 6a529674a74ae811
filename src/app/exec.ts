/**
 * Runs an `app exec` plan inside one session: on each host (bounded parallel) a one-off container
 * of the release's image, or docker exec in the running container; output streamed through line
 * sinks; then the audit line on every host it ran on, failures included.
 */
import type { Session } from '../apply/session.js';
import { appEnvironment } from '../config/index.js';
import { ExitCode, UserError } from '../errors.js';
import { registryAuthOf } from '../migrate/target.js';
import { mapWithConcurrency } from '../remote/connect.js';
import type { StreamedCommandResult, StreamedCommandSpec } from '../remote/docker-ops.js';
import { runningContainers } from './containers.js';
import { execContainerName, shownCommand, type AppExecPlan } from './exec-plan.js';
import { auditDetail, hostPrefix, lineSink, rawSink, type HostExit, type Write } from './host-output.js';

/** What a host counts as when stagecraft could not run the command there (like `docker run`'s own failures). */
export const NOT_RUN_EXIT = 125;

export interface ExecIo {
  stdout: Write;
  stderr: Write;
  /** Attached with -i. */
  stdin?: NodeJS.ReadableStream | undefined;
  ttySize?: { columns: number; rows: number } | undefined;
  signal: AbortSignal;
}

function messageOf(session: Session, error: unknown): string {
  return session.scrub(error instanceof Error ? error.message : String(error));
}

type ReuseTarget = { id: string; version: string | undefined } | { error: string };

/**
 * --reuse: each host's running container, found before anything runs. A host without one is a
 * user error (nothing runs anywhere); a host that cannot be asked is that host's failure.
 */
async function reuseTargets(session: Session, plan: AppExecPlan): Promise<Map<string, ReuseTarget>> {
  const found = new Map<string, ReuseTarget>();
  const missing: string[] = [];
  await mapWithConcurrency(plan.hosts, plan.max_parallel, async (address) => {
    try {
      const container = (await runningContainers(await (await session.host(address)).dockerOps(), plan))[0];
      if (container) found.set(address, container);
      else missing.push(address);
    } catch (error) {
      found.set(address, { error: messageOf(session, error) });
    }
  });
  if (missing.length > 0) {
    throw new UserError(`no running ${plan.role} container of ${plan.service} (${plan.environment}) on ${missing.sort().join(', ')}: nothing to exec in`, {
      hint: `drop --reuse to run the command in a one-off container of the current release, or deploy first`,
    });
  }
  return found;
}

export async function executeAppExec(session: Session, plan: AppExecPlan, io: ExecIo): Promise<HostExit[]> {
  const reuse = plan.mode === 'reuse' ? await reuseTargets(session, plan) : undefined;
  const several = plan.hosts.length > 1;
  const registryAuth = registryAuthOf(session.loaded);

  const exits = await mapWithConcurrency(plan.hosts, plan.max_parallel, async (address): Promise<HostExit> => {
    const prefix = hostPrefix(address, several);
    const out = plan.tty ? rawSink(io.stdout, session.scrub) : lineSink(io.stdout, session.scrub, prefix);
    const err = lineSink(io.stderr, session.scrub, prefix);
    const streamed: StreamedCommandSpec = {
      cmd: plan.command,
      stdin: io.stdin,
      tty: plan.tty,
      ttySize: io.ttySize,
      onStdout: (chunk) => out.write(chunk),
      onStderr: (chunk) => err.write(chunk),
      signal: io.signal,
    };
    let result: StreamedCommandResult;
    try {
      const ops = await (await session.host(address)).dockerOps();
      if (plan.one_off) {
        const oneOff = plan.one_off;
        await ops.pullImage(oneOff.image, registryAuth); // credentials only if the image is on registry.server
        // Interrupted while connecting or pulling: start nothing.
        if (io.signal.aborted) return { address, exitCode: ExitCode.interrupted, interrupted: true };
        result = await ops.runCommandContainer({
          ...streamed,
          image: oneOff.image,
          name: execContainerName(plan.service),
          env: { ...appEnvironment(session.loaded, oneOff.version), ...(session.loaded.config.roles[plan.role]?.env ?? {}), STAGECRAFT_HOST: address, STAGECRAFT_ROLE: plan.role },
          labels: oneOff.labels,
          network: oneOff.network,
        });
      } else {
        const target = reuse!.get(address)!;
        if ('error' in target) throw new Error(target.error);
        result = await ops.execStreaming(target.id, streamed);
      }
    } catch (error) {
      return { address, exitCode: NOT_RUN_EXIT, error: `the command did not run: ${messageOf(session, error)}` };
    } finally {
      out.flush();
      err.flush();
    }
    return {
      address,
      exitCode: result.exitCode,
      ...(result.notStarted ? { error: `could not start ${shownCommand(plan.command.slice(0, 1))}: ${session.scrub(result.notStarted)}` } : {}),
      ...(result.interrupted ? { interrupted: true } : {}),
    };
  });

  const version = plan.one_off?.version ?? [...(reuse?.values() ?? [])].map((target) => ('version' in target ? target.version : undefined)).find(Boolean) ?? '-';
  const detail = session.scrub(auditDetail(plan.mode, exits, shownCommand(plan.command)));
  for (const failure of await session.audit(plan.hosts, [version, 'app exec', detail])) {
    io.stderr(`warning: ${failure.address}: could not append to ~/.stagecraft/audit.log: ${failure.error}\n`);
  }
  return exits;
}
