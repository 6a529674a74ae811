import type { CommonOptions } from '../context.js';
import { loadForCommand } from '../context.js';
import { UserError } from '../../errors.js';
import { runPruneCommand } from '../../ops/prune.js';
import { quoteValue } from '../../user-text.js';

export interface PruneOptions extends CommonOptions {
  keep?: string;
  dryRun: boolean;
}

function keepOption(value: string | undefined, retain: number): number {
  if (value === undefined) return retain;
  if (!/^\d+$/.test(value.trim())) throw new UserError(`--keep ${quoteValue(value)} is not a whole number >= 0`);
  return Number(value.trim());
}

export async function runPrune(options: PruneOptions): Promise<void> {
  const loaded = await loadForCommand(options);
  const keep = keepOption(options.keep, loaded.config.retain);
  await runPruneCommand(loaded, { keep, dryRun: options.dryRun, out: (line) => process.stdout.write(`${line}\n`) });
}
