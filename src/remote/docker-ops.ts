/**
 * Container operations on one host's engine, on top of dockerode. Shared by SSH and local hosts;
 * every failure becomes a DockerOperationError naming the host and what was being done.
 */
import { posix } from 'node:path';
import { Writable } from 'node:stream';
import type Dockerode from 'dockerode';
import { credentialsFor, digestOf, splitImageRef } from '../plan/image-ref.js';
import { DockerOperationError, HostError } from './errors.js';
import type { HostErrorOptions } from './errors.js';
import { OutputTail } from './output-tail.js';
import { singleFileTar } from './tar.js';
import { demuxFrames } from './demux.js';


export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

export interface OneOffSpec {
  image: string;
  /** Container name; must not exist yet. */
  name: string;
  cmd?: string[];
  entrypoint?: string[];
  /** Passed through the API as-is: values arrive in the container byte for byte. */
  env?: Record<string, string>;
  labels?: Record<string, string>;
  network?: string;
  /** Bind mounts, `/host/dir:/container/dir[:ro]`. */
  binds?: string[];
  workingDir?: string;
  user?: string;
  timeoutMs: number;
  /** Seconds between SIGTERM and SIGKILL when the time limit is reached (default 5). */
  stopGraceS?: number;
  /** Keep the container after it exits (default: removed). */
  keep?: boolean;
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /** How much of each stream the result keeps (characters, default 64 KiB). */
  tailChars?: number;
  /** Aborting stops the container as the time limit does (the result says `interrupted`). */
  signal?: AbortSignal | undefined;
}

export interface OneOffResult {
  exitCode: number;
  timedOut: boolean;
  /** Stopped because `signal` was aborted. */
  interrupted?: boolean;
  stdoutTail: string;
  stderrTail: string;
  containerId: string;
}

export interface ContainerExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** A command streamed to the caller: `app exec`'s one-off container or docker exec. */
export interface StreamedCommandSpec {
  cmd: string[];
  /** Attached to the command's stdin; its end closes the command's stdin. */
  stdin?: NodeJS.ReadableStream | undefined;
  /** A TTY for the command: output comes raw on onStdout (one stream). */
  tty?: boolean;
  ttySize?: { columns: number; rows: number } | undefined;
  onStdout: (chunk: string) => void;
  onStderr: (chunk: string) => void;
  /** Aborting stops a one-off container (SIGTERM, then SIGKILL) or detaches from an exec. */
  signal?: AbortSignal | undefined;
}

export interface CommandContainerSpec extends StreamedCommandSpec {
  image: string;
  /** Container name; must not exist yet. */
  name: string;
  /** Passed through the API as-is, never on a command line. */
  env?: Record<string, string>;
  labels?: Record<string, string>;
  network?: string;
  /** Seconds between SIGTERM and SIGKILL when the signal aborts (default 5). */
  stopGraceS?: number;
}

export interface StreamedCommandResult {
  /** The command's exit code (126/127 when it could not be started, as Docker reports it). */
  exitCode: number;
  /** The engine's reason when the command could not be started (not found, not executable). */
  notStarted?: string;
  /** Ended by the signal. */
  interrupted?: boolean;
}

export interface LogsOptions {
  /** The last N lines. */
  tail: number;
  /** Unix seconds. */
  since?: number | undefined;
}

export interface DockerOpsContext {
  /** Host name for messages. */
  name: string;
  exitCode?: HostErrorOptions['exitCode'];
  /** When the transport itself failed (SSH connection lost), that error explains more than "socket hang up". */
  transportFailure?: () => Error | undefined;
}

interface EngineError {
  statusCode?: number;
  json?: unknown;
  message?: string;
}

/** The engine's own message ("No such container: x") rather than docker-modem's wrapper text. */
export function engineMessage(error: unknown): string {
  const e = (error ?? {}) as EngineError;
  const json = e.json;
  if (json && typeof json === 'object' && !Buffer.isBuffer(json) && typeof (json as { message?: unknown }).message === 'string') {
    return (json as { message: string }).message.trim();
  }
  if (typeof json === 'string' && json.trim() !== '') return json.trim();
  if (Buffer.isBuffer(json) && json.length > 0) return json.toString('utf8').trim();
  return (e.message ?? String(error)).trim();
}

