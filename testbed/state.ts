import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { TestbedError } from './exec.js';

/** One simulated server: its own network namespace, dockerd and sshd. */
export interface TestbedHost {
  name: string;
  /** Address reachable from the operator, from other hosts and from containers. */
  address: string;
  /** sshd port on `address`. */
  port: number;
  /** That host's engine, for processes on the operator machine (ssh sessions get it as DOCKER_HOST). */
  docker_host: string;
  netns: string;
  /** sshd's log (LogLevel INFO: one "Accepted publickey" line per connection). */
  sshd_log: string;
}

/** The contract `.testbed/state.json` offers to tests, benches and tools. */
export interface TestbedState {
  version: 1;
  dir: string;
  hosts: TestbedHost[];
  ssh: { user: string; key: string; known_hosts: string };
  registry: { server: string; username: string; password: string };
  postgres: {
    /** As seen from hosts and their containers. */
    url: string;
    /** As seen from the operator machine. */
    local_url: string;
    /** Superuser, from the operator machine (create/drop scratch databases). */
    admin_url: string;
    host: string;
    port: number;
    user: string;
    password: string;
    database: string;
  };
  images: {
    busybox: string;
    node: string;
    nginx: string;
    /** Real Debian (debootstrap minbase), also tagged `debian:bookworm-slim` on the operator engine. */
    debian: string;
    /** FROM debian: sqitch, libdbd-pg-perl, postgresql-client. */
    sqitch: string;
    /** FROM debian: postgresql-client (pg_dump, psql). */
    pg_client: string;
  };
  pids: {
    operator_dockerd?: number;
    registry: number;
    postgres: number;
    hosts: Record<string, { dockerd: number; sshd: number }>;
  };
  operator_docker_host: string;
  /** True when `up` started the operator's dockerd (then `down` stops it). */
  operator_dockerd_started: boolean;
  updated_at: string;
}

/** Generated once per testbed dir and kept across down/up, so data dirs stay usable. */
export interface TestbedSecrets {
  registry_password: string;
  registry_http_secret: string;
  postgres_password: string;
  postgres_admin_password: string;
  postgres_port?: number;
}

export function readStateFile(stateFile: string): TestbedState | undefined {
  if (!existsSync(stateFile)) return undefined;
  let text: string;
  try {
    text = readFileSync(stateFile, 'utf8');
  } catch (error) {
    throw new TestbedError(`cannot read ${stateFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 'it holds passwords and is readable by root only');
  }
  try {
    return JSON.parse(text) as TestbedState;
  } catch (error) {
    throw new TestbedError(`${stateFile} is not valid JSON: ${(error as Error).message}`);
  }
}

export function writeStateFile(stateFile: string, state: TestbedState): void {
  writePrivateJson(stateFile, state);
}

export function removeStateFile(stateFile: string): void {
  rmSync(stateFile, { force: true });
}

export function loadOrCreateSecrets(secretsFile: string): TestbedSecrets {
  if (existsSync(secretsFile)) {
    return JSON.parse(readFileSync(secretsFile, 'utf8')) as TestbedSecrets;
  }
  const secrets: TestbedSecrets = {
    registry_password: randomSecret(),
    registry_http_secret: randomSecret(),
    postgres_password: randomSecret(),
    postgres_admin_password: randomSecret(),
  };
  writePrivateJson(secretsFile, secrets);
  return secrets;
}

export function saveSecrets(secretsFile: string, secrets: TestbedSecrets): void {
  writePrivateJson(secretsFile, secrets);
}

/** Hex only: safe verbatim in URLs, YAML and SQL string literals. */
function randomSecret(): string {
  return randomBytes(16).toString('hex');
}

function writePrivateJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, path);
}
