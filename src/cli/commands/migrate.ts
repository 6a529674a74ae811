/** `stagecraft migrate plan|run|rollback|validate|new`: migrations outside a deploy. */
import type { LoadedConfig } from '../../config/index.js';
import { MIGRATION_STRATEGIES, loadConfig, parseDuration } from '../../config/index.js';
import { ExitCode, StagecraftError, UserError } from '../../errors.js';
import { quoteValue } from '../../user-text.js';
import { withSession as openSession, type Session } from '../../apply/session.js';
import { imageRef } from '../../plan/plan-deploy.js';
import { recordedImageRef } from '../../plan/image-ref.js';
import { ReleaseStore } from '../../releases/store.js';
import { closestMatch } from '../../config/suggest.js';
import { MigrationError } from '../../migrate/errors.js';
import { DEFAULT_MIGRATION_LOCK_TIMEOUT } from '../../migrate/engine-commands.js';
import { formatMigratePlan } from '../../migrate/format-plan.js';
import { assemblePlan, readDatabasePlans } from '../../migrate/plan.js';
import type { MigratePlan } from '../../migrate/plan.js';
import { engineFor } from '../../migrate/registry.js';
import { engineTargets } from '../../migrate/target.js';
import type { EngineTarget, RunOutcome } from '../../migrate/types.js';
import type { RollbackSelection } from '../../migrate/graph/rollback-set.js';
import { validateRawMigrations } from '../../migrate/validate.js';
import { readRawHistory, readRawStatus, resolveRaw } from '../../migrate/engines/raw.js';
import { databaseStatus, formatHistory, formatStatus } from '../../migrate/status.js';
import type { DatabaseStatus } from '../../migrate/status.js';
import { createRawMigration } from '../../migrate/new/create.js';
import { firstEnvironment } from '../../migrate/new/config-environment.js';
import { confirmEnvironment } from '../confirm.js';
import type { CommonOptions } from '../context.js';
import { durationOption, loadForCommand, storeFileFor } from '../context.js';

export interface MigratePlanOptions extends CommonOptions {
  database?: string;
  json: boolean;
  image?: string;
  version?: string;
}

export interface MigrateRunOptions extends CommonOptions {
  database?: string;
  strategy?: string;
  to?: string;
  dryRun: boolean;
  yes: boolean;
  json: boolean;
  image?: string;
  version?: string;
  lockTimeout?: string;
  lockWait?: string;
}

export interface MigrateRollbackOptions extends CommonOptions {
  database: string;
  steps?: string;
  to?: string;
  ids?: string[];
  cascade?: boolean;
  dryRun?: boolean;
  yes: boolean;
  json: boolean;
  lockTimeout?: string;
  lockWait?: string;
}

export interface MigrateStatusOptions extends CommonOptions {
  database?: string;
  json: boolean;
  image?: string;
  version?: string;
}

export interface MigrateHistoryOptions extends CommonOptions {
  database?: string;
  limit?: string;
  json: boolean;
}

export interface MigrateResolveOptions extends CommonOptions {
  database: string;
  applied: boolean;
  rolledBack: boolean;
  yes: boolean;
  json: boolean;
  lockTimeout?: string;
  lockWait?: string;
}

export interface MigrateValidateOptions extends CommonOptions {
  database?: string;
  json: boolean;
}

/** The databases a command acts on: all, one (`--database`), or those with one strategy. */
export function selectDatabases(loaded: LoadedConfig, database?: string, strategy?: string): string[] {
  const all = Object.keys(loaded.config.databases);
  if (all.length === 0) throw new UserError(`${loaded.file} configures no databases for ${loaded.environment}`);
  if (strategy !== undefined && !(MIGRATION_STRATEGIES as readonly string[]).includes(strategy)) {
    throw new UserError(`--strategy ${strategy}: expected one of ${MIGRATION_STRATEGIES.join(', ')}`);
  }
  let selected = all;
  if (database !== undefined) {
    if (!all.includes(database)) {
      const match = closestMatch(database, all);
      throw new UserError(`unknown database ${quoteValue(database)}${match ? ` (did you mean "${match}"?)` : ''} — databases: ${all.join(', ')}`);
    }
    selected = [database];
  }
  if (strategy !== undefined) {
    selected = selected.filter((name) => loaded.config.databases[name]?.migrations.strategy === strategy);
    if (selected.length === 0) {
      throw new UserError(database ? `database ${database} does not have strategy ${strategy}` : `no database has strategy ${strategy}`);
    }
  }
  return selected;
}

