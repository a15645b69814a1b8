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
