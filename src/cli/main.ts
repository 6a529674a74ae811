import { Command, CommanderError, Option } from 'commander';
import { escapeControls } from '../user-text.js';
import { ExitCode, StagecraftError } from '../errors.js';
import { VERSION } from '../version.js';

/**
 * Command implementations are imported lazily inside each action so that
 * `stagecraft --help` never pays for ssh2, dockerode, zod or listr2.
 */
export interface GlobalOptions {
  config?: string;
  env?: string;
  verbose?: boolean;
}

/**
 * The global options as the user meant them: a value typed on the command line (after the
 * command or before it) wins over STAGECRAFT_ENV, whichever command level it was given at.
 * (commander's optsWithGlobals lets the program level overwrite the command's own value, so
 * `STAGECRAFT_ENV=staging stagecraft deploy --env prod` would act on staging.)
 */
function globals(cmd: Command): GlobalOptions {
  const chain: Command[] = [];
  for (let level: Command | null = cmd; level; level = level.parent) chain.push(level);
  const pick = (key: keyof GlobalOptions): unknown => {
    const typed = chain.find((level) => level.getOptionValueSource(key) === 'cli');
    if (typed) return typed.opts()[key];
    return chain.map((level) => level.opts()[key]).find((value) => value !== undefined);
  };
  const options = cmd.optsWithGlobals() as GlobalOptions;
  return { ...options, config: (pick('config') as string | undefined) ?? 'stagecraft.yml', env: pick('env') as string | undefined, verbose: pick('verbose') as boolean | undefined };
}

/**
 * Program options are positional (so `deploy --version TAG` is deploy's, not the program's
 * `--version`); every leaf command repeats the global options so they work after it too.
 */
