/** `stagecraft migrate plan|run|rollback|validate|new`: migrations outside a deploy. */
import { mergeHostHistoryOf } from '../../apply/release-history.js';
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
import { backupSpecOf, backupsFor } from '../../migrate/backup.js';
import type { BackupSpec } from '../../migrate/backup.js';
import { DEFAULT_MIGRATION_LOCK_TIMEOUT } from '../../migrate/engine-commands.js';
import { formatMigratePlan } from '../../migrate/format-plan.js';
import { assemblePlan, readDatabasePlans } from '../../migrate/plan.js';
import type { MigratePlan } from '../../migrate/plan.js';
import { engineFor } from '../../migrate/registry.js';
import { engineTargets, targetKey } from '../../migrate/target.js';
import { fanOutRequested, runTargets } from '../../migrate/fan-out/run-targets.js';
import type { FanOutFlags } from '../../migrate/fan-out/run-targets.js';
import { pickTargets, splitTargetName } from '../../migrate/fan-out/select-target.js';
import type { EngineTarget } from '../../migrate/types.js';
import { applyMigrationCommand, failureOf } from '../../apply/migration-commands.js';
import type { ExecutionResult } from '../../migrate/orchestrate/execute.js';
import { assembleMigrationPlan, planDatabaseRollback, planDatabaseRun } from '../../migrate/orchestrate/migration-plan.js';
import type { DatabaseInput, MigrationPlan } from '../../migrate/orchestrate/migration-plan.js';
import { findingLines, formatMigrationPlan, highRiskLines } from '../../migrate/orchestrate/format-migration-plan.js';
import { lintEntries, lintPlan } from '../../migrate/risk/guard.js';
import { readStates } from '../../migrate/orchestrate/read-states.js';
import type { ReadState } from '../../migrate/orchestrate/read-states.js';
import type { RollbackSelection } from '../../migrate/graph/rollback-set.js';
import { databaseProblems, validateRawMigrations } from '../../migrate/validate.js';
import { readPlanFile } from '../../migrate/orchestrate/plan-file-load.js';
import { planFileFailure } from '../../migrate/orchestrate/plan-file-run.js';
import { formatPlanFileListing, listPlanFile, orderRunByPlanFile, validateConfiguredPlanFile } from './migrate-plan-file.js';
import { rawEngine, readRawHistory, readRawStatus, resolveRaw } from '../../migrate/engines/raw.js';
import { migrationsDir } from '../../migrate/raw/files.js';
import { databaseStatus, formatHistory, formatStatus } from '../../migrate/status.js';
import type { DatabaseStatus } from '../../migrate/status.js';
import { createRawMigration } from '../../migrate/new/create.js';
import { firstEnvironment } from '../../migrate/new/config-environment.js';
import { confirmAction, confirmEnvironment } from '../confirm.js';
import type { CommonOptions } from '../context.js';
import { durationOption, loadForCommand, storeFileFor } from '../context.js';

export interface MigratePlanOptions extends CommonOptions {
  database?: string;
  json: boolean;
  image?: string;
  version?: string;
}

export interface MigrateRunOptions extends CommonOptions, FanOutFlags {
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
  /** Container engines (sqitch) revert with the tool in this image (default: the current release's). */
  image?: string;
  version?: string;
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
  strict: boolean;
  json: boolean;
  /** --env was given on the command line (not only STAGECRAFT_ENV): also check the databases. */
  checkDatabases: boolean;
}

/** The databases a command acts on: all, one (`--database`), or those with one strategy. */
export function selectDatabases(loaded: LoadedConfig, database?: string, strategy?: string): string[] {
  const all = Object.keys(loaded.config.databases);
  if (all.length === 0) throw new UserError(`${loaded.file} configures no databases for ${loaded.environment}`);
  if (strategy !== undefined && !(MIGRATION_STRATEGIES as readonly string[]).includes(strategy)) {
    throw new UserError(`--strategy ${strategy}: expected one of ${MIGRATION_STRATEGIES.join(', ')}`);
  }
  let selected = all;
  // `main/tenant_a` selects the database; pickTargets then keeps the one target.
  database = splitTargetName(database).database;
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
  const store = new ReleaseStore(storeFileFor(options));
  await store.list(); // a corrupt store stops us before any host is touched
  await mergeHostHistoryOf(loaded, store, (line) => process.stderr.write(`${line}\n`));
  const current = await store.current(loaded.environment);
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
  const read = await readDatabasePlans(targets.map((target) => ({ target, strategy: loaded.config.databases[target.database]!.migrations.strategy })));
  const plans = [];
  for (const [index, plan] of read.entries()) plans.push({ ...plan, migrations: await lintEntries(plan.migrations, loaded.dir, targets[index]!.migrations, loaded.environment) });
  return assemblePlan({ service: loaded.config.service, environment: loaded.environment, image: image.shown, image_note: image.note }, plans);
}

