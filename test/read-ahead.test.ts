import { describe, expect, it } from 'vitest';
import { batchesOf, eachConcurrently, eachLoadingNext, loadedAhead } from '../activities/read-ahead.js';

/** The I/O overlap helpers of the chunk and batch activities: order, bounds on what is in flight, and failures. */
describe('read-ahead helpers', () => {
  const tick = () => new Promise((resolve) => setImmediate(resolve));

  it('batchesOf cuts items into consecutive batches', () => {
    expect(batchesOf([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(batchesOf([], 3)).toEqual([]);
  });

  it('eachLoadingNext uses items in order with the next one loading', async () => {
    const events: string[] = [];
    await eachLoadingNext(
      [1, 2, 3],
      async (n) => {
        events.push(`load ${n}`);
        return n * 10;
      },
      async (value, n) => {
        events.push(`use ${n}=${value}`);
        await tick();
      },
    );
    expect(events).toEqual(['load 1', 'load 2', 'use 1=10', 'load 3', 'use 2=20', 'use 3=30']);
  });

  it('eachConcurrently runs every item with at most `limit` in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const done: number[] = [];
    await eachConcurrently(
      Array.from({ length: 20 }, (_, i) => i),
      4,
      async (n, i) => {
        expect(i).toBe(n);
        inFlight++;
        most = Math.max(most, inFlight);
        for (let k = 0; k < (n % 3) + 1; k++) await tick();
        inFlight--;
        done.push(n);
      },
    );
    expect(most).toBe(4);
    expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    await eachConcurrently([], 4, async () => {
      throw new Error('never called');
    });
  });

  it('eachConcurrently stops starting items after a failure and throws it once those in flight are done', async () => {
    const started: number[] = [];
    let finished = 0;
    const run = eachConcurrently(Array.from({ length: 20 }, (_, i) => i), 3, async (n) => {
      started.push(n);
      await tick();
      if (n === 4) throw new Error('disk full');
      await tick();
      finished++;
    });
    await expect(run).rejects.toThrow('disk full');
    expect(started.length).toBeLessThan(10);
    expect(finished).toBe(started.length - 1); // every other item started ran to its end before the throw
  });

  it('loadedAhead yields values in order with at most `depth` loading, and a failure ahead throws at its turn', async () => {
    let loading = 0;
    let most = 0;
    const loads = Array.from({ length: 12 }, (_, i) => async () => {
      loading++;
      most = Math.max(most, loading);
      for (let k = 0; k < 12 - i; k++) await tick(); // later loads finish first
      loading--;
      if (i === 9) throw new Error(`chip ${i} missing`);
      return i;
    });
    const seen: number[] = [];
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await expect(
        (async () => {
          for await (const value of loadedAhead(loads, 4)) {
            seen.push(value);
            await tick();
          }
        })(),
      ).rejects.toThrow('chip 9 missing');
      await tick();
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(most).toBeLessThanOrEqual(4);
    expect(unhandled).toEqual([]);
  });
});
