/** What both host kinds share: the Docker operations, built on each one's `docker()`. */
import type { Duplex } from 'node:stream';
import type Dockerode from 'dockerode';
import { DockerOps } from './docker-ops.js';
import type { HostErrorOptions } from './errors.js';
import type { ExecOptions, ExecResult, Host, UploadOptions } from './host.js';

export abstract class HostBase implements Host {
  abstract readonly name: string;
  abstract readonly kind: 'ssh' | 'local';
  abstract readonly errorExitCode: HostErrorOptions['exitCode'];
  private opsPromise: Promise<DockerOps> | undefined;

  abstract exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  abstract docker(): Promise<Dockerode>;
  abstract openTcp(address: string, port: number): Promise<Duplex>;
  abstract uploadFile(path: string, content: string | Buffer, mode: number, options?: UploadOptions): Promise<void>;
  abstract readFile(path: string): Promise<Buffer | undefined>;
  abstract removeFile(path: string): Promise<void>;
  abstract mkdirp(path: string, mode?: number): Promise<void>;
  abstract close(): Promise<void>;

  /** Why the transport is gone, if it is (lets Docker errors say "connection lost" instead of "socket hang up"). */
  protected transportFailure(): Error | undefined {
    return undefined;
  }

  async dockerOps(): Promise<DockerOps> {
    this.opsPromise ??= this.docker().then(
      (docker) => new DockerOps(docker, { name: this.name, exitCode: this.errorExitCode, transportFailure: () => this.transportFailure() }),
    );
    // A failed engine check is not cached here: docker() decides whether to retry.
    this.opsPromise.catch(() => {
      this.opsPromise = undefined;
    });
    return this.opsPromise;
  }
}