interface ImageChoice {
  image: EngineTarget['image'];
  shown: string | null;
  note?: string;
  version?: string;
}

/** The app image container engines run in: --image, --version, or the current release's. */
async function chooseImage(loaded: LoadedConfig, options: { image?: string; version?: string; config?: string }): Promise<ImageChoice> {
  if (options.image !== undefined && options.version !== undefined) throw new UserError('pass --image or --version, not both');
  if (options.image !== undefined) return { image: { ref: options.image }, shown: options.image };
  if (options.version !== undefined) {
    const ref = imageRef(loaded.config, options.version);
    return { image: { ref }, shown: ref, version: options.version };
  }
  const current = await new ReleaseStore(storeFileFor(options)).current(loaded.environment);
  if (!current) {
    const missing = `no completed release of ${loaded.environment} yet: pass --image REF or --version V`;
    return { image: { missing }, shown: null, note: `no image: ${missing}` };
  }
  const ref = recordedImageRef(current.image);
  return { image: { ref }, shown: ref, note: `image of the current release ${current.id} (version ${current.version})`, version: current.version };
}

const NO_IMAGE: ImageChoice = { image: { missing: 'not needed' }, shown: null };

/** Only container engines need an image: raw databases alone never read the release store. */
async function imageFor(loaded: LoadedConfig, databases: readonly string[], options: { image?: string; version?: string; config?: string }): Promise<ImageChoice> {
  const needed = databases.some((name) => loaded.config.databases[name]?.migrations.engine !== 'raw');
  return needed ? chooseImage(loaded, options) : NO_IMAGE;
}

function runContainerName(service: string, database: string): string {
  return `${service}-migrate-${database}-${Date.now().toString(36)}`;
}

async function withSession<T>(options: CommonOptions, work: (session: Session) => Promise<T>): Promise<T> {
  return openSession(await loadForCommand(options), { hostExitCode: ExitCode.migration }, work);
}

function targetsFor(session: Session, databases: readonly string[], image: ImageChoice, log: (database: string, line: string) => void): EngineTarget[] {
  return engineTargets(
    {
      loaded: session.loaded,
      actor: session.actor,
      host: () => session.host(session.primary),
      image: image.image,
      containerName: (database) => runContainerName(session.loaded.config.service, database),
      log,
      scrub: session.scrub,
      version: image.version,
    },
    databases,
  );
}

/** Reads every target's state into the plan `migrate plan` and `migrate run --dry-run` print. */
async function readPlan(loaded: LoadedConfig, targets: readonly EngineTarget[], image: ImageChoice): Promise<MigratePlan> {
  const plans = await readDatabasePlans(targets.map((target) => ({ target, strategy: loaded.config.databases[target.database]!.migrations.strategy })));
  return assemblePlan({ service: loaded.config.service, environment: loaded.environment, image: image.shown, image_note: image.note }, plans);
}

export async function runMigratePlan(options: MigratePlanOptions): Promise<void> {
  await withSession(options, async (session) => {
    const { loaded } = session;
    const databases = selectDatabases(loaded, options.database);
    const image = await imageFor(loaded, databases, options);
    const verbose = options.verbose === true;
    const targets = targetsFor(session, databases, image, (database, line) => {
      if (verbose) process.stderr.write(`[${database}] ${line}\n`);
    });
    const plan = await readPlan(loaded, targets, image);
    process.stdout.write(options.json ? `${JSON.stringify(plan, null, 2)}\n` : `${formatMigratePlan(plan)}\n`);
    const failed = plan.databases.filter((database) => database.read_error);
    if (failed.length > 0) throw new MigrationError(`could not read the state of ${failed.map((d) => `${d.database} (${d.reason ?? 'unknown error'})`).join('; ')}`);
  });
}

