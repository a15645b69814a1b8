/**
 * Batches used in order while the next one loads: the chunk activities label or read a batch (on the compute
 * threads) while they post or store the one before.
 */

/** `items` cut into consecutive batches of at most `size`. */
export function batchesOf<T>(items: readonly T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}

/**
 * Calls `use` on each item's loaded value, in order, with the next item's `load` already under way. A load that fails
 * while the item before it is used throws when its turn comes (or never, when `use` throws first), not as an
 * unhandled rejection.
 */
export async function eachLoadingNext<T, R>(
  items: readonly T[],
  load: (item: T) => Promise<R>,
  use: (loaded: R, item: T, index: number) => Promise<void>,
): Promise<void> {
  const start = (item: T) => {
    const loading = load(item);
    loading.catch(() => {});
    return loading;
  };
  let next = items.length > 0 ? start(items[0]!) : null;
  for (let i = 0; next; i++) {
    const loaded = await next;
    next = i + 1 < items.length ? start(items[i + 1]!) : null;
    await use(loaded, items[i]!, i);
  }
}

/** Chips stored or read at once: each is a few file-system calls (or a request to an object store). */
export const CHIP_WRITES = 8;
export const CHIP_READS_AHEAD = 8;

/**
 * Calls `run` on every item with at most `limit` calls in flight (chip files: each is a few file-system calls on
 * libuv's threads, which one at a time leave the worker waiting). Stops starting calls after the first failure, and
 * throws it once the calls in flight are done.
 */
export async function eachConcurrently<T>(items: readonly T[], limit: number, run: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        await run(items[i]!, i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const lanes = Array.from({ length: Math.min(limit, items.length) }, lane);
  const settled = await Promise.allSettled(lanes);
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) throw failure.reason;
}

/**
 * The values of `loads`, in order, with up to `depth` of them loading ahead of the one the caller is at. A load that
 * fails ahead of its turn throws when its turn comes, not as an unhandled rejection; loads ahead of a caller that
 * stops early are left to finish unobserved.
 */
export async function* loadedAhead<R>(loads: Iterable<() => Promise<R>>, depth: number): AsyncGenerator<R> {
  const queue: Array<Promise<R>> = [];
  const iterator = loads[Symbol.iterator]();
  const fill = () => {
    while (queue.length < depth) {
      const step = iterator.next();
      if (step.done) return;
      const loading = step.value();
      loading.catch(() => {});
      queue.push(loading);
    }
  };
  fill();
  while (queue.length > 0) {
    const value = await queue.shift()!;
    fill();
    yield value;
  }
}
