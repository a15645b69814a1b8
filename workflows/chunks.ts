/** Chunking and bounded parallelism for workflows: pure, deterministic helpers. */

export interface ChunkRange {
  start: number;
  end: number;
}

/**
 * Splits [0, total) into chunks of `chunkSize`, growing the chunk so a workflow never schedules more than
 * `maxChunks` activities: that keeps the event history far below Temporal's limits without continue-as-new.
 */
export function chunkRanges(total: number, chunkSize: number, maxChunks = 2000): ChunkRange[] {
  const size = Math.max(chunkSize, Math.ceil(total / maxChunks), 1);
  const ranges: ChunkRange[] = [];
  for (let start = 0; start < total; start += size) ranges.push({ start, end: Math.min(total, start + size) });
  return ranges;
}

/** Runs `fn` over items with at most `parallelism` in flight; results keep the items' order. */
export async function mapBounded<T, R>(items: T[], parallelism: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | null = null;
  // After a failure no new item starts, and the call settles only when the items in flight have: a failed ingest
  // takes back what it posted, so no chunk may still be posting then.
  const lanes = Array.from({ length: Math.max(1, Math.min(parallelism, items.length)) }, async () => {
    while (next < items.length && !failure) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!, i);
      } catch (error) {
        failure ??= { error };
      }
    }
  });
  await Promise.all(lanes);
  if (failure) throw (failure as { error: unknown }).error;
  return results;
}