function lockTimeoutFor(loaded: LoadedConfig, database: string, cli: string | undefined): number {
  if (cli !== undefined) return durationOption('--lock-timeout', cli);
  return parseDuration(loaded.config.databases[database]!.migrations.lock_timeout ?? DEFAULT_MIGRATION_LOCK_TIMEOUT);
}

function summary(database: string, outcome: RunOutcome): string {
  const applied = outcome.migrations.filter((m) => m.outcome === 'applied').map((m) => m.id);
  const failed = outcome.migrations.find((m) => m.outcome === 'failed');
  const skipped = outcome.migrations.filter((m) => m.outcome === 'skipped').length;
  const parts = [`${database}: ${outcome.status}`, applied.length ? `${applied.length} applied (${applied.join(', ')})` : 'nothing applied'];
  if (failed) parts.push(`failed ${failed.id}`);
  if (skipped) parts.push(`${skipped} not run`);
  return parts.join('; ');
}

interface DatabaseRun {
  database: string;
  engine: string;
  outcome: RunOutcome;
}

function describeRun({ database, outcome }: DatabaseRun, done = 'applied'): string {
  const applied = outcome.migrations.filter((m) => m.outcome === 'applied').map((m) => m.id);
  const stopped = outcome.migrations.find((m) => m.outcome === 'failed');
  const skipped = outcome.migrations.filter((m) => m.outcome === 'skipped').map((m) => m.id);
  const parts = [applied.length ? `${done} ${applied.join(', ')}` : `nothing ${done}`];
  if (stopped) parts.push(`${stopped.error ?? `${stopped.id} stopped`}`);
  else if (outcome.status === 'failed' && outcome.error) parts.push(outcome.error);
  if (skipped.length) parts.push(`not run: ${skipped.join(', ')}`);
  return `${database}: ${parts.join('; ')}`;
}

/** Exit 130 saying, per database, what was applied, what was stopped, and what never ran. */
function interruptedError(signal: AbortSignal, runs: readonly DatabaseRun[], notStarted: readonly string[], again: string, done = 'applied'): StagecraftError {
  const reason = signal.reason instanceof Error ? signal.reason.message : 'interrupted';
  const parts = [...runs.map((run) => describeRun(run, done)), ...(notStarted.length ? [`not started: ${notStarted.join(', ')}`] : [])];
  return new StagecraftError(`${reason}: ${parts.join(' | ') || 'nothing was started'}`, ExitCode.interrupted, {
    hint: `the deploy lock was released; what was ${done} stays ${done}. Run \`${again}\` again for the rest (\`stagecraft migrate plan\` shows the state)`,
  });
}

async function auditOnPrimary(session: Session, version: string | undefined, command: string, runs: readonly DatabaseRun[], out: NodeJS.WritableStream, done = 'applied'): Promise<void> {
  const detail = [session.interrupted ? 'interrupted' : '', ...runs.map((run) => describeRun(run, done))].filter(Boolean).join(' | ');
  for (const failure of await session.audit([session.primary], [version ?? '-', command, detail || 'nothing run'])) {
    out.write(`warning: ${failure.address}: could not append to ~/.stagecraft/audit.log: ${failure.error}\n`);
  }
}