function statusOf(error: unknown): number | undefined {
  const code = (error as EngineError | undefined)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

function labelFilters(labels: Record<string, string>): string[] {
  return Object.entries(labels).map(([key, value]) => `${key}=${value}`);
}

function sinkInto(tail: OutputTail): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      tail.write(chunk);
      callback();
    },
  });
}

const DEFAULT_TAIL_CHARS = 64 * 1024;

export class DockerOps {
  readonly docker: Dockerode;
  private readonly context: DockerOpsContext;

  private readonly pulled = new Set<string>();

  constructor(docker: Dockerode, context: DockerOpsContext) {
    this.docker = docker;
    this.context = context;
  }

  /**
   * Pulls an image, reading the progress stream to its end so errors inside it are not missed.
   * A digest-pinned image already on the host is content-addressed and cannot have changed, so
   * it costs one inspect instead of a registry round trip; and within one command (one DockerOps
   * per host) a reference is pulled at most once, so migrations and rollout share the pull.
   * `registryAuth` is registry.server's login: it is sent only when `ref` is on that registry
   * (credentialsFor), whoever calls, so it never reaches another registry.
   */
  async pullImage(ref: string, registryAuth?: RegistryAuth): Promise<void> {
    if (this.pulled.has(ref)) return;
    const auth = credentialsFor(ref, registryAuth);
    if (digestOf(ref) && (await this.inspectImage(ref))) {
      this.pulled.add(ref);
      return;
    }
    const { repository, tag } = splitImageRef(ref);
    const hint = 'check registry.username and registry.password, and that the image was pushed';
    // Credentials go in the X-Registry-Auth header only (never the query string).
    const stream = await this.call(
      `pulling ${ref}`,
      () => (auth ? this.docker.createImage(auth, { fromImage: repository, tag }) : this.docker.createImage({ fromImage: repository, tag })),
      (message) => (/unauthorized|authentication required|denied/i.test(message) ? hint : undefined),
    );
    const failure = await readProgressStream(stream);
    if (failure !== undefined) {
      throw new DockerOperationError(this.context.name, 'pull', `pulling ${ref} failed: ${failure}`, undefined, {
        exitCode: this.context.exitCode,
        hint: /unauthorized|authentication required|denied/i.test(failure) ? hint : undefined,
      });
    }
    this.pulled.add(ref);
  }

  async inspectImage(ref: string): Promise<Dockerode.ImageInspectInfo | undefined> {
    return this.callAllowingMissing(`inspecting image ${ref}`, () => this.docker.getImage(ref).inspect());
  }

  /**
   * Runs a container to completion and returns its exit code and the tail of its output.
   * Past `timeoutMs` the container is stopped through the API and `timedOut` is true.
   * The container is removed afterwards unless `keep` is set.
   */
  async runOneOff(spec: OneOffSpec): Promise<OneOffResult> {
    const container = await this.call(`creating container ${spec.name} from ${spec.image}`, () =>
      this.docker.createContainer({
        name: spec.name,
        Image: spec.image,
        Cmd: spec.cmd,
        Entrypoint: spec.entrypoint,
        Env: Object.entries(spec.env ?? {}).map(([key, value]) => `${key}=${value}`),
        Labels: spec.labels,
        WorkingDir: spec.workingDir,
        User: spec.user,
        Tty: false,
        OpenStdin: false,
        AttachStdout: true,
        AttachStderr: true,
        HostConfig: { NetworkMode: spec.network, AutoRemove: false, ...(spec.binds?.length ? { Binds: spec.binds } : {}) },
      }),
    );
    let primaryError: unknown;
    try {
      return await this.attachStartAndWait(container, spec);
    } catch (error) {
      primaryError = error;
      throw error;
    } finally {
      if (!spec.keep) {
        await this.removeContainer(container.id, { force: true }).catch((error: unknown) => {
          if (primaryError === undefined) throw error;
        });
      }
    }
  }

