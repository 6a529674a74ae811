/**
 * `secrets:` in stagecraft.yml: variables from a command, so a password manager or a cloud secret
 * store works without an adapter each (1Password `op`, Bitwarden `bws`, `aws secretsmanager`,
 * `doppler secrets download --format env`, ...):
 *
 *     secrets:
 *       command: [doppler, secrets, download, --no-file, --format, env]   # prints dotenv lines
 *       keys:
 *         DB_PASSWORD: [op, read, "op://prod/db/password"]              # prints one value
 *       timeout: 30s
 *
 * A variable is looked up in the process environment, then `.stagecraft/secrets`, then `keys`, then
 * the output of `command`. Commands run only when a variable is needed and not found before them,
 * at most once per stagecraft run, as argv (never through a shell), in the config's directory.
 * Their output is never printed; every value they give counts as a secret (redacted everywhere).
 */
import { spawnSync } from 'node:child_process';
import { parseDuration } from './duration.js';
import { parseDotenv } from './dotenv.js';
import type { ConfigProblem } from './errors.js';
import type { SecretsCommandConfig } from './schema.js';
import { escapeControls } from '../user-text.js';

const OUTPUT_LIMIT = 1024 * 1024;

export interface SecretCommands {
  /** The variable's value from `keys` or `command`, running them on first need; undefined when they do not give it. */
  lookup(name: string): string | undefined;
  /** Every value the commands gave (to redact). */
  values(): string[];
  /** Commands that failed, as problems at their position in the file. */
  problems(): ConfigProblem[];
}

export interface CommandPosition {
  (path: (string | number)[]): { file: string; line: number; col: number };
}

/** Pure: what failed, without the command's output on stdout (it may hold secrets). */
export function describeFailure(argv: readonly string[], result: { error?: Error | undefined; status: number | null; signal: NodeJS.Signals | null; stderr: string }, timeoutMs: number): string {
  const name = escapeControls(argv[0] ?? '');
  const code = (result.error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return `${name}: command not found`;
  if (code === 'ETIMEDOUT' || (result.signal === 'SIGTERM' && result.status === null)) return `${name} did not finish within ${Math.round(timeoutMs / 1000)}s`;
  if (result.error) return `${name}: ${result.error.message}`;
  const said = escapeControls(result.stderr.trim().split('\n').at(-1)?.slice(0, 200) ?? '');
  return `${name} exited with code ${result.status ?? result.signal}${said ? `: ${said}` : ''}`;
}

export function secretCommands(config: SecretsCommandConfig | undefined, cwd: string, position: CommandPosition): SecretCommands {
  const given: string[] = [];
  const problems: ConfigProblem[] = [];
  const keyValues = new Map<string, string | undefined>();
  let dotenv: ReadonlyMap<string, string> | undefined;
  const timeoutMs = config ? parseDuration(config.timeout) : 0;

  const run = (command: readonly string[], at: (string | number)[]): string | undefined => {
    const result = spawnSync(command[0]!, command.slice(1), { cwd, encoding: 'utf8', timeout: timeoutMs, maxBuffer: OUTPUT_LIMIT, stdio: ['ignore', 'pipe', 'pipe'] });
    if (result.error || result.status !== 0) {
      problems.push({ ...position(at), message: `secrets.${at.slice(1).join('.')}: ${describeFailure(command, result, timeoutMs)}` });
      return undefined;
    }
    return result.stdout;
  };

  return {
    lookup(name) {
      if (!config) return undefined;
      const keyCommand = config.keys?.[name];
      if (keyCommand) {
        if (!keyValues.has(name)) {
          const output = run(keyCommand, ['secrets', 'keys', name]);
          // One value: the output without its final line break.
          const value = output?.replace(/\r?\n$/, '');
          keyValues.set(name, value);
          if (value) given.push(value);
        }
        return keyValues.get(name);
      }
      if (!config.command) return undefined;
      if (dotenv === undefined) {
        const output = run(config.command, ['secrets', 'command']);
        const parsed = parseDotenv(output ?? '');
        for (const problem of parsed.problems) {
          problems.push({ ...position(['secrets', 'command']), message: `secrets.command: its output, line ${problem.line}: ${problem.message}` });
        }
        dotenv = parsed.values;
        given.push(...[...dotenv.values()].filter((value) => value !== ''));
      }
      return dotenv.get(name);
    },
    values: () => [...given],
    problems: () => [...problems],
  };
}
