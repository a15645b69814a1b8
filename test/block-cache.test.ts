import { describe, expect, it } from 'vitest';
import { BlockCache } from '../domain/imagery/block-cache.js';

/** The block cache's bound, its holds and when it disposes of values (blocks kept in WebAssembly memory). */
describe('BlockCache', () => {
  function cache(maxBytes: number) {
    const disposed: string[] = [];
    const loads: string[] = [];
    const blocks = new BlockCache<string>(maxBytes, (value) => disposed.push(value));
    const load = (name: string) => () => {
      loads.push(name);
      return Promise.resolve(name);
    };
    return { blocks, disposed, loads, load };
  }
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('loads a block once, evicts the least recently used past its bound and disposes of what it evicts', async () => {
    const { blocks, disposed, loads, load } = cache(20);
    for (const name of ['a', 'b']) await blocks.get(name.charCodeAt(0), 10, load(name));
    await blocks.get(97, 10, load('a')); // a is now the most recently used
    await blocks.get(99, 10, load('c'));
    await settle();
    expect(loads).toEqual(['a', 'b', 'c']);
    expect(disposed).toEqual(['b']);
    expect(blocks.has(98)).toBe(false);
  });

  it('keeps a held block past its bound, evicting unheld ones instead, and evicts it once released', async () => {
    const { blocks, disposed, load } = cache(10);
    const held = blocks.acquire(1, 10, load('a'));
    await blocks.get(2, 10, load('b')); // over the bound: a is held, so b goes
    await settle();
    expect(blocks.has(1)).toBe(true);
    expect(disposed).toEqual(['b']);
    expect(await held.value).toBe('a');
    held.release();
    await settle();
    expect(disposed).toEqual(['b']); // within the bound again: a stays cached
    await blocks.get(3, 10, load('c'));
    await settle();
    expect(blocks.has(1)).toBe(false);
    expect(disposed).toEqual(['b', 'a']);
  });

  it('disposes of a cleared block when its last reader releases it, once', async () => {
    const { blocks, disposed, load } = cache(100);
    const first = blocks.acquire(1, 10, load('a'));
    const second = blocks.acquire(1, 10, load('a'));
    await blocks.get(2, 10, load('b'));
    blocks.clear();
    await settle();
    expect(disposed).toEqual(['b']);
    first.release();
    await settle();
    expect(disposed).toEqual(['b']);
    second.release();
    await settle();
    expect(disposed).toEqual(['b', 'a']);
  });

  it('disposes of a block too large to cache when its reader is done, and caches no failure', async () => {
    const { blocks, disposed, load } = cache(10);
    const big = blocks.acquire(1, 11, load('big'));
    expect(blocks.has(1)).toBe(false);
    expect(await big.value).toBe('big');
    big.release();
    await settle();
    expect(disposed).toEqual(['big']);
    const failed = blocks.acquire(2, 5, () => Promise.reject(new Error('corrupt')));
    await expect(failed.value).rejects.toThrow('corrupt');
    failed.release();
    await settle();
    expect(blocks.has(2)).toBe(false);
    expect(disposed).toEqual(['big']);
  });
});