  private async attachStartAndWait(container: Dockerode.Container, spec: OneOffSpec): Promise<OneOffResult> {
    const tailChars = spec.tailChars ?? DEFAULT_TAIL_CHARS;
    const stdout = new OutputTail(tailChars, spec.onStdout);
    const stderr = new OutputTail(tailChars, spec.onStderr);
    const stream = await this.call(`attaching to ${spec.name}`, () =>
      container.attach({ stream: true, stdout: true, stderr: true }),
    );
    const streamEnded = new Promise<void>((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', () => resolve());
    });
    this.docker.modem.demuxStream(stream, sinkInto(stdout), sinkInto(stderr));

    try {
      await this.call(`starting ${spec.name} (${spec.image})`, () => container.start());
    } catch (error) {
      (stream as unknown as { destroy?: () => void }).destroy?.();
      throw error;
    }

    let timedOut = false;
    let interrupted = false;
    let stopped: Promise<void> | undefined;
    const stop = () => {
      stopped ??= this.stopContainer(container.id, spec.stopGraceS ?? 5).catch(async () => {
        await container.kill().catch(() => undefined);
      });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, spec.timeoutMs);
    const onAbort = () => {
      interrupted = true;
      stop();
    };
    spec.signal?.addEventListener('abort', onAbort, { once: true });
    if (spec.signal?.aborted) onAbort();
    let waited: { StatusCode?: number };
    try {
      await streamEnded;
      // The attach stream ends when the container's output closes, i.e. when it exits;
      // wait() then returns at once with the exit status. The timer stays armed until then.
      waited = await this.call(`waiting for ${spec.name}`, () => container.wait());
    } finally {
      clearTimeout(timer);
      spec.signal?.removeEventListener('abort', onAbort);
    }
    if (stopped) await stopped;
    stdout.end();
    stderr.end();
    return {
      exitCode: typeof waited.StatusCode === 'number' ? waited.StatusCode : -1,
      timedOut,
      ...(interrupted ? { interrupted } : {}),
      stdoutTail: stdout.value,
      stderrTail: stderr.value,
      containerId: container.id,
    };
  }

  /** Creates a container (not started) and returns its id. */
  async createContainer(options: Dockerode.ContainerCreateOptions): Promise<string> {
    const container = await this.call(`creating container ${options.name ?? ''} from ${options.Image ?? ''}`.replace(/ +/g, ' '), () =>
      this.docker.createContainer(options),
    );
    return container.id;
  }

  async startContainer(nameOrId: string): Promise<void> {
    await this.call(`starting container ${nameOrId}`, async () => {
      try {
        await this.docker.getContainer(nameOrId).start();
      } catch (error) {
        if (statusOf(error) !== 304) throw error; // already running
      }
    });
  }

  /** Stops a container: SIGTERM, then SIGKILL after `timeoutS`. Already stopped is fine. */
  async stopContainer(nameOrId: string, timeoutS: number): Promise<void> {
    await this.call(`stopping container ${nameOrId}`, async () => {
      try {
        await this.docker.getContainer(nameOrId).stop({ t: timeoutS });
      } catch (error) {
        if (statusOf(error) !== 304) throw error;
      }
    });
  }

  /** Removes a container; a missing one is fine. `force` also kills a running one. */
  async removeContainer(nameOrId: string, options: { force?: boolean } = {}): Promise<void> {
    await this.callAllowingMissing(`removing container ${nameOrId}`, () =>
      this.docker.getContainer(nameOrId).remove({ force: options.force ?? false, v: true }),
    );
  }

  async inspectContainer(nameOrId: string): Promise<Dockerode.ContainerInspectInfo | undefined> {
    return this.callAllowingMissing(`inspecting container ${nameOrId}`, () => this.docker.getContainer(nameOrId).inspect());
  }

  /** Containers (running or not, unless `all: false`) carrying every given label. */
  async listContainers(options: { labels?: Record<string, string>; all?: boolean } = {}): Promise<Dockerode.ContainerInfo[]> {
    return this.call('listing containers', () =>
      this.docker.listContainers({ all: options.all ?? true, filters: { label: labelFilters(options.labels ?? {}) } }),
    );
  }

  /** Every tagged image on the host (no intermediate layers). */
  async listImages(): Promise<Dockerode.ImageInfo[]> {
    return this.call('listing images', () => this.docker.listImages({ all: false }));
  }

  /**
   * Removes one reference of an image (`repo:tag` or `repo@sha256:…`), never forced: the image goes
   * with its last reference, and one a container still uses stays (the engine refuses). A missing
   * reference is fine.
   */
  async removeImageRef(ref: string): Promise<void> {
    await this.callAllowingMissing(`removing image ${ref}`, () => this.docker.getImage(ref).remove({ force: false, noprune: false }));
  }

