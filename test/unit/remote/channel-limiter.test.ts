import { describe, expect, it } from 'vitest';
import { ChannelLimiter } from '../../../src/remote/channel-limiter.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('ChannelLimiter', () => {
  it('never lets more than the limit hold a slot, and serves waiters in order', async () => {
    const limiter = new ChannelLimiter(2);
    const order: number[] = [];
    const a = await limiter.acquire();
    const b = await limiter.acquire();
    const waiting = [1, 2, 3].map((n) => limiter.acquire().then((release) => (order.push(n), release)));
    await tick();
    expect(limiter.activeCount).toBe(2);
    expect(order).toEqual([]);
    a();
    a(); // releasing twice is harmless
    await tick();
    expect(order).toEqual([1]);
    expect(limiter.activeCount).toBe(2);
    b();
    await tick();
    expect(order).toEqual([1, 2]);
    const releases = await Promise.all(waiting.slice(0, 2));
    releases[0]?.();
    await tick();
    expect(order).toEqual([1, 2, 3]);
    releases[1]?.();
    (await waiting[2])?.();
    expect(limiter.activeCount).toBe(0);
  });

  it('asks the owner of idle channels to close one when someone has to wait', async () => {
    const limiter = new ChannelLimiter(1);
    let pressure = 0;
    const held = await limiter.acquire();
    limiter.onPressure = () => {
      pressure += 1;
      held(); // the idle channel is closed, freeing the slot
    };
    const release = await limiter.acquire();
    expect(pressure).toBe(1);
    release();
    expect(limiter.activeCount).toBe(0);
  });

  it('adopts a lower limit when the server refuses channels', async () => {
    const limiter = new ChannelLimiter(8);
    const held = await Promise.all([limiter.acquire(), limiter.acquire(), limiter.acquire()]);
    limiter.lowerLimitTo(2);
    expect(limiter.currentLimit).toBe(2);
    let got = false;
    const next = limiter.acquire().then((release) => ((got = true), release));
    held[0]?.();
    await tick();
    expect(got).toBe(false); // 2 still open, limit 2
    held[1]?.();
    await tick();
    expect(got).toBe(true);
    limiter.lowerLimitTo(0);
    expect(limiter.currentLimit).toBe(1);
    (await next)();
    held[2]?.();
  });

  it('rejects nonsense limits', () => {
    expect(() => new ChannelLimiter(0)).toThrow(RangeError);
  });
});