export async function runMigratePlan(options: MigratePlanOptions): Promise<void> {
  await withSession(options, async (session) => {
    const { loaded } = session;
    const databases = selectDatabases(loaded, options.database);
    const image = await imageFor(loaded, databases, options);
    const verbose = options.verbose === true;
    const targets = pickTargets(targetsFor(session, databases, image, (database, line) => {
      if (verbose) process.stderr.write(`[${database}] ${line}\n`);
    }), options.database);
    const plan = await readPlan(loaded, targets, image);
    const planFile = await readPlanFile(loaded);
    const listing = planFile ? listPlanFile(planFile, plan.databases, loaded) : undefined;
    const orchestration = listing ? { orchestration: { file: listing.file, entries: listing.entries, resume_line: listing.resume_line, problems: listing.problems } } : {};
    process.stdout.write(options.json ? `${JSON.stringify({ ...plan, ...orchestration }, null, 2)}\n` : `${formatMigratePlan(plan)}\n${listing ? `\n${formatPlanFileListing(listing)}\n` : ''}`);
    const failed = plan.databases.filter((database) => database.read_error);
    if (failed.length > 0) throw new MigrationError(`could not read the state of ${failed.map((d) => `${d.database} (${d.reason ?? 'unknown error'})`).join('; ')}`);
  });
}

function lockTimeoutFor(loaded: LoadedConfig, database: string, cli: string | undefined): number {
  if (cli !== undefined) return durationOption('--lock-timeout', cli);
  return parseDuration(loaded.config.databases[database]!.migrations.lock_timeout ?? DEFAULT_MIGRATION_LOCK_TIMEOUT);
}

function limitsFor(loaded: LoadedConfig, lockTimeout: string | undefined) {
  return (database: string) => ({
    timeoutMs: parseDuration(loaded.config.databases[database]!.migrations.timeout),
    lockTimeoutMs: lockTimeoutFor(loaded, database, lockTimeout),
  });
}

function printPlan(plan: MigrationPlan, json: boolean): void {
  process.stdout.write(json ? `${JSON.stringify(plan, null, 2)}\n` : `${formatMigrationPlan(plan)}\ndry run: no lock was taken and nothing was changed.\n`);
}

/** A database whose state could not be read is not migrated blind: exit 4 naming it. */
function refuseUnreadable(plan: MigrationPlan): void {
  const unreadable = plan.databases.filter((database) => database.unreadable !== undefined);
  if (unreadable.length > 0) throw new MigrationError(`could not read the state of ${unreadable.map((d) => `${d.database} (${d.unreadable})`).join('; ')}; nothing was changed`);
}

function runJson(environment: string, result: ExecutionResult): string {
  return `${JSON.stringify({ environment, databases: result.runs.map((run) => ({ database: run.plan.database, engine: run.plan.engine, ...run.outcome })), not_started: result.not_started }, null, 2)}\n`;
}

