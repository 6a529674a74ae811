import { Command, CommanderError, Option } from 'commander';
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

function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('stagecraft')
    .description('Deploy containerised apps to your own servers over SSH and Docker, with migrations as deploy steps.')
    .version(VERSION, '--version', 'print the stagecraft version')
    .option('-c, --config <path>', 'path to stagecraft.yml', 'stagecraft.yml')
    .addOption(new Option('-e, --env <name>', 'environment to act on').env('STAGECRAFT_ENV'))
    .option('--verbose', 'stream remote output and show stack traces', false)
    .showSuggestionAfterError(true)
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
    .description('list releases, newest first')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { runReleasesList } = await import('./commands/releases.js');
      return runReleasesList({ ...globals(cmd), json: opts.json === true });
    });
  releases
    .command('show')
    .description('show one release')
    .argument('<id>', 'release id')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const { runReleasesShow } = await import('./commands/releases.js');
      return runReleasesShow({ ...globals(cmd), id, json: opts.json === true });
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
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
