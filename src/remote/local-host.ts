/**
 * The machine stagecraft runs on (`address: local`): the local Docker socket (or DOCKER_HOST),
 * commands through execa with argv arrays, files through node:fs.
 */
import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import Docker from 'dockerode';
import type Dockerode from 'dockerode';
import { execa } from 'execa';
import { ExitCode } from '../errors.js';
import { DockerEngineError, HostCommandError, HostError, HostFileExistsError } from './errors.js';
import type { HostErrorOptions } from './errors.js';
import { HostBase } from './host-base.js';
import { formatMode, signalExitCode } from './host.js';
import type { ExecOptions, ExecResult, UploadOptions } from './host.js';
import { OutputTail } from './output-tail.js';

export const LOCAL_HOST_NAME = 'local';

export interface LocalHostOptions {
  errorExitCode?: HostErrorOptions['exitCode'];
}

function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

export class LocalHost extends HostBase {
  readonly kind = 'local' as const;
  readonly name = LOCAL_HOST_NAME;
  readonly errorExitCode: HostErrorOptions['exitCode'];
  private dockerPromise: Promise<Dockerode> | undefined;

  constructor(options: LocalHostOptions = {}) {
    super();
    this.errorExitCode = options.errorExitCode ?? ExitCode.rollout;
  }

  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const [file, ...args] = argv;
    if (file === undefined) throw new TypeError('cannot run an empty command');
    const subprocess = execa(file, args, {
      ...(options.stdin === undefined ? { stdin: 'ignore' as const } : { input: options.stdin }),
      timeout: options.timeoutMs,
      reject: false,
      stripFinalNewline: false,
      // Same as over SSH: relative paths and `$HOME` mean the user's home directory.
      cwd: homedir(),
    });
    const stdoutText = options.onStdout ? new OutputTail(0, options.onStdout) : undefined;
    const stderrText = options.onStderr ? new OutputTail(0, options.onStderr) : undefined;
    subprocess.stdout?.on('data', (chunk: Buffer) => stdoutText?.write(chunk));
    subprocess.stderr?.on('data', (chunk: Buffer) => stderrText?.write(chunk));
    const result = await subprocess;
    stdoutText?.end();
    stderrText?.end();
    const stdout = typeof result.stdout === 'string' ? result.stdout : '';
    const stderr = typeof result.stderr === 'string' ? result.stderr : '';
    if (result.timedOut) {
      throw new HostCommandError(this.name, `${file} timed out after ${(options.timeoutMs ?? 0) / 1000}s`, { stderr }, { exitCode: this.errorExitCode });
    }
    if (typeof result.exitCode === 'number') return { exitCode: result.exitCode, stdout, stderr };
    if (result.signal) return { exitCode: signalExitCode(result.signal), stdout, stderr };
    // Could not start at all (ENOENT, EACCES): report it the way a shell on a remote host would.
    const code = errnoCode(result.cause);
    return { exitCode: code === 'ENOENT' ? 127 : 126, stdout, stderr: stderr || `${file}: ${result.shortMessage}\n` };
  }

  async docker(): Promise<Dockerode> {
    this.dockerPromise ??= this.connectDocker();
    this.dockerPromise.catch(() => {
      this.dockerPromise = undefined;
    });
    return this.dockerPromise;
  }

  private async connectDocker(): Promise<Dockerode> {
    const docker = new Docker();
    try {
      await docker.version();
    } catch (error) {
      const where = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
      throw new DockerEngineError(this.name, `Docker engine not reachable at ${where}: ${(error as Error).message}`, {
        exitCode: this.errorExitCode,
        hint: 'is dockerd running? Set DOCKER_HOST to use another engine',
        cause: error,
      });
    }
    return docker;
  }

  async openTcp(address: string, port: number): Promise<Socket> {
    return new Promise((resolvePromise, reject) => {
      const socket = connect({ host: address, port });
      socket.once('connect', () => resolvePromise(socket));
      socket.once('error', (error) =>
        reject(new HostError(this.name, `cannot open a TCP connection to ${address}:${port}: ${error.message}`, { exitCode: this.errorExitCode })),
      );
    });
  }

  private resolvePath(path: string): string {
    return isAbsolute(path) ? path : resolve(homedir(), path);
  }

  async uploadFile(path: string, content: string | Buffer, mode: number, options: UploadOptions = {}): Promise<void> {
    const target = this.resolvePath(path);
    const temp = join(dirname(target), `.stagecraft-upload.${basename(target)}.${randomBytes(6).toString('hex')}`);
    try {
      await mkdir(dirname(target), { recursive: true, mode: 0o700 });
      await writeFile(temp, content, { mode: 0o600, flag: 'wx' });
      await chmod(temp, mode & 0o7777);
      if (options.exclusive) {
        try {
          await link(temp, target);
        } catch (error) {
          if (errnoCode(error) === 'EEXIST') throw new HostFileExistsError(this.name, path, { exitCode: this.errorExitCode });
          throw error;
        }
      } else {
        await rename(temp, target);
      }
      const actual = (await stat(target)).mode & 0o7777;
      if (actual !== (mode & 0o7777)) {
        throw new HostError(this.name, `${path} has mode ${formatMode(actual)} after upload, expected ${formatMode(mode)}`, {
          exitCode: this.errorExitCode,
        });
      }
    } catch (error) {
      if (error instanceof HostError) throw error;
      throw new HostError(this.name, `writing ${path} failed: ${(error as Error).message}`, { exitCode: this.errorExitCode, cause: error });
    } finally {
      await rm(temp, { force: true });
    }
  }

  async readFile(path: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.resolvePath(path));
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return undefined;
      throw new HostError(this.name, `reading ${path} failed: ${(error as Error).message}`, { exitCode: this.errorExitCode, cause: error });
    }
  }

  async removeFile(path: string): Promise<void> {
    try {
      await rm(this.resolvePath(path), { force: true });
    } catch (error) {
      throw new HostError(this.name, `removing ${path} failed: ${(error as Error).message}`, { exitCode: this.errorExitCode, cause: error });
    }
  }

  async mkdirp(path: string, mode?: number): Promise<void> {
    const target = this.resolvePath(path);
    try {
      await mkdir(target, { recursive: true });
      if (mode !== undefined) await chmod(target, mode & 0o7777);
    } catch (error) {
      throw new HostError(this.name, `creating ${path} failed: ${(error as Error).message}`, { exitCode: this.errorExitCode, cause: error });
    }
  }

  async close(): Promise<void> {
    // Nothing to close: dockerode's local socket connections are per request.
  }
}