function withGlobalOptions(command: Command): Command {
  return command
    .option('-c, --config <path>', 'path to stagecraft.yml (default: "stagecraft.yml")')
    .addOption(new Option('-e, --env <name>', 'environment to act on').env('STAGECRAFT_ENV'))
    .option('--verbose', 'stream remote output and show stack traces');
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('stagecraft')
    .description('Deploy containerised apps to your own servers over SSH and Docker, with migrations as deploy steps.')
    .version(VERSION, '--version', 'print the stagecraft version')
    .option('-c, --config <path>', 'path to stagecraft.yml (default: "stagecraft.yml")')
    .addOption(new Option('-e, --env <name>', 'environment to act on').env('STAGECRAFT_ENV'))
    .option('--verbose', 'stream remote output and show stack traces')
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
    // commander quotes the argument it rejects: escape control characters so it cannot rewrite the terminal.
    .configureOutput({ outputError: (text, write) => write(`${escapeControls(text.replace(/\n$/, ''))}\n`) })
    .exitOverride();


  const config = program
    .command('config')
    .description('print the resolved configuration for an environment (secrets redacted)')
    .option('--json', 'print the resolved config as JSON, nothing else')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { runConfigShow } = await import('./commands/config.js');
      return runConfigShow({ ...globals(cmd), json: opts.json === true });
    });
  config
    .command('schema')
    .description('print the JSON Schema of stagecraft.yml')
    .action(async () => {
      const { runConfigSchema } = await import('./commands/config.js');
      return runConfigSchema();
    });

  program
    .command('init')
    .description('write a commented stagecraft.yml and .stagecraft/secrets')
    .option('--force', 'overwrite existing files')
    .action(async (opts: { force?: boolean }, cmd: Command) => {
      const { runInit } = await import('./commands/init.js');
      return runInit({ ...globals(cmd), force: opts.force === true });
    });

  const releases = program.command('releases').description('list and inspect recorded releases');
  releases
    .command('list')
    .description('list releases, newest first (with --env, after merging the shared history from its primary host)')
    .option('--json', 'print JSON')
    .option('--local', 'only this machine\'s records: do not read the shared history from the primary host')
    .action(async (opts: { json?: boolean; local?: boolean }, cmd: Command) => {
      const { runReleasesList } = await import('./commands/releases.js');
      return runReleasesList({ ...globals(cmd), json: opts.json === true, local: opts.local === true });
    });
  releases
    .command('show')
    .description('show one release')
    .argument('<id>', 'release id')
    .option('--json', 'print JSON')
    .option('--local', 'only this machine\'s records: do not read the shared history from the primary host')
    .action(async (id: string, opts: { json?: boolean; local?: boolean }, cmd: Command) => {
      const { runReleasesShow } = await import('./commands/releases.js');
      return runReleasesShow({ ...globals(cmd), id, json: opts.json === true, local: opts.local === true });
    });

  program
    .command('deploy')
    .description('build, push, migrate and roll out a new version to an environment')
    .option('--version <tag>', 'version to tag the image with (default: git short sha, -dirty when uncommitted)')
    .option('--skip-build', 'deploy an image already in the registry (no build, no push)', false)
    .option('--dry-run', 'print the plan; build, push, change and record nothing', false)
    .option('--json', 'print the plan (with --dry-run) or the release record as JSON', false)
    .option('--lock-wait <duration>', 'wait this long for the deploy lock instead of refusing at once')
    .option('-m, --message <text>', 'note stored with the deploy lock while the deploy runs')
    .option('-y, --yes', 'approve environments that have require_approval', false)
    .action(async (opts: { version?: string; skipBuild: boolean; dryRun: boolean; json: boolean; lockWait?: string; message?: string; yes: boolean }, cmd: Command) => {
      const { runDeploy } = await import('./commands/deploy.js');
      return runDeploy({ ...globals(cmd), ...opts });
    });

  program
    .command('rollback')
    .description('serve a previous release again: its recorded image, no build, no migrations')
    .requiredOption('--to <id>', 'release id to go back to, or "previous"')
    .option('--dry-run', 'print the plan and change nothing', false)
    .option('--json', 'print the plan (with --dry-run) or the release record as JSON', false)
    .option('--lock-wait <duration>', 'wait this long for the deploy lock instead of refusing at once')
    .option('-y, --yes', 'approve environments that have require_approval', false)
    .option('--force', 'roll back even past destructive or incompatible migrations applied since that release', false)
    .action(async (opts: { to: string; dryRun: boolean; json: boolean; lockWait?: string; yes: boolean; force: boolean }, cmd: Command) => {
      const { runRollback } = await import('./commands/rollback.js');
      return runRollback({ ...globals(cmd), ...opts });
    });

  const accessory = program
    .command('accessory')
    .description('accessories (a database, a cache next to the app): boot, reboot, stop, remove, details, logs; deploy and rollback never touch them');
  const accessoryVerbs = [
    ['boot', 'pull the image and start the accessory\'s container (already running: says so)'],
    ['reboot', 'stop and remove its container, then boot it again with the current config; volumes are kept'],
    ['stop', 'stop its container'],
    ['remove', 'stop and remove its container (with --volumes also its named volumes)'],
  ] as const;
  for (const [verb, description] of accessoryVerbs) {
    const command = accessory
      .command(verb)
      .description(description)
      .argument('<name>', 'accessory name, or "all"')
      .option('--dry-run', 'print the plan and change nothing', false)
      .option('--json', 'print the plan (with --dry-run) or the outcome as JSON', false)
      .option('-y, --yes', 'approve environments that have require_approval (and, for remove --volumes, the removal)', false);
    if (verb === 'remove') command.option('--volumes', 'also remove the named volumes stagecraft created for it (asks first)', false);
    command.action(async (name: string, opts: { dryRun: boolean; json: boolean; yes: boolean; volumes?: boolean }, cmd: Command) => {
      const { runAccessoryAction } = await import('./commands/accessory.js');
      return runAccessoryAction(verb, { ...globals(cmd), ...opts, name });
    });
  }
  accessory
    .command('details')
    .description('image, state, start time, ports and volumes of the accessory\'s container (read-only)')
    .argument('<name>', 'accessory name, or "all"')
    .option('--json', 'print JSON', false)
    .action(async (name: string, opts: { json: boolean }, cmd: Command) => {
      const { runAccessoryDetails } = await import('./commands/accessory.js');
      return runAccessoryDetails({ ...globals(cmd), ...opts, name });
    });
  accessory
    .command('logs')
    .description('the accessory container\'s output, each line led by its timestamp (read-only)')
    .argument('<name>', 'accessory name')
    .option('-n, --lines <n>', 'the last N lines', '100')
    .option('--since <when>', 'only lines since a duration ago (10m) or a timestamp')
    .option('-f, --follow', 'keep printing new lines until the container stops or Ctrl-C', false)
    .action(async (name: string, opts: { lines: string; since?: string; follow: boolean }, cmd: Command) => {
      const { runAccessoryLogs } = await import('./commands/accessory.js');
      return runAccessoryLogs({ ...globals(cmd), ...opts, name });
    });

  const lock = program.command('lock').description('the deploy lock of an environment (held on its primary host)');
  lock
    .command('status')
    .description('show who holds the deploy lock')
    .option('--json', 'print JSON', false)
    .action(async (opts: { json: boolean }, cmd: Command) => {
      const { runLockStatus } = await import('./commands/lock.js');
      return runLockStatus({ ...globals(cmd), ...opts });
    });
  lock
    .command('acquire')
    .description('hold the deploy lock (deploys and rollbacks refuse until it is released)')
    .requiredOption('-m, --message <text>', 'why the environment is locked')
    .option('--lock-wait <duration>', 'wait this long for a held lock instead of refusing at once')
    .option('--json', 'print JSON', false)
    .action(async (opts: { json: boolean; message: string; lockWait?: string }, cmd: Command) => {
      const { runLockAcquire } = await import('./commands/lock.js');
      return runLockAcquire({ ...globals(cmd), ...opts });
    });
  lock
    .command('release')
    .description('release the deploy lock, whoever holds it')
    .option('--json', 'print JSON', false)
    .action(async (opts: { json: boolean }, cmd: Command) => {
      const { runLockRelease } = await import('./commands/lock.js');
      return runLockRelease({ ...globals(cmd), ...opts });
    });

  program
    .command('details')
    .description('what runs per host and role (container, version, image digest, started, health, proxy target), the deploy lock and the current release (read-only)')
    .option('--json', 'print JSON', false)
    .action(async (opts: { json: boolean }, cmd: Command) => {
      const { runDetails } = await import('./commands/details.js');
      return runDetails({ ...globals(cmd), ...opts });
    });
  program
    .command('prune')
    .description('remove old stopped app containers beyond --keep (default: retain) on every host, and the app images none of the kept ones uses; holds the deploy lock')
    .option('--keep <n>', 'stopped app containers to keep per host and role, newest first (default: retain from stagecraft.yml)')
    .option('--dry-run', 'print what would be removed and kept, and why; change nothing', false)
    .action(async (opts: { keep?: string; dryRun: boolean }, cmd: Command) => {
      const { runPrune } = await import('./commands/prune.js');
      return runPrune({ ...globals(cmd), ...opts });
    });

  const migrate = program.command('migrate').description('database migrations: read their real state, run them outside a deploy');
  migrate
    .command('plan')
    .description('show every migration of each database with its real state, and what a deploy would run (read-only)')
    .option('--database <name>', 'only this database')
    .option('--image <ref>', 'app image container engines read the status with (default: the current release\'s)')
    .option('--version <tag>', 'use the image of this version')
    .option('--json', 'print JSON', false)
    .action(async (opts: { database?: string; image?: string; version?: string; json: boolean }, cmd: Command) => {
      const { runMigratePlan } = await import('./commands/migrate.js');
      return runMigratePlan({ ...globals(cmd), ...opts });
    });
  migrate
    .command('run')
    .description('apply pending migrations outside a deploy (how strategy manual databases are migrated); holds the deploy lock')
    .option('--database <name>', 'only this database')
    .option('--strategy <strategy>', 'only databases with this strategy (pre_deploy, post_deploy, manual)')
    .option('--to <id>', 'apply up to and including this migration (one database)')
    .option('--image <ref>', 'app image for container engines (default: the current release\'s)')
    .option('--version <tag>', 'use the image of this version')
    .option('--lock-timeout <duration>', 'wait this long for the migration advisory lock (default: migrations.lock_timeout, 60s)')
    .option('--lock-wait <duration>', 'wait this long for the deploy lock instead of refusing at once')
    .option('--dry-run', 'show what would run; take no lock, change nothing', false)
    .option('--fan-out <strategy>', 'targets: sequential (default), parallel, rolling or canary; also used with a single target')
    .option('--max-concurrent <n>', 'parallel and canary: targets at once (default 4)')
    .option('--batch-size <n>', 'rolling: targets per batch (default 1)')
    .option('--canary-percent <p>', 'canary: share of the targets migrated first, one after another (default 10)')
    .option('--rollback-on-failure', 'after a failed target, revert the targets this run completed (refused before starting if one cannot be reverted)')
    .option('--json', 'print the outcome as JSON', false)
    .option('-y, --yes', 'approve environments that have require_approval', false)
    .action(async (opts: { database?: string; strategy?: string; to?: string; image?: string; version?: string; lockTimeout?: string; lockWait?: string; dryRun: boolean; json: boolean; yes: boolean; fanOut?: string; maxConcurrent?: string; batchSize?: string; canaryPercent?: string; rollbackOnFailure?: boolean }, cmd: Command) => {
      const { runMigrateRun } = await import('./commands/migrate.js');
      return runMigrateRun({ ...globals(cmd), ...opts });
    });
  migrate
    .command('rollback')
    .argument('[ids...]', 'exactly these applied migrations (refused while an applied one depends on them, unless --cascade)')
    .description('revert applied migrations with their .down.sql files (raw engine), `sqitch revert` (sqitch) or `node-pg-migrate down N` (node-pg-migrate), newest first in reverse dependency order; holds the deploy lock')
    .requiredOption('--database <name>', 'the database to roll back')
    .option('--steps <n>', 'how many migrations to revert, newest first (default 1)')
    .option('--to <id>', 'revert every migration applied after this one (it stays applied)')
    .option('--cascade', 'also revert the applied migrations that depend on the ones chosen', false)
    .option('--image <ref>', 'app image for container engines (sqitch and node-pg-migrate revert with the tool in it; default: the current release\'s)')
    .option('--version <tag>', 'use the image of this version')
    .option('--dry-run', 'print what would be reverted and change nothing', false)
    .option('--lock-timeout <duration>', 'wait this long for the migration advisory lock (default: migrations.lock_timeout, 60s)')
    .option('--lock-wait <duration>', 'wait this long for the deploy lock instead of refusing at once')
    .option('--json', 'print the outcome as JSON', false)
    .option('-y, --yes', 'approve environments that have require_approval', false)
    .action(async (ids: string[], opts: { database: string; steps?: string; to?: string; cascade: boolean; image?: string; version?: string; dryRun: boolean; lockTimeout?: string; lockWait?: string; json: boolean; yes: boolean }, cmd: Command) => {
      const { runMigrateRollback } = await import('./commands/migrate.js');
      return runMigrateRollback({ ...globals(cmd), ...opts, ids });
    });
  migrate
    .command('new <name>')
    .description('write a new raw migration (up + down file) in the directory\'s own layout and numbering; with --env, one for that environment only')
    .requiredOption('--database <name>', 'the database the migration is for')
    .option('--template <name>', 'table, index, data, blank, or your own <migrations path>/templates/<name>.sql', 'blank')
    .option('--depends-on <ids>', 'comma-separated migrations it needs applied first (ids or numbers)')
    .action(async (name: string, opts: { database: string; template: string; dependsOn?: string }, cmd: Command) => {
      const { runMigrateNew } = await import('./commands/migrate.js');
      const fromCli = cmd.getOptionValueSourceWithGlobals('env') === 'cli';
      return runMigrateNew({ ...globals(cmd), ...opts, name, environmentDir: fromCli });
    });
  migrate
    .command('status')
    .description('per database: applied/pending/failed/drifted/dirty counts, the last execution, the migration lock holder (read-only)')
    .option('--database <name>', 'only this database')
    .option('--image <ref>', 'app image container engines read the status with (default: the current release\'s)')
    .option('--version <tag>', 'use the image of this version')
    .option('--json', 'print JSON', false)
    .action(async (opts: { database?: string; image?: string; version?: string; json: boolean }, cmd: Command) => {
      const { runMigrateStatus } = await import('./commands/migrate.js');
      return runMigrateStatus({ ...globals(cmd), ...opts });
    });
  migrate
    .command('history')
    .description('the raw engine\'s execution events (started, completed, failed, rolled back, resolved), newest first (read-only)')
    .option('--database <name>', 'only this database')
    .option('--limit <n>', 'at most this many events per database', '50')
    .option('--json', 'print JSON', false)
    .action(async (opts: { database?: string; limit?: string; json: boolean }, cmd: Command) => {
      const { runMigrateHistory } = await import('./commands/migrate.js');
      return runMigrateHistory({ ...globals(cmd), ...opts });
    });
  migrate
    .command('resolve')
    .description('record what you found for a migration left running by a process that died (dirty, raw engine); holds the deploy lock')
    .argument('<id>', 'the dirty migration')
    .requiredOption('--database <name>', 'its database')
    .option('--applied', 'it did apply: mark it completed', false)
    .option('--rolled-back', 'it did not apply (or you undid it): mark it rolled back, to run again', false)
    .option('--lock-timeout <duration>', 'wait this long for the migration advisory lock (default: migrations.lock_timeout, 60s)')
    .option('--lock-wait <duration>', 'wait this long for the deploy lock instead of refusing at once')
    .option('--json', 'print the outcome as JSON', false)
    .option('-y, --yes', 'approve environments that have require_approval', false)
    .action(async (id: string, opts: { database: string; applied: boolean; rolledBack: boolean; lockTimeout?: string; lockWait?: string; json: boolean; yes: boolean }, cmd: Command) => {
      const { runMigrateResolve } = await import('./commands/migrate.js');
      return runMigrateResolve(id, { ...globals(cmd), ...opts });
    });
  migrate
    .command('validate')
    .description('check raw migration files offline (names, layouts, dependencies, SQL with the Postgres parser, missing down files); with --env, also each database: drift, applied ids without a file, dirty rows')
    .option('--database <name>', 'only this database')
    .option('--strict', 'a missing down file is a problem, not a warning', false)
    .option('--json', 'print JSON', false)
    .action(async (opts: { database?: string; strict: boolean; json: boolean }, cmd: Command) => {
      const { runMigrateValidate } = await import('./commands/migrate.js');
      // Only an --env typed on the command line (at any level) reaches the databases; STAGECRAFT_ENV alone stays offline.
      let envTyped = false;
      for (let level: Command | null = cmd; level; level = level.parent) envTyped ||= level.getOptionValueSource('env') === 'cli';
      return runMigrateValidate({ ...globals(cmd), ...opts, checkDatabases: envTyped });
    });
  migrate
    .command('lint')
    .argument('[files...]', '.sql files to lint instead of the configured databases\' migrations')
    .description('flag risky statements in migrations (destructive, incompatible with the serving version, long locks) with the Postgres parser; exit 2 for findings not accepted by -- stagecraft:allow RULE reason')
    .option('--database <name>', 'only this database')
    .option('--json', 'print JSON', false)
    .action(async (files: string[], opts: { database?: string; json: boolean }, cmd: Command) => {
      const { runMigrateLint } = await import('./commands/migrate-lint.js');
      return runMigrateLint({ ...globals(cmd), ...opts, files });
    });

  const app = program.command('app').description('run a command in the app\'s image or container, read its logs').enablePositionalOptions();
  app
    .command('exec')
    .description('run a command in a one-off container of the current release\'s image with the app\'s environment (or, with --reuse, in the running container); its exit code is stagecraft\'s')
    .argument('<command...>', 'the command and its arguments, after --')
    .option('--host <address>', 'on this host')
    .option('--primary', 'on the primary host (the default)', false)
    .option('--all', 'on every host of the role, in parallel', false)
    .option('--role <role>', 'hosts (and, with --reuse, containers) of this role', 'web')
    .option('--reuse', 'docker exec in the running container instead of a one-off container', false)
    .option('-i, --interactive', 'attach stdin (and a TTY when stdin is one); one host only', false)
    .option('--dry-run', 'print where and how the command would run, and run nothing', false)
    .passThroughOptions()
    .action(async (command: string[], opts: { host?: string; primary: boolean; all: boolean; role: string; reuse: boolean; interactive: boolean; dryRun: boolean }, cmd: Command) => {
      const { runAppExec } = await import('./commands/app.js');
      return runAppExec({ ...globals(cmd), ...opts, command });
    });
  app
    .command('logs')
    .description('the running app containers\' logs, merged and prefixed by host (read-only)')
    .option('--host <address>', 'only this host')
    .option('--role <role>', 'containers of this role', 'web')
    .option('--since <duration>', 'only lines from the last DURATION (e.g. 10m)')
    .option('-n, --lines <n>', 'the last N lines of each container', '100')
    .option('-f, --follow', 'keep printing new lines until Ctrl-C', false)
    .option('--grep <text>', 'only lines containing TEXT (plain, case-sensitive)')
    .action(async (opts: { host?: string; role: string; since?: string; lines: string; follow: boolean; grep?: string }, cmd: Command) => {
      const { runAppLogs } = await import('./commands/app.js');
      return runAppLogs({ ...globals(cmd), ...opts });
    });

  addGlobalOptionsToSubcommands(program);
  return program;
}