export async function runMigrateRun(options: MigrateRunOptions): Promise<void> {
  await withSession(options, async (session) => {
    const { loaded } = session;
    const planFile = await readPlanFile(loaded);
    if (planFile && (options.database ?? options.strategy ?? options.to) !== undefined) throw new UserError(`${planFile.file} (orchestration.plan) sets the order: --database, --strategy and --to do not apply`);
    if (planFile && Object.values(loaded.config.databases).some((database) => database.targets !== undefined)) throw new UserError(`${planFile.file} (orchestration.plan): a plan file over databases with targets cannot be run yet`);
    if (planFile && fanOutRequested(options)) throw new UserError(`${planFile.file} (orchestration.plan) sets the order: the --fan-out options do not apply`);
    const databases = selectDatabases(loaded, options.database, options.strategy);
    if (options.to !== undefined && databases.length !== 1) throw new UserError('--to needs one database: add --database NAME');
    const image = await imageFor(loaded, databases, options);
    const out = options.json ? process.stderr : process.stdout;
    const targets = pickTargets(targetsFor(session, databases, image, (database, line) => out.write(`[${database}] ${line}\n`)), options.database);
    if (fanOutRequested(options) || targets.some((target) => target.target !== undefined)) {
      return runTargets({
        session, targets, flags: options, priority: loaded.config.priority, to: options.to, image: image.shown, version: image.version,
        dryRun: options.dryRun, json: options.json, lockWaitMs: durationOption('--lock-wait', options.lockWait), limits: limitsFor(loaded, options.lockTimeout), out,
        printPlan: (plan) => printPlan(plan, options.json),
        confirm: async (plan) => {
          for (const line of highRiskLines(plan.high_risk)) out.write(`${line}\n`);
          await confirmFindings(plan, options.yes, out);
          await confirmEnvironment(loaded, `migrate ${plan.databases.map((d) => d.database).join(', ')} on ${loaded.environment}`, options.yes);
        },
      });
    }
    const states = await readStates(targets);
    const databasePlans = [];
    for (const target of targets) {
      const databasePlan = planDatabaseRun(inputOf(loaded, target, states), loaded.environment, { to: options.to });
      databasePlans.push(await lintPlan(databasePlan, loaded.dir, target.migrations, loaded.environment));
    }
    const plan = assembleMigrationPlan({ kind: 'run', service: loaded.config.service, environment: loaded.environment, image: image.shown, to: options.to }, databasePlans);
    const ordered = planFile ? orderRunByPlanFile(planFile, plan, states, loaded) : undefined;
    if (ordered && !options.json) out.write(`${planFile!.file}: ${ordered.resume ? `starts at line ${ordered.resume.line} (${ordered.resume.target}:${ordered.resume.migration})` : 'every entry is applied'}\n`);
    if (options.dryRun) return printPlan(ordered?.plan ?? plan, options.json);
    refuseUnreadable(plan);
    for (const line of highRiskLines(plan.high_risk)) out.write(`${line}\n`);
    await confirmFindings(plan, options.yes, out);
    const backups = backupsFor(plan.databases, Object.fromEntries(databases.map((database) => [database, backupSpecFor(loaded, database)])));
    for (const backup of backups) out.write(`${backup.database}: backs up first (${backup.reason}): ${backup.spec.image} ${backup.spec.command.join(' ')}\n`);
    await confirmEnvironment(loaded, `migrate ${databases.join(', ')} on ${loaded.environment}`, options.yes);
    const result = await applyMigrationCommand(session, {
      plan: ordered?.plan ?? plan,
      targets,
      backups,
      command: 'migrate run',
      version: image.version,
      lockWaitMs: durationOption('--lock-wait', options.lockWait),
      limits: limitsFor(loaded, options.lockTimeout),
      states: new Map([...states].map(([database, read]) => [database, read.state])),
      out,
    });
    if (options.json) process.stdout.write(runJson(loaded.environment, result));
    const failedAt = result.runs.findIndex((run) => run.outcome.status === 'failed');
    if (ordered && failedAt >= 0) throw planFileFailure(planFile!.file, ordered.entries[failedAt], result.runs[failedAt]!, result.runs[failedAt]!.plan.database);
    const failure = failureOf(result, plan);
    if (failure) throw failure;
  });
}

function backupSpecFor(loaded: LoadedConfig, database: string): BackupSpec | undefined {
  const backup = loaded.config.databases[database]?.backup;
  return backup ? backupSpecOf(backup) : undefined;
}

/**
 * Outside a deploy nothing is refused for its risk: the lint's findings are shown, and a destructive
 * or incompatible one needs a person's "yes" (or --yes in scripts).
 */
async function confirmFindings(plan: MigrationPlan, yes: boolean, out: NodeJS.WritableStream): Promise<void> {
  const flagged = plan.databases.flatMap((database) => (database.steps ?? []).filter((step) => step.findings?.length).map((step) => ({ database: database.database, step })));
  if (flagged.length === 0) return;
  out.write('the risk lint found (see `stagecraft migrate lint`):\n');
  for (const { database, step } of flagged) out.write(`${[`  ${database}: ${step.file ?? step.id}`, ...findingLines(step)].join('\n')}\n`);
  const breaking = flagged.filter(({ step }) => step.findings!.some((finding) => finding.class !== 'locking'));
  if (breaking.length > 0) await confirmAction(`apply ${breaking.length} migration(s) with destructive or incompatible statements`, yes);
}

