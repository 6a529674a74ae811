import { setImmediate as nextTurn } from 'node:timers/promises';

export interface WaitOptions {
  /** Give up after this long; the error names what was awaited. */
  timeoutMs?: number;
  /** Pause between checks; 0 polls between event-loop turns. */
  intervalMs?: number;
}

/**
 * Polls `check` until it returns a value other than `undefined`, and resolves with it.
 * Tests await conditions with this instead of sleeping for a guessed time.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  { timeoutMs = 30_000, intervalMs = 50 }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    if (intervalMs > 0) await new Promise((resolve) => setTimeout(resolve, intervalMs));
    else await nextTurn();
  }
}

/** Polls `condition` until it holds. */
export async function waitUntil(
  what: string,
  condition: () => boolean | Promise<boolean>,
  options: WaitOptions = {},
): Promise<void> {
  await waitFor(what, async () => ((await condition()) ? true : undefined), options);
}
