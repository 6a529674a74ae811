import { loadConfig, type LoadedConfig } from '../config/index.js';
import { releasesFilePath } from '../releases/paths.js';
import { parseDuration } from '../config/index.js';
import { UserError } from '../errors.js';
import { quoteValue } from '../user-text.js';
import { LineReporter, type Reporter } from '../apply/reporter.js';
import { redactText } from '../config/index.js';

export interface CommonOptions {
  config?: string;
  env?: string;
  verbose?: boolean;
}

export async function loadForCommand(options: CommonOptions): Promise<LoadedConfig> {
  return loadConfig({ path: options.config ?? 'stagecraft.yml', ...(options.env ? { environment: options.env } : {}) });
}

export function storeFileFor(options: CommonOptions): string {
  return releasesFilePath(options.config);
}

export function durationOption(name: string, value: string | undefined): number {
  if (value === undefined) return 0;
  try {
    return parseDuration(value);
  } catch {
    throw new UserError(`${name} ${quoteValue(value)} is not a duration (examples: 30s, 5m, 1h)`);
  }
}

/**
 * Live progress for a TTY, plain timestamped lines for CI, pipes and --verbose. With --json,
 * stdout carries only the JSON document, so progress goes to stderr as plain lines.
 */
export async function createReporter(loaded: LoadedConfig, options: { verbose: boolean; json: boolean; hosts: readonly string[] }): Promise<Reporter> {
  const scrub = (text: string) => redactText(text, loaded.secretValues);
  const interactive = process.stdout.isTTY === true && !process.env.CI && !options.verbose && !options.json;
  if (interactive) {
    const { ListrReporter } = await import('../apply/listr-reporter.js');
    return new ListrReporter(scrub, options.hosts);
  }
  const out = options.json ? process.stderr : process.stdout;
  return new LineReporter((line) => out.write(`${line}\n`), options.verbose, scrub);
}