function inputOf(loaded: LoadedConfig, target: EngineTarget, states: ReadonlyMap<string, ReadState>): DatabaseInput {
  return {
    database: target.database,
    engine: target.migrations.engine,
    strategy: loaded.config.databases[target.database]!.migrations.strategy,
    state: states.get(targetKey(target))!.state,
  };
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
      throw new UserError(`engine ${settings.engine} does not support \`migrate rollback\` (raw, sqitch and node-pg-migrate do): ${engine.noRollback ?? "use the tool's own rollback command"}; nothing was changed`);
    }
    const out = options.json ? process.stderr : process.stdout;
    const image = await imageFor(loaded, [database!], options);
    const targets = pickTargets(targetsFor(session, [database!], image, (db, line) => out.write(`[${db}] ${line}\n`)), options.database, { command: 'migrate rollback' });
    const states = await readStates(targets);
    const plan = assembleMigrationPlan(
      { kind: 'rollback', service: loaded.config.service, environment: loaded.environment, image: image.shown, to: options.to },
      [planDatabaseRollback(inputOf(loaded, targets[0]!, states), loaded.environment, selection, cascade)],
    );
    if (options.dryRun) return printPlan(plan, options.json);
    refuseUnreadable(plan);
    await confirmEnvironment(loaded, `roll back ${describe} of ${database} on ${loaded.environment}${cascade ? ' (and what depends on them)' : ''}`, options.yes);
    const result = await applyMigrationCommand(session, {
      plan,
      targets,
      command: 'migrate rollback',
      lockWaitMs: durationOption('--lock-wait', options.lockWait),
      limits: limitsFor(loaded, options.lockTimeout),
      out,
    });
    const run = result.runs[0];
    if (options.json && run) process.stdout.write(`${JSON.stringify({ environment: loaded.environment, database, ...run.outcome }, null, 2)}\n`);
    const failure = failureOf(result, plan);
    if (failure) throw failure;
  });
}

export async function runMigrateValidate(options: MigrateValidateOptions): Promise<void> {
  const loaded = await loadForCommand(options);
  const databases = selectDatabases(loaded, options.database);
  const strict = options.strict === true;
  const reports = [];
  for (const database of databases) {
    const migrations = loaded.config.databases[database]!.migrations;
    reports.push({ database, engine: migrations.engine, ...(await validateRawMigrations(loaded.dir, migrations, { environment: loaded.environment, strict })) });
  }
  const checks = options.checkDatabases ? await checkDatabases(loaded, databases, options.verbose === true) : undefined;
  const results = reports.map((report) => ({ ...report, database_checks: checks?.get(report.database) ?? null }));
  const planFile = await readPlanFile(loaded);
  const orchestration = planFile ? await validateConfiguredPlanFile(loaded, planFile) : undefined;

  if (options.json) process.stdout.write(`${JSON.stringify({ environment: loaded.environment, strict, databases: results, ...(orchestration ? { orchestration } : {}) }, null, 2)}\n`);
  else {
    for (const result of results) {
      if (!result.checked) process.stdout.write(`${result.database} [${result.engine}]: not checked (${result.reason})\n`);
      else if (result.problems.length === 0) process.stdout.write(`${result.database} [raw]: ${result.files} file(s) parse\n`);
      else for (const problem of result.problems) process.stdout.write(`${problem}\n`);
      // Warnings go to stderr so stdout keeps one line per database, or only its problems.
      for (const warning of result.warnings) process.stderr.write(`warning: ${warning}\n`);
      const database = result.database_checks;
      if (database === null) continue;
      if (database.problems.length > 0) for (const problem of database.problems) process.stdout.write(`${problem}\n`);
      else if (!database.checked) process.stdout.write(`${result.database} [${result.engine}]: database not checked: ${database.reason ?? 'unknown reason'}\n`);
      else process.stdout.write(`${result.database} [raw]: database on ${loaded.environment}: no drift, no applied id without a file, no dirty row\n`);
    }
    if (orchestration) {
      for (const problem of orchestration.problems) process.stdout.write(`${problem}\n`);
      for (const { database, reason } of orchestration.unchecked) process.stdout.write(`${orchestration.file}: ${database} entries not checked: ${reason}\n`);
      if (orchestration.problems.length === 0) process.stdout.write(`${orchestration.file}: ${planFile!.entries.length} entr${planFile!.entries.length === 1 ? 'y' : 'ies'}, no problem\n`);
    }
  }
  const fileProblems = results.reduce((count, result) => count + result.problems.length, 0) + (orchestration?.problems.length ?? 0);
  const databaseProblemCount = results.reduce((count, result) => count + (result.database_checks?.problems.length ?? 0), 0);
  // Files are the user's to fix: exit 1, also when a database has problems too (all were printed
  // above). Problems found only in a database are migration state: exit 4.
  if (fileProblems > 0) {
    throw new UserError(`${fileProblems} problem(s) in migration files${databaseProblemCount > 0 ? ` and ${databaseProblemCount} in the database(s)` : ''}`);
  }
  if (databaseProblemCount > 0) throw new MigrationError(`${databaseProblemCount} problem(s) found in the database(s) of ${loaded.environment}`);
}

