/**
 * Reads each database's state with its engine (read-only), for the planners. One database at a
 * time: each uses a channel on the primary host's one SSH connection.
 */
import { ExitCode, StagecraftError } from '../../errors.js';
import { engineFor } from '../registry.js';
import type { DatabaseState, EngineTarget } from '../types.js';
import { targetKey, unreadable } from '../types.js';

export interface ReadState {
  state: DatabaseState;
  /** Reading failed (database unreachable, tool broke): `migrate plan` exits 4 after printing. */
  read_error?: true;
}

/** Keyed by `targetKey` (the database, or `main/tenant_a`). */
export async function readStates(targets: readonly EngineTarget[]): Promise<Map<string, ReadState>> {
  const states = new Map<string, ReadState>();
  for (const target of targets) {
    try {
      states.set(targetKey(target), { state: await engineFor(target.migrations.engine).plan(target) });
    } catch (error) {
      // One unreachable database must not hide the others. The user's own files being wrong (a
      // migration that is a directory, a bad name…) is no state to report: that stops with exit 1.
      if (!(error instanceof StagecraftError) || error.exitCode === ExitCode.user) throw error;
      states.set(targetKey(target), { state: unreadable(target.scrub(error.message)), read_error: true });
    }
  }
  return states;
}
