/** Checks a deploy makes before its migrate phases. */
import { DirtyError, DriftError } from './errors.js';
import { engineFor } from './registry.js';
import type { EngineTarget } from './types.js';

/** Throws DirtyError or DriftError when a raw database is dirty or an applied migration changed (read-only; other engines are checked when they run). */
export async function refuseDrift(target: EngineTarget): Promise<void> {
  if (target.migrations.engine !== 'raw') return;
  const state = await engineFor('raw').plan(target);
  const dirty = state.migrations.filter((m) => m.dirty);
  if (dirty.length > 0) throw new DirtyError(target.environment, target.database, dirty.map((m) => m.id));
  const drifted = state.migrations.filter((m) => m.state === 'drifted');
  if (drifted.length > 0) throw new DriftError(target.database, drifted.map((m) => m.file ?? m.id));
}
