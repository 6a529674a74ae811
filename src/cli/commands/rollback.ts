import { recordedImageRef } from '../../plan/image-ref.js';
import type { CommonOptions } from '../context.js';
import { createReporter, durationOption, loadForCommand, storeFileFor } from '../context.js';
import { planDeploy } from '../../plan/plan-deploy.js';
import { formatPlan } from '../../plan/format-plan.js';
import { runPipeline } from '../../apply/pipeline.js';
import { schemaChangesInDatabases } from '../../apply/rollback-schema.js';
import type { Session } from '../../apply/session.js';
import { withSession } from '../../apply/session.js';
import { mergeHostHistoryOf } from '../../apply/release-history.js';
import { redactText } from '../../config/redact.js';
import { ReleaseStore, unknownReleaseError } from '../../releases/store.js';
import { RefusedError, UserError } from '../../errors.js';
import { describeSchemaChanges, schemaChangesSince } from '../../releases/schema-since.js';
import type { SchemaChange } from '../../releases/schema-since.js';
import type { Release } from '../../releases/record.js';
import { confirmEnvironment } from '../confirm.js';
import { printOutcome } from '../outcome.js';

export interface RollbackOptions extends CommonOptions {
  to: string;
  dryRun: boolean;
  json: boolean;
  lockWait?: string;
  yes: boolean;
  /** Roll back past destructive or incompatible migrations. */
  force: boolean;
}

export function resolveRollbackTarget(releases: readonly Release[], environment: string, to: string): Release {
  if (to === 'previous') {
    const completed = releases.filter((r) => r.environment === environment && r.status === 'completed');
    const target = completed[1];
    if (!target) {
      throw new UserError(`no previous completed release of ${environment} to roll back to (${completed.length} completed so far)`);
    }
    return target;
  }
  const target = releases.find((r) => r.id === to);
  if (!target) throw unknownReleaseError(to, releases);
  if (target.environment !== environment) {
    throw new UserError(`release ${to} belongs to environment "${target.environment}", not "${environment}"`, {
      hint: `roll back ${target.environment} with --env ${target.environment}`,
    });
  }
  if (target.status !== 'completed') {
    throw new UserError(`release ${to} is ${target.status}, not completed: only a release that served traffic can be rolled back to`);
  }
  return target;
}

function schemaCheckText(target: Release, changes: readonly SchemaChange[], force: boolean): string {
  if (changes.length === 0) return `schema check: no destructive or incompatible migration was applied after ${target.id}`;
  const lines = describeSchemaChanges(changes).map((line) => `  ${line}`);
  return [`schema check: since ${target.id} (${target.version}) was deployed:`, ...lines, force ? '  --force: rolling back anyway' : '  a rollback refuses (exit 2) unless --force'].join('\n');
}

function schemaRefusal(target: Release, changes: readonly SchemaChange[]): RefusedError {
  return new RefusedError(
    `cannot roll back to ${target.id} (${target.version}): since it was deployed, ${describeSchemaChanges(changes).join('; ')}; ${target.version}'s image may read what is gone; nothing was changed`,
    { hint: 'roll forward with a fix instead, or pass --force if that version does not use what changed' },
  );
}

/**
 * The databases' part of the check for a dry run: read-only, no deploy lock; a database or host it
 * cannot reach leaves the dry run standing with a note (the real rollback reads them again).
 */
async function databasesPartForDryRun(loaded: Awaited<ReturnType<typeof loadForCommand>>, target: Release): Promise<{ changes: SchemaChange[] } | { unread: string }> {
  try {
    return { changes: await withSession(loaded, {}, (session) => schemaChangesInDatabases(session, loaded, target.finished_at ?? target.started_at)) };
  } catch (error) {
    return { unread: redactText(error instanceof Error ? error.message : String(error), loaded.secretValues) };
  }
}

export async function runRollback(options: RollbackOptions): Promise<void> {
  const loaded = await loadForCommand(options);
  const lockWaitMs = durationOption('--lock-wait', options.lockWait);
  const storeFile = storeFileFor(options);
  const store = new ReleaseStore(storeFile);
  await store.list(); // a corrupt store stops us before any host is touched
  await mergeHostHistoryOf(loaded, store, (line) => process.stderr.write(`${line}\n`));
  const releases = await store.list();
  const target = resolveRollbackTarget(releases, loaded.environment, options.to);
  const plan = planDeploy(loaded.config, {
    environment: loaded.environment,
    version: target.version,
    commit: target.commit,
    // The recorded digest: the bytes are exactly what ran before.
    rollback: { of: target.id, image: recordedImageRef(target.image) },
  });
  const changes = schemaChangesSince(releases, target);
  if (options.dryRun) {
    const databases = options.force ? undefined : await databasesPartForDryRun(loaded, target);
    const all = [...changes, ...(databases && 'changes' in databases ? databases.changes : [])];
    const check = {
      schema_changes_since: all,
      databases: databases === undefined ? 'not checked (--force)' : 'changes' in databases ? 'read' : `not read: ${databases.unread}`,
      refused: all.length > 0 && !options.force,
    };
    const databasesLine = databases && 'unread' in databases ? `\n  databases not read (${databases.unread}): migrations applied by \`migrate run\` are checked again at the rollback` : '';
    process.stdout.write(options.json ? `${JSON.stringify({ ...plan, schema_check: check }, null, 2)}\n` : `${formatPlan(plan)}\n\n${schemaCheckText(target, all, options.force)}${databasesLine}\n`);
    return;
  }
  if (changes.length > 0 && !options.force) throw schemaRefusal(target, changes);
  await confirmEnvironment(loaded, `roll ${plan.environment} back to ${target.id} (${target.version})`, options.yes);
  const reporter = await createReporter(loaded, { verbose: options.verbose === true, json: options.json, hosts: plan.hosts });
  // `migrate run` records no release: its migrations are read from the databases themselves.
  const preflight = options.force
    ? undefined
    : async (session: Session) => {
        const applied = await schemaChangesInDatabases(session, loaded, target.finished_at ?? target.started_at);
        if (applied.length > 0) throw schemaRefusal(target, applied);
      };
  const result = await runPipeline({ loaded, plan, storeFile, reporter, lockWaitMs, preflight }).finally(() => reporter.close());
  printOutcome(result, options.json);
}
