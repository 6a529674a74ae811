/**
 * Fan-out: the same migrations applied to many targets (tenants, shards, environments) under a
 * strategy, with an honest status per target. Pure scheduling: what runs a target is the caller's
 * `run`, so the rules below are the whole of it and unit tests pin them down.
 *
 *   sequential  one at a time; the first failure stops everything; the rest are not_started
 *   parallel    at most maxConcurrent at once; after a failure nothing new starts, running ones finish
 *   rolling     batches of batchSize, each batch in parallel; the next batch starts only when the
 *               whole batch succeeded (completed or skipped)
 *   canary      the first ⌊n·P/100⌋ targets (at least one) one after another; the rest, like
 *               `parallel`, only when every canary succeeded
 * maxConcurrent defaults to 4, batchSize to 1, canaryPercent to 10.
 */

export const FAN_OUT_STRATEGIES = ['sequential', 'parallel', 'rolling', 'canary'] as const;
export type FanOutStrategy = (typeof FAN_OUT_STRATEGIES)[number];

export type TargetStatus = 'completed' | 'failed' | 'skipped' | 'not_started' | 'rolled_back';

export interface FanOutOptions {
  strategy: FanOutStrategy;
  /** parallel, and canary's second stage (default 4). */
  maxConcurrent?: number;
  /** rolling (default 1). */
  batchSize?: number;
  /** canary (default 10). */
  canaryPercent?: number;
  /** Aborted: nothing new starts; running targets see the signal. */
  signal?: AbortSignal;
}

/** What running one target came to. `skipped`: nothing was pending there. */
export interface TargetOutcome {
  status: 'completed' | 'failed' | 'skipped';
  applied: string[];
  error?: string;
}

export interface TargetResult extends Omit<TargetOutcome, 'status'> {
  target: string;
  status: TargetStatus;
  duration_ms: number;
}

export type RunTarget = (target: string, signal: AbortSignal | undefined) => Promise<TargetOutcome>;

/** How many targets the canary stage takes: ⌊n·P/100⌋, at least one, at most all. */
export function canaryCount(total: number, percent: number): number {
  if (total === 0) return 0;
  return Math.min(total, Math.max(1, Math.floor((total * percent) / 100)));
}

/** The order strategies see the targets in: by priority (lower first), then as given. */
export function byPriority<T extends { priority: number }>(targets: readonly T[]): T[] {
  return targets
    .map((target, index) => ({ target, index }))
    .sort((a, b) => a.target.priority - b.target.priority || a.index - b.index)
    .map(({ target }) => target);
}

const succeeded = (result: TargetResult | undefined) => result?.status === 'completed' || result?.status === 'skipped';

async function runOne(target: string, run: RunTarget, signal: AbortSignal | undefined): Promise<TargetResult> {
  const started = Date.now();
  try {
    const outcome = await run(target, signal);
    return { target, ...outcome, duration_ms: Date.now() - started };
  } catch (error) {
    // A target that throws has failed: it is never counted as a success.
    return { target, status: 'failed', applied: [], error: error instanceof Error ? error.message : String(error), duration_ms: Date.now() - started };
  }
}

/** Runs `targets` (in order) at most `limit` at a time; stops starting new ones after a failure or an abort. */
async function pool(targets: readonly string[], limit: number, run: RunTarget, results: Map<string, TargetResult>, signal: AbortSignal | undefined): Promise<boolean> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < targets.length && !failed && !signal?.aborted) {
      const target = targets[next++]!;
      const result = await runOne(target, run, signal);
      results.set(target, result);
      if (!succeeded(result)) failed = true;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, targets.length)) }, worker));
  return !failed && !signal?.aborted;
}

export const DEFAULT_MAX_CONCURRENT = 4;

export async function fanOut(targets: readonly string[], options: FanOutOptions, run: RunTarget): Promise<TargetResult[]> {
  const results = new Map<string, TargetResult>();
  const { signal } = options;
  switch (options.strategy) {
    case 'sequential':
      await pool(targets, 1, run, results, signal);
      break;
    case 'parallel':
      await pool(targets, options.maxConcurrent ?? DEFAULT_MAX_CONCURRENT, run, results, signal);
      break;
    case 'rolling': {
      const size = Math.max(1, options.batchSize ?? 1);
      for (let at = 0; at < targets.length; at += size) {
        const batch = targets.slice(at, at + size);
        // Every member of a batch starts; the next batch needs all of them to succeed.
        await Promise.all(batch.map(async (target) => results.set(target, await runOne(target, run, signal))));
        if (signal?.aborted || !batch.every((target) => succeeded(results.get(target)))) break;
      }
      break;
    }
    case 'canary': {
      const canaries = canaryCount(targets.length, options.canaryPercent ?? 10);
      if (await pool(targets.slice(0, canaries), 1, run, results, signal)) {
        await pool(targets.slice(canaries), options.maxConcurrent ?? DEFAULT_MAX_CONCURRENT, run, results, signal);
      }
      break;
    }
  }
  return targets.map((target) => results.get(target) ?? { target, status: 'not_started', applied: [], duration_ms: 0 });
}

/** Some target failed (the run exits 4). A failed statement is never a success. */
export function anyFailed(results: readonly TargetResult[]): boolean {
  return results.some((result) => result.status === 'failed');
}

/**
 * `--rollback-on-failure`: after a failure, the targets that completed in this run are reverted
 * (newest first); each becomes `rolled_back`, or stays `completed` with the revert's error.
 */
export async function rollBackCompleted(results: readonly TargetResult[], revert: (result: TargetResult) => Promise<void>): Promise<TargetResult[]> {
  if (!anyFailed(results)) return [...results];
  const out = [...results];
  for (let index = out.length - 1; index >= 0; index--) {
    const result = out[index]!;
    if (result.status !== 'completed' || result.applied.length === 0) continue;
    try {
      await revert(result);
      out[index] = { ...result, status: 'rolled_back' };
    } catch (error) {
      out[index] = { ...result, error: `rollback failed: ${error instanceof Error ? error.message : String(error)}` };
    }
  }
  return out;
}
