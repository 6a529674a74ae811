/**
 * The session's side of the shared release history (src/releases/shared-history.ts): merge the
 * primary host's records into the local file, and append each record this command writes. Neither
 * ever fails a command: a host that cannot be read or written leaves a warning, and the local
 * file stays the record of what this machine did.
 */
import { appendHostHistory, hostHistoryPath, readHostHistory } from '../releases/host-history.js';
import type { Release } from '../releases/record.js';
import type { ReleaseStore } from '../releases/store.js';
import { withSession } from './session.js';
import type { Session } from './session.js';

export type Warn = (line: string) => void;

function message(session: Session, error: unknown): string {
  return session.scrub(error instanceof Error ? error.message : String(error));
}

/** Merges the primary's shared history into `store`; says what it added. */
export async function mergeHostHistory(session: Session, store: ReleaseStore, warn: Warn): Promise<void> {
  const service = session.loaded.config.service;
  let history;
  try {
    history = await readHostHistory(await session.host(session.primary), service);
  } catch (error) {
    warn(`${session.primary}: could not read the shared release history ${hostHistoryPath(service)}: ${message(session, error)}; deciding on the local records only`);
    return;
  }
  for (const skipped of history.skipped) warn(`${session.primary}: ${hostHistoryPath(service)} line ${skipped.line} skipped: ${skipped.reason}`);
  const merged = await store.merge(history.releases);
  if (merged.added.length > 0) warn(`merged ${merged.added.length} release(s) from ${session.primary}:${hostHistoryPath(service)}: ${merged.added.join(', ')}`);
}

/** Appends the record as it is now to the primary's shared history. */
export async function shareRelease(session: Session, release: Release, warn: Warn): Promise<void> {
  const service = session.loaded.config.service;
  try {
    await appendHostHistory(await session.host(session.primary), service, release);
  } catch (error) {
    warn(`${session.primary}: could not append release ${release.id} to ${hostHistoryPath(service)}: ${message(session, error)}`);
  }
}

/** For commands that decide on a release before (or without) a deploy session: one short session to the primary. */
export async function mergeHostHistoryOf(loaded: Session['loaded'], store: ReleaseStore, warn: Warn): Promise<void> {
  await withSession(loaded, {}, (session) => mergeHostHistory(session, store, warn));
}
