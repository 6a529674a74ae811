/**
 * Runs a migration tool in a one-off container of the app image on the primary host, with the
 * app's environment plus DATABASE_URL. Used by every engine except raw.
 */
import { randomBytes } from 'node:crypto';
import { MigrationError } from '../errors.js';
import type { EngineTarget } from '../types.js';
import { lineSplitter } from './tool-output.js';

export interface ToolRun {
  argv: readonly string[];
  exitCode: number;
  timedOut: boolean;
  /** Stopped by SIGINT/SIGTERM (the container was stopped and removed). */
  interrupted?: boolean;
  stdout: string;
  stderr: string;
}

export interface ToolRunOptions {
  /** `apply` streams output to the target's log and uses the target's container name. */
  purpose: 'apply' | 'status';
  timeoutMs: number;
  /** Variables the tool needs besides DATABASE_URL (e.g. SQITCH_TARGET). */
  env?: Record<string, string>;
  /** Aborting stops the container; nothing starts once it is aborted. */
  signal?: AbortSignal | undefined;
}

const STATUS_OUTPUT_CHARS = 4 * 1024 * 1024;
const STATUS_TIMEOUT_MS = 120_000;

export function imageOf(target: EngineTarget): string {
  if ('missing' in target.image) throw new MigrationError(`${target.database}: engine ${target.migrations.engine} needs the app image: ${target.image.missing}`);
  return target.image.ref;
}

export async function runTool(target: EngineTarget, argv: readonly string[], options: ToolRunOptions): Promise<ToolRun> {
  const image = imageOf(target);
  options.signal?.throwIfAborted();
  const host = await target.host();
  const ops = await host.dockerOps();
  if (target.pullImage !== false) {
    await ops.pullImage(image, target.registryAuth); // sent only if the image is on registry.server (credentialsFor)
  }
  const stream = options.purpose === 'apply';
  const name = stream ? target.containerName : `${target.containerName}-status-${randomBytes(3).toString('hex')}`;
  // A container left by an interrupted earlier run would block the apply name (status names are fresh).
  if (stream) await ops.removeContainer(name, { force: true });
  const out = lineSplitter((line) => target.log(target.scrub(line)));
  const err = lineSplitter((line) => target.log(target.scrub(line)));
  const result = await ops.runOneOff({
    image,
    name,
    cmd: [...argv],
    env: { ...target.appEnv, DATABASE_URL: target.url, STAGECRAFT_DATABASE: target.database, ...options.env },
    labels: {
      'stagecraft.service': target.service,
      'stagecraft.environment': target.environment,
      'stagecraft.role': 'migrate',
    },
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    ...(stream ? { onStdout: out.write, onStderr: err.write } : {}),
    ...(stream ? {} : { tailChars: STATUS_OUTPUT_CHARS }),
  });
  out.flush();
  err.flush();
  return {
    argv,
    exitCode: result.exitCode,
    timedOut: result.timedOut,
    ...(result.interrupted ? { interrupted: true } : {}),
    stdout: target.scrub(result.stdoutTail),
    stderr: target.scrub(result.stderrTail),
  };
}

export function runStatusTool(target: EngineTarget, argv: readonly string[], env?: Record<string, string>, signal?: AbortSignal): Promise<ToolRun> {
  return runTool(target, argv, { purpose: 'status', timeoutMs: STATUS_TIMEOUT_MS, signal, ...(env ? { env } : {}) });
}
