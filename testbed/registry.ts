import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import bcrypt from 'bcryptjs';
import { stringify } from 'yaml';
import { binary } from './exec.js';
import type { TestbedLayout } from './layout.js';
import { NETWORK, REGISTRY_USER } from './layout.js';
import { ownProcess, readPidFile, spawnDetached, stopProcess, waitUntil } from './processes.js';
import type { TestbedSecrets } from './state.js';

export const REGISTRY_SERVER = `${NETWORK.gatewayAddress}:${NETWORK.registryPort}`;

/**
 * bcryptjs writes `$2a$`; for an ASCII password `$2a$`, `$2b$` and `$2y$` hashes are the same
 * computation, and `$2y$` is what htpasswd tools write, so relabel it.
 */
function htpasswdLine(user: string, password: string): string {
  return `${user}:${bcrypt.hashSync(password, 10).replace(/^\$2a\$/, '$2y$')}\n`;
}

/** Keeps the existing line when it still matches the password (bcrypt is slow on purpose). */
function ensureHtpasswd(layout: TestbedLayout, password: string): void {
  if (existsSync(layout.registryHtpasswd)) {
    const [user, hash] = readFileSync(layout.registryHtpasswd, 'utf8').trim().split(':');
    if (user === REGISTRY_USER && hash && bcrypt.compareSync(password, hash.replace(/^\$2y\$/, '$2a$'))) return;
  }
  writeFileSync(layout.registryHtpasswd, htpasswdLine(REGISTRY_USER, password), { mode: 0o600 });
}

function registryConfig(layout: TestbedLayout, secrets: TestbedSecrets): string {
  return stringify({
    version: 0.1,
    log: { level: 'info', formatter: 'text' },
    storage: {
      filesystem: { rootdirectory: layout.registryData },
      delete: { enabled: true },
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: { addr: REGISTRY_SERVER, secret: secrets.registry_http_secret, headers: { 'X-Content-Type-Options': ['nosniff'] } },
    auth: { htpasswd: { realm: 'stagecraft-testbed', path: layout.registryHtpasswd } },
  });
}

export function registryPid(layout: TestbedLayout): number | undefined {
  return ownProcess(readPidFile(layout.registryPidFile), layout.registryConfig);
}

/** The registry answers 401 on /v2/ without credentials: up, with auth enforced. */
export async function registryAnswers(): Promise<boolean> {
  try {
    const response = await fetch(`http://${REGISTRY_SERVER}/v2/`, { signal: AbortSignal.timeout(2_000) });
    return response.status === 401;
  } catch {
    return false;
  }
}

export async function ensureRegistry(layout: TestbedLayout, secrets: TestbedSecrets): Promise<{ pid: number; detail: string }> {
  mkdirSync(layout.registryData, { recursive: true });
  ensureHtpasswd(layout, secrets.registry_password);
  const config = registryConfig(layout, secrets);
  const current = existsSync(layout.registryConfig) ? readFileSync(layout.registryConfig, 'utf8') : '';
  const running = registryPid(layout);
  if (running !== undefined && current === config) {
    await waitUntil(registryAnswers, { what: 'registry', timeoutMs: 10_000, pid: running, logFile: layout.registryLog });
    return { pid: running, detail: 'already up' };
  }
  if (running !== undefined) await stopProcess(running, 5_000);
  writeFileSync(layout.registryConfig, config, { mode: 0o600 });
  const pid = spawnDetached(binary('docker-registry'), ['serve', layout.registryConfig], layout.registryLog);
  writeFileSync(layout.registryPidFile, `${pid}\n`);
  await waitUntil(registryAnswers, { what: `registry (log: ${layout.registryLog})`, timeoutMs: 15_000, pid, logFile: layout.registryLog });
  return { pid, detail: `started pid ${pid}` };
}

export async function stopRegistry(layout: TestbedLayout): Promise<void> {
  const pid = registryPid(layout);
  if (pid !== undefined) await stopProcess(pid, 5_000);
}
