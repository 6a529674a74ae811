import type { CommonOptions } from '../context.js';
import { durationOption, loadForCommand } from '../context.js';
import { describeHolder, type DeployLock, type LockFileContent } from '../../lock/deploy-lock.js';
import { withSession, type Session } from '../../apply/session.js';
import { UserError } from '../../errors.js';

export interface LockOptions extends CommonOptions {
  json: boolean;
  message?: string;
  lockWait?: string;
}

async function withLock<T>(options: LockOptions, fn: (lock: DeployLock, session: Session) => Promise<T>): Promise<T> {
  const loaded = await loadForCommand(options);
  return withSession(loaded, {}, async (session) => fn(await session.deployLock(), session));
}

function asJson(found: LockFileContent): Record<string, unknown> {
  return {
    locked: found.state !== 'free',
    holder: found.state === 'held' ? found.holder : null,
    ...(found.state === 'corrupt' ? { corrupt: found.reason } : {}),
  };
}

/** Taking and releasing the deploy lock by hand changes the primary host: its audit log says who did. */
async function auditLock(session: Session, command: string, detail: string): Promise<void> {
  for (const failure of await session.audit([session.primary], ['-', command, detail])) {
    process.stderr.write(`warning: ${failure.address}: could not append to ~/.stagecraft/audit.log: ${failure.error}\n`);
  }
}

export async function runLockStatus(options: LockOptions): Promise<void> {
  await withLock(options, async (lock) => {
    const found = await lock.read();
    if (options.json) process.stdout.write(`${JSON.stringify(asJson(found), null, 2)}\n`);
    else if (found.state === 'held') process.stdout.write(`${lock.label}: locked, ${describeHolder(found.holder)}\n`);
    else if (found.state === 'free') process.stdout.write(`${lock.label}: not locked\n`);
    // Deploys refuse while it is there, but nobody holds it: something to look at (exit 1).
    if (found.state === 'corrupt') throw lock.corruptError(found.reason, false);
  });
}

export async function runLockAcquire(options: LockOptions): Promise<void> {
  if (!options.message) throw new UserError('lock acquire needs a message saying why (-m "db maintenance")');
  const waitMs = durationOption('--lock-wait', options.lockWait);
  await withLock(options, async (lock, session) => {
    const held = await session.holdDeployLock({ command: 'manual lock', message: options.message, waitMs });
    await auditLock(session, 'lock acquire', options.message!);
    process.stdout.write(options.json ? `${JSON.stringify(held, null, 2)}\n` : `${lock.label}: locked by ${held.actor}\n`);
  });
}

export async function runLockRelease(options: LockOptions): Promise<void> {
  await withLock(options, async (lock, session) => {
    const found = await lock.release();
    await auditLock(session, 'lock release', found.state === 'held' ? `was ${describeHolder(found.holder)}` : found.state === 'corrupt' ? 'the lock file was corrupt' : 'was not locked');
    if (found.state === 'corrupt') {
      process.stderr.write(`warning: removed a corrupt deploy lock file ${lock.location}: ${found.reason}\n`);
    }
    const text =
      found.state === 'held' ? `${lock.label}: released (was ${describeHolder(found.holder)})` : found.state === 'corrupt' ? `${lock.label}: released (the lock file was corrupt)` : `${lock.label}: was not locked`;
    process.stdout.write(options.json ? `${JSON.stringify({ released: found.state !== 'free', holder: asJson(found).holder, ...(found.state === 'corrupt' ? { corrupt: found.reason } : {}) }, null, 2)}\n` : `${text}\n`);
  });
}