export async function runMigrateRun(options: MigrateRunOptions): Promise<void> {
  await withSession(options, async (session) => {
    const { loaded } = session;
    const databases = selectDatabases(loaded, options.database, options.strategy);
    if (options.to !== undefined && databases.length !== 1) throw new UserError('--to needs one database: add --database NAME');
    const image = await imageFor(loaded, databases, options);
    const out = options.json ? process.stderr : process.stdout;
    const targets = targetsFor(session, databases, image, (database, line) => out.write(`[${database}] ${line}\n`));

    if (options.dryRun) {
      const plan = await readPlan(loaded, targets, image);
      if (options.json) process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
      else {
        for (const database of plan.databases) {
          const runs = database.blocked ?? (database.readable ? (database.would_run.length ? `would apply ${database.would_run.join(', ')}` : 'nothing to apply') : `status unknown: ${database.reason}`);
          process.stdout.write(`${database.database} [${database.engine}]: ${runs}\n`);
        }
        process.stdout.write('dry run: no lock was taken and nothing was changed.\n');
      }
      return;
    }

    await confirmEnvironment(loaded, `migrate ${databases.join(', ')} on ${loaded.environment}`, options.yes);
    const lockRequest = { command: 'migrate run', version: image.version, waitMs: durationOption('--lock-wait', options.lockWait) };
    const results = await session.underDeployLock(lockRequest, async (signal) => {
      const done: DatabaseRun[] = [];
      for (const target of targets) {
        if (signal.aborted) break;
        const settings = loaded.config.databases[target.database]!.migrations;
        let outcome: RunOutcome;
        try {
          outcome = await engineFor(settings.engine).run(target, {
            to: options.to,
            timeoutMs: parseDuration(settings.timeout),
            lockTimeoutMs: lockTimeoutFor(loaded, target.database, options.lockTimeout),
            signal,
          });
        } catch (error) {
          if (!signal.aborted) throw error;
          break; // interrupted before it applied anything (e.g. waiting for the migration lock)
        }
        for (const note of outcome.notes) out.write(`[${target.database}] note: ${note}\n`);
        done.push({ database: target.database, engine: settings.engine, outcome });
        out.write(`${summary(target.database, outcome)}\n`);
        if (outcome.status === 'failed') break;
      }
      await auditOnPrimary(session, image.version, 'migrate run', done, out);
      if (signal.aborted) {
        const notStarted = targets.slice(done.length).map((target) => target.database);
        throw interruptedError(signal, done, notStarted, 'stagecraft migrate run');
      }
      return done;
    });
    if (options.json) process.stdout.write(`${JSON.stringify({ environment: loaded.environment, databases: results.map((r) => ({ database: r.database, engine: r.engine, ...r.outcome })) }, null, 2)}\n`);
    const failed = results.find((result) => result.outcome.status === 'failed');
    if (failed) {
      throw new MigrationError(`${failed.database}: ${failed.outcome.error ?? 'migration failed'}`, {
        hint: 'earlier migrations stay applied; fix the failing one and run `stagecraft migrate run` again',
      });
    }
  });
}

/** `--steps N`, `--to ID` or named ids: one of them (default: the newest one). */
function rollbackSelection(options: MigrateRollbackOptions): { selection: RollbackSelection; describe: string } {
  const ids = options.ids ?? [];
  const given = [options.steps !== undefined, options.to !== undefined, ids.length > 0].filter(Boolean).length;
  if (given > 1) throw new UserError('give one of --steps N, --to ID or migration ids, not several');
  if (options.to !== undefined) return { selection: { to: options.to }, describe: `every migration after ${options.to}` };
  if (ids.length > 0) return { selection: { ids }, describe: ids.join(', ') };
  const steps = options.steps === undefined ? 1 : Number(options.steps);
  if (!Number.isInteger(steps) || steps < 1) throw new UserError(`--steps ${options.steps}: expected a whole number of at least 1`);
  return { selection: { steps }, describe: `${steps} migration(s)` };
}