  /** Creates a bridge network unless one with exactly this name exists; returns its id. */
  async ensureNetwork(name: string, labels: Record<string, string> = {}): Promise<string> {
    const find = async (): Promise<string | undefined> => {
      const networks = await this.call(`listing networks`, () => this.docker.listNetworks({ filters: { name: [name] } }));
      return networks.find((network) => network.Name === name)?.Id;
    };
    const existing = await find();
    if (existing) return existing;
    try {
      const created = await this.docker.createNetwork({ Name: name, Driver: 'bridge', CheckDuplicate: true, Labels: labels });
      return created.id;
    } catch (error) {
      // Another process may have created it between our look and our create.
      const raced = statusOf(error) === 409 ? await find() : undefined;
      if (raced) return raced;
      throw this.wrap(`creating network ${name}`, error);
    }
  }

  /** Writes one file into a container (running or not) through the API, like `docker cp`. */
  async putFile(nameOrId: string, path: string, content: string | Buffer, mode: number): Promise<void> {
    if (!posix.isAbsolute(path)) throw new RangeError(`container path must be absolute: ${path}`);
    const archive = await singleFileTar(posix.basename(path), Buffer.isBuffer(content) ? content : Buffer.from(content), { mode });
    await this.call(`copying ${path} into ${nameOrId}`, () =>
      this.docker.getContainer(nameOrId).putArchive(archive, { path: posix.dirname(path) }),
    );
  }

  /**
   * The tar archive of a path in a container (running or not), like `docker cp` out of it;
   * undefined when the path does not exist there.
   */
  async readArchive(nameOrId: string, path: string): Promise<NodeJS.ReadableStream | undefined> {
    if (!posix.isAbsolute(path)) throw new RangeError(`container path must be absolute: ${path}`);
    return this.callAllowingMissing(`reading ${path} from ${nameOrId}`, () => this.docker.getContainer(nameOrId).getArchive({ path }));
  }

