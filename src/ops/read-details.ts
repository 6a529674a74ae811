/**
 * Reads what `details` shows, in one session and without the deploy lock (read-only): the primary's
 * shared release history merged into the local store first, the current release, the deploy lock,
 * and every host's app containers and proxy.
 */
import type { LoadedConfig } from '../config/index.js';
import { ExitCode } from '../errors.js';
import { mergeHostHistory, type Warn } from '../apply/release-history.js';
import { withSession } from '../apply/session.js';
import type { ReleaseStore } from '../releases/store.js';
import { buildDetails, lockView, type Details, type DetailsLock } from './details.js';
import { appRoles, readHostFacts, scopeOf } from './host-facts.js';
import { readEveryHost } from './read-hosts.js';

export async function readDetails(loaded: LoadedConfig, store: ReleaseStore, warn: Warn): Promise<Details> {
  const scope = scopeOf(loaded);
  return withSession(loaded, { hostExitCode: ExitCode.rollout }, async (session) => {
    await mergeHostHistory(session, store, warn);
    const release = await store.current(loaded.environment);
    let lock: DetailsLock;
    try {
      lock = lockView(await (await session.deployLock()).read());
    } catch (error) {
      lock = lockView({ error: session.scrub(error instanceof Error ? error.message : String(error)) });
    }
    const hosts = await readEveryHost(session, (address, ops) => readHostFacts(address, ops, scope));
    return buildDetails({ service: scope.service, environment: scope.environment, release, lock, hosts, roleOrder: appRoles(loaded.config) });
  });
}
