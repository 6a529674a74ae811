/**
 * The one recorder of migration runs: turns the executor's results into the release record's
 * entries, and appends container engines' runs to `stagecraft_migration_history` so
 * `migrate history` covers every engine.
 *
 * The raw engine's own rows are written while it applies, inside each file's transaction (see
 * raw/tracking.ts): a tracking row written afterwards could say "applied" for a file whose
 * transaction rolled back, or miss one that committed just before a crash.
 */
import type { MigrationRecord, MigrationStepRecord } from '../../releases/record.js';
import { closeClient, connectDatabase } from '../database/connect.js';
import { appendHistory, ensureHistoryTable } from '../raw/tracking.js';
import type { RunBy } from '../raw/tracking.js';
import type { EngineTarget, MigrationOutcome } from '../types.js';
import type { DatabaseRun } from './execute.js';
import type { MigrationStep } from './migration-plan.js';

function stepRecord(outcome: MigrationOutcome, planned: MigrationStep | undefined): MigrationStepRecord {
  return {
    id: outcome.id,
    outcome: outcome.outcome,
    ...(outcome.duration_ms !== undefined ? { duration_ms: Math.round(outcome.duration_ms) } : {}),
    ...(planned?.description !== undefined ? { description: planned.description } : {}),
    ...(planned?.affects_tables !== undefined ? { affects_tables: planned.affects_tables } : {}),
    ...(planned?.risk_level ? { risk_level: planned.risk_level } : {}),
    ...(planned?.estimated_duration !== undefined ? { estimated_duration: planned.estimated_duration } : {}),
    ...riskOf(planned),
    ...(planned?.accepted?.length ? { accepted: planned.accepted.map(({ rule, line, reason }) => ({ rule, line, reason })) } : {}),
  };
}

/** Every rule the lint found in the step (accepted or not), once each, for the rollback check. */
function riskOf(planned: MigrationStep | undefined): Pick<MigrationStepRecord, 'risk'> {
  const all = [...(planned?.findings ?? []), ...(planned?.accepted ?? [])];
  const unique = new Map(all.map((finding) => [`${finding.rule}/${finding.class}`, { rule: finding.rule, class: finding.class }]));
  return unique.size > 0 ? { risk: [...unique.values()] } : {};
}

/** Pure: a deploy's entry in the release for one database's run. */
export function releaseMigrationRecord(run: DatabaseRun, scrub: (text: string) => string): MigrationRecord {
  const planned = new Map((run.plan.steps ?? []).map((step) => [step.id, step]));
  const { outcome } = run;
  return {
    database: run.plan.database,
    engine: run.plan.engine,
    strategy: run.plan.strategy,
    status: outcome.status,
    applied: outcome.migrations.filter((m) => m.outcome === 'applied').map((m) => m.id),
    ...(outcome.migrations.length > 0 ? { steps: outcome.migrations.map((m) => stepRecord(m, planned.get(m.id))) } : {}),
    duration_ms: run.duration_ms,
    log_tail: run.log_tail,
    ...(outcome.error !== undefined ? { error: scrub(outcome.error) } : {}),
  };
}

/** Pure: the history events of a container engine's run, from the ids the tool applied (status before and after). */
export function toolHistoryEvents(run: DatabaseRun): { migration_id: string; event: 'completed' | 'failed'; duration_ms: number | null; error: string | null }[] {
  const { outcome } = run;
  const single = outcome.migrations.filter((m) => m.outcome !== 'skipped').length === 1;
  const events = outcome.migrations
    .filter((m) => m.outcome !== 'skipped')
    .map((m) => ({
      migration_id: m.id,
      event: m.outcome === 'applied' ? ('completed' as const) : ('failed' as const),
      // The tool reports no per-migration time: a run that applied one migration took the run's time.
      duration_ms: m.duration_ms ?? (single ? run.duration_ms : null),
      error: m.outcome === 'failed' ? (m.error ?? outcome.error ?? null) : null,
    }));
  if (events.length === 0 && outcome.status === 'failed') {
    events.push({ migration_id: `(${run.plan.engine} run)`, event: 'failed', duration_ms: run.duration_ms, error: outcome.error ?? null });
  }
  return events;
}

/**
 * Appends a container engine's run to the database's history. The tool's own table stays the
 * truth for what is applied; a database stagecraft cannot reach (a URL only containers resolve)
 * loses the history entry, never the run: the returned warning says so.
 */
export async function recordToolRun(target: EngineTarget, run: DatabaseRun): Promise<string | undefined> {
  if (target.migrations.engine === 'raw') return undefined;
  const events = toolHistoryEvents(run);
  if (events.length === 0) return undefined;
  const by: RunBy = { executedBy: target.actor, environment: target.environment, releaseId: target.releaseId };
  let client;
  try {
    client = await connectDatabase({
      database: target.database,
      url: target.url,
      via: await target.host(),
      applicationName: `stagecraft migrate history (${target.actor})`.slice(0, 63),
      scrub: target.scrub,
    });
    await ensureHistoryTable(client);
    for (const event of events) await appendHistory(client, event.migration_id, event.event, by, event.duration_ms, event.error === null ? null : target.scrub(event.error));
    return undefined;
  } catch (error) {
    return `${target.database}: the run was not added to stagecraft_migration_history: ${target.scrub(error instanceof Error ? error.message : String(error))}`;
  } finally {
    await closeClient(client);
  }
}
