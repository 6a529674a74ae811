/**
 * A sqitch database's state from the plan file, the deploy scripts and sqitch's registry
 * (`<registry>.changes`), without running sqitch. A plan entry is applied when its change id is in
 * the registry (sqitch matches deployed changes by id too); it is drifted when the SHA-1 of its
 * deploy script in the image differs from the registry's script_hash (what `sqitch check` reports
 * as "Script signatures diverge").
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { DatabaseState, MigrationEntry } from '../types.js';
import type { SqitchLayout } from './sqitch-conf.js';
import type { SqitchChange, SqitchPlan } from './sqitch-plan.js';
import { resolveDependency, scriptName } from './sqitch-plan.js';

/** One row of `<registry>.changes` of the plan's project. */
export interface SqitchDeployedRow {
  change_id: string;
  change: string;
  script_hash: string | null;
  committed_at: string;
}

/** The deploy script of a change, relative to the directory of sqitch.conf. */
export function deployScript(change: SqitchChange, layout: SqitchLayout, exists: (relative: string) => boolean): string {
  const dir = change.reworkTags.length > 0 ? layout.reworkedDeployDir : layout.deployDir;
  return posix.join(dir, scriptName(change, layout.extension, (file) => exists(posix.join(dir, file))));
}

export function sha1Of(content: Buffer): string {
  return createHash('sha1').update(content).digest('hex');
}

/**
 * `files`: the files under the directory of sqitch.conf in the image (relative, posix). `deployed`:
 * the registry's rows in the order they were deployed, or undefined when the registry has no
 * changes table (never deployed).
 */
export function sqitchPlanState(plan: SqitchPlan, layout: SqitchLayout, files: ReadonlyMap<string, Buffer>, deployed: readonly SqitchDeployedRow[] | undefined): DatabaseState {
  const byId = new Map((deployed ?? []).map((row) => [row.change_id, row]));
  const planned = new Set(plan.changes.map((change) => change.changeId));
  const notes: string[] = [];
  const noScript: string[] = [];
  const migrations = plan.changes.map((change, index): MigrationEntry => {
    const file = deployScript(change, layout, (relative) => files.has(relative));
    const content = files.get(file);
    const row = byId.get(change.changeId);
    const dependsOn = [...new Set(change.requires.flatMap((d) => resolveDependency(plan, d, index) ?? []))];
    const entry: MigrationEntry = {
      id: change.key,
      state: 'pending',
      file,
      ...(content ? { checksum: sha1Of(content) } : {}),
      ...(change.tags.length > 0 ? { tags: change.tags.map((tag) => `@${tag}`) } : {}),
      ...(dependsOn.length > 0 ? { depends_on: dependsOn } : {}),
    };
    if (!content) noScript.push(file);
    if (!row) return entry;
    const applied = { ...entry, state: 'applied' as const, applied_at: new Date(row.committed_at).toISOString() };
    // A row from before sqitch recorded script hashes holds the change id instead: nothing to compare.
    if (!content || row.script_hash === null || row.script_hash === row.change_id || row.script_hash === entry.checksum) return applied;
    return { ...applied, state: 'drifted', error: `${file} changed after it was deployed (its SHA-1 differs from ${layout.registry}.changes.script_hash; sqitch check: script signatures diverge)` };
  });
  const orphans = (deployed ?? []).filter((row) => !planned.has(row.change_id));
  for (const row of orphans) migrations.push({ id: row.change, state: 'applied', missing_file: true, applied_at: new Date(row.committed_at).toISOString() });
  if (deployed === undefined) notes.push(`${layout.registry}.changes does not exist yet: nothing deployed`);
  if (orphans.length > 0) notes.push(`deployed but not in ${layout.planFile}: ${orphans.map((row) => `${row.change} (${row.change_id.slice(0, 7)})`).join(', ')} (sqitch refuses to deploy until the plan has them again)`);
  if (noScript.length > 0) notes.push(`no deploy script in the image: ${noScript.join(', ')}`);
  return {
    readable: true,
    migrations,
    applied_count: migrations.filter((m) => m.state === 'applied' || m.state === 'drifted').length,
    pending_known: true,
    notes,
  };
}