  /** Runs a command inside a running container (like `docker exec`) and collects its output. */
  async execInContainer(nameOrId: string, cmd: string[], options: { timeoutMs?: number } = {}): Promise<ContainerExecResult> {
    const container = this.docker.getContainer(nameOrId);
    const what = `running ${cmd[0] ?? ''} in ${nameOrId}`;
    const exec = await this.call(what, () => container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, Tty: false }));
    const stream = await this.call(what, () => exec.start({ hijack: false, stdin: false, Detach: false, Tty: false }));
    const stdout = new OutputTail(DEFAULT_TAIL_CHARS);
    const stderr = new OutputTail(DEFAULT_TAIL_CHARS);
    this.docker.modem.demuxStream(stream, sinkInto(stdout), sinkInto(stderr));
    let timer: NodeJS.Timeout | undefined;
    const ended = new Promise<'ended' | 'timeout'>((resolve) => {
      stream.once('end', () => resolve('ended'));
      stream.once('close', () => resolve('ended'));
      stream.once('error', () => resolve('ended'));
      if (options.timeoutMs !== undefined) timer = setTimeout(() => resolve('timeout'), options.timeoutMs);
    });
    const outcome = await ended;
    clearTimeout(timer);
    if (outcome === 'timeout') {
      (stream as unknown as { destroy?: () => void }).destroy?.();
      throw new DockerOperationError(this.context.name, 'exec', `${what} timed out after ${options.timeoutMs} ms`, undefined, {
        exitCode: this.context.exitCode,
      });
    }
    const info = await this.call(what, () => exec.inspect());
    stdout.end();
    stderr.end();
    return { exitCode: info.ExitCode ?? -1, stdout: stdout.value, stderr: stderr.value };
  }

  async inspectVolume(name: string): Promise<Dockerode.VolumeInspectInfo | undefined> {
    return this.callAllowingMissing(`inspecting volume ${name}`, () => this.docker.getVolume(name).inspect());
  }

  /** Creates a named volume (local driver) with labels; an existing one is left as it is. */
  async createVolume(name: string, labels: Record<string, string>): Promise<void> {
    await this.call(`creating volume ${name}`, () => this.docker.createVolume({ Name: name, Labels: labels }));
  }

  /** Removes a named volume; a missing one is fine; one a container uses is refused by the engine. */
  async removeVolume(name: string): Promise<void> {
    await this.callAllowingMissing(`removing volume ${name}`, () => this.docker.getVolume(name).remove());
  }

  /**
   * `docker run --rm` with the output streamed to the caller: creates the container, attaches
   * (stdin too when given), starts it, and returns the command's exit code once it exited. A
   * command that cannot start (not found, not executable) is not an error here: its exit code
   * is Docker's (127/126) with the engine's reason. The container is removed afterwards, also
   * when the signal stopped it.
   */
  async runCommandContainer(spec: CommandContainerSpec): Promise<StreamedCommandResult> {
    const withStdin = spec.stdin !== undefined;
    const container = await this.call(`creating container ${spec.name} from ${spec.image}`, () =>
      this.docker.createContainer({
        name: spec.name,
        Image: spec.image,
        Cmd: spec.cmd,
        Env: Object.entries(spec.env ?? {}).map(([key, value]) => `${key}=${value}`),
        Labels: spec.labels,
        Tty: spec.tty === true,
        OpenStdin: withStdin,
        StdinOnce: withStdin,
        AttachStdin: withStdin,
        AttachStdout: true,
        AttachStderr: true,
        HostConfig: { NetworkMode: spec.network, AutoRemove: false },
      }),
    );
    try {
      return await this.streamContainer(container, spec);
    } finally {
      await this.removeContainer(container.id, { force: true }).catch(() => undefined);
    }
  }

  private async streamContainer(container: Dockerode.Container, spec: CommandContainerSpec): Promise<StreamedCommandResult> {
    const withStdin = spec.stdin !== undefined;
    const stream = (await this.call(`attaching to ${spec.name}`, () =>
      container.attach({ stream: true, stdout: true, stderr: true, stdin: withStdin, hijack: withStdin }),
    )) as NodeJS.ReadWriteStream;
    const ended = this.routeOutput(stream, spec);
    try {
      await container.start();
    } catch (error) {
      (stream as unknown as { destroy?: () => void }).destroy?.();
      const state = (await this.inspectContainer(container.id).catch(() => undefined))?.State;
      // The engine records the would-be exit code of a command it could not start (127 not found, 126 not executable).
      if (state && typeof state.ExitCode === 'number' && state.ExitCode !== 0) return { exitCode: state.ExitCode, notStarted: engineMessage(error) };
      throw this.wrap(`starting ${spec.name} (${spec.image})`, error);
    }
    if (spec.tty && spec.ttySize) await container.resize({ h: spec.ttySize.rows, w: spec.ttySize.columns }).catch(() => undefined);
    if (spec.stdin) spec.stdin.pipe(stream);
    let interrupted = false;
    const onAbort = () => {
      interrupted = true;
      void this.stopContainer(container.id, spec.stopGraceS ?? 5).catch(() => container.kill().catch(() => undefined));
    };
    spec.signal?.addEventListener('abort', onAbort, { once: true });
    if (spec.signal?.aborted) onAbort();
    try {
      await ended;
      const waited = await this.call(`waiting for ${spec.name}`, () => container.wait());
      return { exitCode: typeof waited.StatusCode === 'number' ? waited.StatusCode : -1, ...(interrupted ? { interrupted } : {}) };
    } finally {
      spec.signal?.removeEventListener('abort', onAbort);
      if (spec.stdin) spec.stdin.unpipe(stream);
    }
  }

  /**
   * `docker exec` in a running container with the output streamed to the caller (stdin too when
   * given). Docker has no API to stop an exec: the signal only detaches from it.
   */
  async execStreaming(nameOrId: string, spec: StreamedCommandSpec): Promise<StreamedCommandResult> {
    const withStdin = spec.stdin !== undefined;
    const what = `running ${spec.cmd[0] ?? ''} in ${nameOrId}`;
    const exec = await this.call(what, () =>
      this.docker.getContainer(nameOrId).exec({ Cmd: spec.cmd, AttachStdin: withStdin, AttachStdout: true, AttachStderr: true, Tty: spec.tty === true }),
    );
    const stream = (await this.call(what, () => exec.start({ hijack: withStdin, stdin: withStdin, Detach: false, Tty: spec.tty === true }))) as NodeJS.ReadWriteStream;
    const ended = this.routeOutput(stream, spec);
    if (spec.tty && spec.ttySize) await exec.resize({ h: spec.ttySize.rows, w: spec.ttySize.columns }).catch(() => undefined);
    if (spec.stdin) spec.stdin.pipe(stream);
    let interrupted = false;
    const onAbort = () => {
      interrupted = true;
      (stream as unknown as { destroy?: () => void }).destroy?.();
    };
    spec.signal?.addEventListener('abort', onAbort, { once: true });
    if (spec.signal?.aborted) onAbort();
    try {
      await ended;
    } finally {
      spec.signal?.removeEventListener('abort', onAbort);
      if (spec.stdin) spec.stdin.unpipe(stream);
    }
    if (interrupted) return { exitCode: 130, interrupted };
    const info = await this.call(what, () => exec.inspect());
    return { exitCode: info.ExitCode ?? -1 };
  }

  /** A container's last `tail` lines (since `since`), each led by its timestamp, split by stream. */
  async readLogs(nameOrId: string, options: LogsOptions): Promise<{ stdout: string; stderr: string }> {
    const buffer = await this.call(`reading the logs of ${nameOrId}`, () =>
      this.docker.getContainer(nameOrId).logs({
        stdout: true,
        stderr: true,
        timestamps: true,
        tail: options.tail,
        follow: false,
        ...(options.since !== undefined ? { since: options.since } : {}),
      }),
    );
    const { stdout, stderr } = demuxFrames(Buffer.isBuffer(buffer) ? buffer : Buffer.from(String(buffer)));
    return { stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8') };
  }

  /**
   * Follows a container's logs (its last `tail` lines first, each led by its timestamp) until
   * the container stops or the signal aborts.
   */
  async followLogs(nameOrId: string, options: LogsOptions & { onStdout: (chunk: string) => void; onStderr: (chunk: string) => void; signal?: AbortSignal | undefined }): Promise<void> {
    const stream = await this.call(`following the logs of ${nameOrId}`, () =>
      this.docker.getContainer(nameOrId).logs({
        stdout: true,
        stderr: true,
        timestamps: true,
        tail: options.tail,
        follow: true,
        ...(options.since !== undefined ? { since: options.since } : {}),
      }),
    );
    const ended = this.routeOutput(stream, options);
    const onAbort = () => (stream as unknown as { destroy?: () => void }).destroy?.();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    try {
      await ended;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Decodes an attach/exec/logs stream (multiplexed, or raw for a TTY) into the callbacks; resolves at its end. */
  private routeOutput(stream: NodeJS.ReadableStream, sinks: { tty?: boolean; onStdout: (chunk: string) => void; onStderr: (chunk: string) => void }): Promise<void> {
    const stdout = new OutputTail(0, sinks.onStdout);
    const stderr = new OutputTail(0, sinks.onStderr);
    const ended = new Promise<void>((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', () => resolve());
    });
    if (sinks.tty) stream.on('data', (chunk: Buffer) => stdout.write(chunk));
    else this.docker.modem.demuxStream(stream, sinkInto(stdout), sinkInto(stderr));
    return ended.then(() => {
      stdout.end();
      stderr.end();
    });
  }

  private async call<T>(what: string, fn: () => Promise<T>, hintFor?: (message: string) => string | undefined): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw this.wrap(what, error, hintFor);
    }
  }

  private async callAllowingMissing<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw this.wrap(what, error);
    }
  }

  private wrap(what: string, error: unknown, hintFor?: (message: string) => string | undefined): HostError {
    if (error instanceof HostError) return error;
    const transport = this.context.transportFailure?.();
    if (transport instanceof HostError) return transport;
    const message = engineMessage(error);
    const operation = what.split(' ')[0] ?? what;
    return new DockerOperationError(this.context.name, operation, `${what} failed: ${message}`, statusOf(error), {
      exitCode: this.context.exitCode,
      hint: hintFor?.(message),
      cause: error,
    });
  }
}

/** Reads a pull/push progress stream to its end; returns the first error it reports, if any. */
async function readProgressStream(stream: NodeJS.ReadableStream): Promise<string | undefined> {
  let buffered = '';
  let failure: string | undefined;
  const consider = (line: string): void => {
    const trimmed = line.trim();
    if (trimmed === '' || failure !== undefined) return;
    try {
      const event = JSON.parse(trimmed) as { error?: string; errorDetail?: { message?: string } };
      if (event.error || event.errorDetail?.message) failure = event.errorDetail?.message ?? event.error;
    } catch {
      // progress lines are JSON; anything else carries no status
    }
  };
  try {
    for await (const chunk of stream) {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      lines.forEach(consider);
    }
  } catch (error) {
    return failure ?? engineMessage(error);
  }
  consider(buffered);
  return failure;
}