export async function runMigrateRollback(options: MigrateRollbackOptions): Promise<void> {
  const { selection, describe } = rollbackSelection(options);
  const cascade = options.cascade ?? false;
  await withSession(options, async (session) => {
    const { loaded } = session;
    const [database] = selectDatabases(loaded, options.database);
    const settings = loaded.config.databases[database!]!.migrations;
    const engine = engineFor(settings.engine);
    if (!engine.rollback) {
      throw new UserError(`engine ${settings.engine} does not support \`migrate rollback\` (only raw does); use the tool's own rollback command`);
    }
    const out = options.json ? process.stderr : process.stdout;
    const [target] = targetsFor(session, [database!], NO_IMAGE, (db, line) => out.write(`[${db}] ${line}\n`));
    if (options.dryRun) {
      const preview = await engine.rollback!(target!, { selection, cascade, dryRun: true, timeoutMs: parseDuration(settings.timeout), lockTimeoutMs: 0 });
      const ids = preview.migrations.map((m) => m.id);
      if (options.json) process.stdout.write(`${JSON.stringify({ environment: loaded.environment, database, dry_run: true, would_roll_back: ids, notes: preview.notes }, null, 2)}\n`);
      else out.write(`${database}: would roll back ${ids.length ? ids.join(', ') : 'nothing'}${preview.notes.length ? ` (${preview.notes.join('; ')})` : ''}\n`);
      return;
    }
    await confirmEnvironment(loaded, `roll back ${describe} of ${database} on ${loaded.environment}${cascade ? ' (and what depends on them)' : ''}`, options.yes);
    const lockRequest = { command: 'migrate rollback', waitMs: durationOption('--lock-wait', options.lockWait) };
    const outcome = await session.underDeployLock(lockRequest, async (signal) => {
      const result = await engine.rollback!(target!, { selection, cascade, timeoutMs: parseDuration(settings.timeout), lockTimeoutMs: lockTimeoutFor(loaded, database!, options.lockTimeout), signal });
      const run = { database: database!, engine: settings.engine, outcome: result };
      await auditOnPrimary(session, undefined, 'migrate rollback', [run], out, 'rolled back');
      if (signal.aborted) throw interruptedError(signal, [run], [], 'stagecraft migrate rollback', 'rolled back');
      return result;
    });
    const reverted = outcome.migrations.filter((m) => m.outcome === 'applied').map((m) => m.id);
    if (options.json) process.stdout.write(`${JSON.stringify({ environment: loaded.environment, database, ...outcome }, null, 2)}\n`);
    else out.write(`${database}: ${outcome.status}; ${reverted.length ? `rolled back ${reverted.join(', ')}` : 'nothing rolled back'}\n`);
    if (outcome.status === 'failed') throw new MigrationError(`${database}: ${outcome.error ?? 'rollback failed'}`);
  });
}

export async function runMigrateValidate(options: MigrateValidateOptions): Promise<void> {
  const loaded = await loadForCommand(options);
  const databases = selectDatabases(loaded, options.database);
  const reports = [];
  for (const database of databases) {
    const migrations = loaded.config.databases[database]!.migrations;
    reports.push({ database, engine: migrations.engine, ...(await validateRawMigrations(loaded.dir, migrations, loaded.environment)) });
  }
  if (options.json) process.stdout.write(`${JSON.stringify({ environment: loaded.environment, databases: reports }, null, 2)}\n`);
  else {
    for (const report of reports) {
      if (!report.checked) process.stdout.write(`${report.database} [${report.engine}]: not checked (${report.reason})\n`);
      else if (report.problems.length === 0) process.stdout.write(`${report.database} [raw]: ${report.files} file(s) parse\n`);
      else for (const problem of report.problems) process.stdout.write(`${problem}\n`);
    }
  }
  const problems = reports.reduce((count, report) => count + report.problems.length, 0);
  // Bad names, unreadable entries and SQL that does not parse are the user's files to fix: exit 1
  // (exit 4 is for migrations that fail while running).
  if (problems > 0) throw new UserError(`${problems} problem(s) in migration files`);
}


export interface MigrateNewOptions extends CommonOptions {
  name: string;
  database: string;
  template: string;
  dependsOn?: string;
  /** --env was given on the command line (not only STAGECRAFT_ENV): write into <path>/<env>/. */
  environmentDir: boolean;
}

export async function runMigrateNew(options: MigrateNewOptions): Promise<void> {
  const file = options.config ?? 'stagecraft.yml';
  // Any environment will do to find the database's migrations path when none was chosen.
  const loaded = await loadConfig({ path: file, environment: options.env ?? (await firstEnvironment(file)) });
  selectDatabases(loaded, options.database);
  const result = await createRawMigration({
    configDir: loaded.dir,
    settings: loaded.config.databases[options.database]!.migrations,
    database: options.database,
    name: options.name,
    template: options.template,
    environment: options.environmentDir ? loaded.environment : undefined,
    environments: loaded.environments,
    dependsOn: options.dependsOn?.split(',') ?? [],
  });
  for (const written of result.written) process.stdout.write(`${written}\n`);
}

