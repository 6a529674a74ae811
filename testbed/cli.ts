/**
 * `npm run testbed -- up [--hosts N] | down | status [--json]`: the real multi-host testbed
 * (network namespaces with their own dockerd and sshd, a registry, PostgreSQL) on this machine.
 * Exit codes: 0 ok (status: everything up), 1 failure (status: something is down).
 */
import { Command, InvalidArgumentError } from 'commander';
import { down } from './down.js';
import { TestbedError } from './exec.js';
import { DEFAULT_HOST_COUNT } from './layout.js';
import { formatStatus, testbedStatus } from './status.js';
import { up, validateHostCount } from './up.js';

function parseHostCount(value: string): number {
  const count = Number(value);
  try {
    return validateHostCount(count);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command('testbed')
    .description('Multi-host stagecraft testbed on this machine (dir: $STAGECRAFT_TESTBED_DIR or <repo>/.testbed)')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('up')
    .description('install what is missing, start (or repair) the testbed, build and push base images')
    .option('--hosts <n>', 'number of hosts h1..hN', parseHostCount, DEFAULT_HOST_COUNT)
    .option('--debian', 'also build debian:bookworm-slim and the sqitch and pg-client images (1–4 min the first time; the e2e tests use them)', false)
    .action(async (options: { hosts: number; debian: boolean }) => {
      await up({ hosts: options.hosts, debian: options.debian });
    });

  program
    .command('down')
    .description('stop what the testbed started, remove its namespaces and bridge (data and packages stay)')
    .action(async () => {
      await down();
    });

  program
    .command('status')
    .description('show each component and whether it is up (exit 1 when something is down)')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const status = await testbedStatus();
      process.stdout.write(`${options.json ? JSON.stringify(status, null, 2) : formatStatus(status)}\n`);
      exitCode = status.up ? 0 : 1;
    });

  await program.parseAsync(argv);
  return exitCode;
}

main(process.argv).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof TestbedError) {
      process.stderr.write(`testbed: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ''}`);
      process.exit(1);
    }
    // commander has already printed usage errors and help.
    if (error instanceof Error && 'exitCode' in error && typeof error.exitCode === 'number') process.exit(error.exitCode);
    process.stderr.write(`testbed: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(10);
  },
);
