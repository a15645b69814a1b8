/** The worker's bounded caches: opened once, bounded, and never disposed while an activity still holds a lease. */
import { describe, expect, it } from 'vitest';
import { BoundedCache } from '../compute/bounded-cache.js';

function tracked() {
  const opened: string[] = [];
  const disposed: string[] = [];
  const cache = new BoundedCache<string>(2, (v) => {
    disposed.push(v);
  });
  const open = (key: string) => () => {
    opened.push(key);
    return Promise.resolve(key);
  };
  return { cache, open, opened, disposed };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('a bounded cache', () => {
  it('opens a key once for concurrent users', async () => {
    const { cache, open, opened } = tracked();
    const a = cache.acquire('a', open('a'));
    const b = cache.acquire('a', open('a'));
    expect(await a.value).toBe('a');
    expect(await b.value).toBe('a');
    expect(opened).toEqual(['a']);
  });

  it('evicts the least recently used entry beyond its capacity, disposing idle ones at once', async () => {
    const { cache, open, disposed } = tracked();
    for (const key of ['a', 'b', 'c']) cache.acquire(key, open(key)).release();
    await settle();
    expect(disposed).toEqual(['a']);
  });

  it('disposes an entry evicted while leased only when the lease is released', async () => {
    const { cache, open, disposed } = tracked();
    const held = cache.acquire('a', open('a'));
    cache.acquire('b', open('b')).release();
    cache.acquire('c', open('c')).release();
    await settle();
    expect(disposed).toEqual([]);
    held.release();
    held.release(); // releasing twice is harmless
    await settle();
    expect(disposed).toEqual(['a']);
  });

  it('does not keep a failed open', async () => {
    const { cache } = tracked();
    const failing = cache.acquire('x', () => Promise.reject(new Error('no such file')));
    await expect(failing.value).rejects.toThrow('no such file');
    failing.release();
    await settle();
    const retry = cache.acquire('x', () => Promise.resolve('x'));
    expect(await retry.value).toBe('x');
  });

  it('keeps the most recently used entries', async () => {
    const { cache, open, disposed } = tracked();
    cache.acquire('a', open('a')).release();
    cache.acquire('b', open('b')).release();
    cache.acquire('a', open('a')).release(); // a is used again: b is now the oldest
    cache.acquire('c', open('c')).release();
    await settle();
    expect(disposed).toEqual(['b']);
  });

  it('disposes every entry once on clear, leased or not', async () => {
    const { cache, open, disposed } = tracked();
    const held = cache.acquire('a', open('a'));
    cache.acquire('b', open('b')).release();
    await cache.clear();
    expect(disposed.sort()).toEqual(['a', 'b']);
    held.release();
    await settle();
    expect(disposed).toHaveLength(2);
  });
});