/** `migrate status`: per database, counts, last execution, migration lock holder. Read-only. */
export async function runMigrateStatus(options: MigrateStatusOptions): Promise<void> {
  await withSession(options, async (session) => {
    const { loaded } = session;
    const databases = selectDatabases(loaded, options.database);
    const image = await imageFor(loaded, databases, options);
    const targets = targetsFor(session, databases, image, (database, line) => {
      if (options.verbose === true) process.stderr.write(`[${database}] ${line}\n`);
    });
    const statuses: DatabaseStatus[] = [];
    const failed: string[] = [];
    for (const target of targets) {
      const engine = target.migrations.engine;
      try {
        if (engine === 'raw') {
          const { state, facts } = await readRawStatus(target);
          statuses.push(databaseStatus(target.database, engine, state, facts));
        } else {
          statuses.push(databaseStatus(target.database, engine, await engineFor(engine).plan(target)));
        }
      } catch (error) {
        if (!(error instanceof StagecraftError) || error.exitCode === ExitCode.user) throw error;
        const reason = target.scrub(error.message);
        failed.push(`${target.database} (${reason})`);
        statuses.push(databaseStatus(target.database, engine, { readable: false, reason, migrations: [], applied_count: 0, pending_known: false, notes: [] }));
      }
    }
    process.stdout.write(options.json ? `${JSON.stringify({ environment: loaded.environment, databases: statuses }, null, 2)}\n` : `${formatStatus(loaded.environment, statuses)}\n`);
    if (failed.length > 0) throw new MigrationError(`could not read the status of ${failed.join('; ')}`);
  });
}

/** `migrate history`: the raw engine's execution events, newest first. Read-only. */
export async function runMigrateHistory(options: MigrateHistoryOptions): Promise<void> {
  const limit = options.limit === undefined ? 50 : Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UserError(`--limit ${options.limit}: expected a whole number of at least 1`);
  await withSession(options, async (session) => {
    const { loaded } = session;
    const databases = selectDatabases(loaded, options.database);
    const targets = targetsFor(session, databases, NO_IMAGE, () => undefined);
    const reports = [];
    for (const target of targets) {
      if (target.migrations.engine !== 'raw') {
        reports.push({ database: target.database, engine: target.migrations.engine, tracked: false, events: null });
        continue;
      }
      reports.push({ database: target.database, engine: 'raw', tracked: true, events: await readRawHistory(target, limit) });
    }
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ environment: loaded.environment, databases: reports }, null, 2)}\n`);
      return;
    }
    const text = reports.map((r) => (r.tracked ? formatHistory(r.database, r.events) : `${r.database} [${r.engine}]: history not tracked (raw engine only)`));
    process.stdout.write(`${text.join('\n\n')}\n`);
  });
}

/** `migrate resolve ID --applied|--rolled-back`: records what the operator found for a dirty migration. */
export async function runMigrateResolve(id: string, options: MigrateResolveOptions): Promise<void> {
  if (options.applied === options.rolledBack) throw new UserError('pass exactly one of --applied or --rolled-back: what you found the migration did');
  const outcome = options.applied ? 'completed' : 'rolled_back';
  await withSession(options, async (session) => {
    const { loaded } = session;
    const [database] = selectDatabases(loaded, options.database);
    const settings = loaded.config.databases[database!]!.migrations;
    if (settings.engine !== 'raw') throw new UserError(`engine ${settings.engine} keeps its own state: \`migrate resolve\` is for the raw engine`);
    const out = options.json ? process.stderr : process.stdout;
    const [target] = targetsFor(session, [database!], NO_IMAGE, (db, line) => out.write(`[${db}] ${line}\n`));
    await confirmEnvironment(loaded, `mark ${id} of ${database} on ${loaded.environment} as ${options.applied ? 'applied' : 'rolled back'}`, options.yes);
    const lockRequest = { command: 'migrate resolve', waitMs: durationOption('--lock-wait', options.lockWait) };
    await session.underDeployLock(lockRequest, async (signal) => {
      await resolveRaw(target!, id, outcome, { lockTimeoutMs: lockTimeoutFor(loaded, database!, options.lockTimeout), signal });
      for (const failure of await session.audit([session.primary], ['-', 'migrate resolve', `${database}: ${id} resolved as ${outcome}`])) {
        out.write(`warning: ${failure.address}: could not append to ~/.stagecraft/audit.log: ${failure.error}\n`);
      }
    });
    if (options.json) process.stdout.write(`${JSON.stringify({ environment: loaded.environment, database, id, status: outcome, resolved_by: session.actor }, null, 2)}\n`);
  });
}
