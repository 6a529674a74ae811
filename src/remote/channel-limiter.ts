/**
 * Bounds how many SSH channels are open at once on one connection. sshd refuses channels past
 * its MaxSessions (10 by default), so callers wait here instead of failing.
 *
 * Idle kept-alive Docker API channels would otherwise hold slots while other work waits for
 * one (a deadlock seen in practice): whenever someone has to wait, `onPressure` is called so the
 * owner of idle channels can close one.
 */
export type ReleaseSlot = () => void;

export class ChannelLimiter {
  private limit: number;
  private active = 0;
  private readonly waiters: Array<() => void> = [];
  onPressure: (() => void) | undefined;

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('channel limit must be a positive integer');
    this.limit = limit;
  }

  get activeCount(): number {
    return this.active;
  }

  get currentLimit(): number {
    return this.limit;
  }

  get hasWaiters(): boolean {
    return this.waiters.length > 0;
  }

  async acquire(): Promise<ReleaseSlot> {
    if (this.active >= this.limit) {
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        this.onPressure?.();
      });
    } else {
      this.active += 1;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.releaseOne();
    };
  }

  /**
   * The server refused a channel while `othersOpen` others were open: its real limit is lower
   * than ours, so adopt that limit (never below 1).
   */
  lowerLimitTo(othersOpen: number): void {
    this.limit = Math.max(1, Math.min(this.limit, othersOpen));
  }

  private releaseOne(): void {
    // Hand the slot straight to the next waiter (active stays the same) while under the limit.
    if (this.active <= this.limit) {
      const next = this.waiters.shift();
      if (next) {
        next();
        return;
      }
    }
    this.active -= 1;
  }
}
