import type { CommonOptions } from '../context.js';
import { loadForCommand } from '../context.js';
import { DeployLock, defaultActor, describeHolder } from '../../lock/deploy-lock.js';
import { primaryHost } from '../../plan/plan-deploy.js';
import { HostConnections } from '../../apply/host-connections.js';
import { UserError } from '../../errors.js';

export interface LockOptions extends CommonOptions {
  json: boolean;
  message?: string;
}

async function withLock<T>(options: LockOptions, fn: (lock: DeployLock) => Promise<T>): Promise<T> {
  const loaded = await loadForCommand(options);
  const connections = new HostConnections(loaded);
  try {
    const host = await connections.get(primaryHost(loaded.config));
    return await fn(new DeployLock(host, loaded.config.service, loaded.environment));
  } finally {
    await connections.closeAll();
  }
}

export async function runLockStatus(options: LockOptions): Promise<void> {
  await withLock(options, async (lock) => {
    const holder = await lock.status();
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ locked: holder !== undefined, holder: holder ?? null }, null, 2)}\n`);
    } else {
      process.stdout.write(holder ? `${lock.label}: locked, ${describeHolder(holder)}\n` : `${lock.label}: not locked\n`);
    }
  });
}

export async function runLockAcquire(options: LockOptions): Promise<void> {
  if (!options.message) throw new UserError('lock acquire needs a message saying why (-m "db maintenance")');
  await withLock(options, async (lock) => {
    const held = await lock.acquire({ actor: defaultActor(), command: 'manual lock', message: options.message });
    process.stdout.write(options.json ? `${JSON.stringify(held, null, 2)}\n` : `${lock.label}: locked by ${held.actor}\n`);
  });
}

export async function runLockRelease(options: LockOptions): Promise<void> {
  await withLock(options, async (lock) => {
    const holder = await lock.status();
    await lock.release();
    const text = holder ? `${lock.label}: released (was ${describeHolder(holder)})` : `${lock.label}: was not locked`;
    process.stdout.write(options.json ? `${JSON.stringify({ released: holder !== undefined, holder: holder ?? null }, null, 2)}\n` : `${text}\n`);
  });
}