/** What `migrate validate --env` found in one database (null in the JSON when the databases were not checked). */
interface DatabaseChecks {
  checked: boolean;
  reason?: string;
  problems: string[];
}

/** Per database: the raw engine's read-only plan, turned into problems (drift, applied ids without a file, dirty rows). */
async function checkDatabases(loaded: LoadedConfig, databases: readonly string[], verbose: boolean): Promise<Map<string, DatabaseChecks>> {
  const checks = new Map<string, DatabaseChecks>();
  const raw = databases.filter((database) => loaded.config.databases[database]!.migrations.engine === 'raw');
  for (const database of databases) {
    if (!raw.includes(database)) checks.set(database, { checked: false, reason: `engine ${loaded.config.databases[database]!.migrations.engine} keeps its own state`, problems: [] });
  }
  if (raw.length === 0) return checks;
  await openSession(loaded, { hostExitCode: ExitCode.migration }, async (session) => {
    const targets = targetsFor(session, raw, NO_IMAGE, (database, line) => {
      if (verbose) process.stderr.write(`[${database}] ${line}\n`);
    });
    for (const target of targets) {
      try {
        const state = await rawEngine.plan(target);
        const { display } = migrationsDir(loaded.dir, target.migrations.path ?? '.');
        checks.set(target.database, { checked: true, problems: databaseProblems(target.database, loaded.environment, display, state) });
      } catch (error) {
        // The files themselves are wrong (already reported as file problems): nothing to compare with.
        if (error instanceof UserError) checks.set(target.database, { checked: false, reason: 'the migration files have problems', problems: [] });
        else if (error instanceof StagecraftError) {
          const message = target.scrub(error.message);
          // The engine's messages already start with the database's name.
          const reason = message.startsWith(`${target.database}: `) ? message.slice(target.database.length + 2) : message;
          checks.set(target.database, { checked: false, reason, problems: [`${target.database}: cannot check the database: ${reason}`] });
        } else throw error;
      }
    }
  });
  return checks;
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
    const targets = pickTargets(targetsFor(session, databases, image, (database, line) => {
      if (options.verbose === true) process.stderr.write(`[${database}] ${line}\n`);
    }), options.database);
    const statuses: DatabaseStatus[] = [];
    const failed: string[] = [];
    for (const target of targets) {
      const engine = target.migrations.engine;
      try {
        if (engine === 'raw') {
          const { state, facts } = await readRawStatus(target);
          statuses.push(databaseStatus(targetKey(target), engine, state, facts));
        } else {
          statuses.push(databaseStatus(targetKey(target), engine, await engineFor(engine).plan(target)));
        }
      } catch (error) {
        if (!(error instanceof StagecraftError) || error.exitCode === ExitCode.user) throw error;
        const reason = target.scrub(error.message);
        failed.push(`${targetKey(target)} (${reason})`);
        statuses.push(databaseStatus(targetKey(target), engine, { readable: false, reason, migrations: [], applied_count: 0, pending_known: false, notes: [] }));
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
    const targets = pickTargets(targetsFor(session, databases, NO_IMAGE, () => undefined), options.database);
    const reports = [];
    const unreadable: string[] = [];
    for (const target of targets) {
      const engine = target.migrations.engine;
      try {
        reports.push({ database: targetKey(target), engine, events: await readRawHistory(target, limit) });
      } catch (error) {
        // Container engines' databases may be reachable only from containers: say so, and go on.
        if (!(error instanceof StagecraftError) || error.exitCode === ExitCode.user) throw error;
        const reason = target.scrub(error.message);
        if (engine === 'raw') unreadable.push(`${targetKey(target)} (${reason})`);
        reports.push({ database: targetKey(target), engine, events: null, reason });
      }
    }
    if (options.json) process.stdout.write(`${JSON.stringify({ environment: loaded.environment, databases: reports }, null, 2)}\n`);
    else {
      const text = reports.map((r) => ('reason' in r ? `${r.database} [${r.engine}]: history not readable: ${r.reason}` : formatHistory(r.database, r.events)));
      process.stdout.write(`${text.join('\n\n')}\n`);
    }
    if (unreadable.length > 0) throw new MigrationError(`could not read the history of ${unreadable.join('; ')}`);
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
    const [target] = pickTargets(targetsFor(session, [database!], NO_IMAGE, (db, line) => out.write(`[${db}] ${line}\n`)), options.database, { command: 'migrate resolve' });
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