function addGlobalOptionsToSubcommands(parent: Command): void {
  for (const command of parent.commands) {
    if (command.name() !== 'help') withGlobalOptions(command);
    addGlobalOptionsToSubcommands(command);
  }
}

/** docker-modem's debug output prints request headers, registry credentials included. */
function silenceCredentialLeakingDebug(env: NodeJS.ProcessEnv): void {
  if (!env.DEBUG) return;
  const kept = env.DEBUG.split(',').filter((name) => !/^(modem|docker-modem|\*)$/.test(name.trim()));
  if (kept.length) env.DEBUG = kept.join(',');
  else delete env.DEBUG;
}

export async function main(argv: string[]): Promise<number> {
  silenceCredentialLeakingDebug(process.env);
  const program = buildProgram();
  const verbose = argv.includes('--verbose');
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
  } catch (error) {
    return reportError(error, verbose);
  }
}

export function reportError(error: unknown, verbose: boolean): number {
  if (error instanceof CommanderError) {
    // commander already printed its message (or help/version output).
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') {
      return ExitCode.ok;
    }
    return ExitCode.user;
  }
  if (error instanceof StagecraftError) {
    // Errors that carry a file:line:col position print like a compiler's, position first.
    const located = 'located' in error && error.located === true;
    process.stderr.write(located ? `${error.message}\n` : `error: ${error.message}\n`);
    if (error.hint) process.stderr.write(`hint: ${error.hint}\n`);
    if (verbose && error.stack) process.stderr.write(`${error.stack}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`internal error: ${message}\n`);
  if (verbose && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  else process.stderr.write('(run again with --verbose for details, and please report it)\n');
  return ExitCode.internal;
}
