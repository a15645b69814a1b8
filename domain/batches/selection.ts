/**
 * Which datapoints go into a batch, and into which HDF5 group: a pure, seeded function of the dataset's
 * datapoints and the batch options, so a retried or scheduled build selects the same samples.
 */
import { InvalidInputError } from '../errors.js';
import { BATCH_SELECTION_STREAM } from '../random/streams.js';
import { seededShuffle, splitInOrder } from './partition.js';

export interface BatchSelectionOptions {
  /** Samples to take (all when omitted). */
  size?: number;
  /** Data groups to draw from (all when omitted). */
  groups?: string[];
  /** Re-partition the drawn samples into new groups by ratios, e.g. { train: 70, test: 20, validate: 10 }. */
  split?: Record<string, number>;
  seed: number;
  /** Shuffle before taking `size` (default true); without it, samples keep posting order. */
  shuffle?: boolean;
}

/** Shuffles (seeded), takes `size`, then assigns output groups: by ratio runs with `split`, else each sample's own. */
export function selectBatch<T extends { group: string }>(
  candidates: readonly T[],
  options: BatchSelectionOptions,
): Array<{ item: T; group: string }> {
  const { size, groups, split, seed } = options;
  if (size !== undefined && (!Number.isInteger(size) || size < 1)) throw new InvalidInputError(`batch size ${size} must be a positive integer`);
  const wanted = groups?.length ? new Set(groups) : null;
  const pool = wanted ? candidates.filter((c) => wanted.has(c.group)) : [...candidates];
  if (pool.length === 0) {
    throw new InvalidInputError(
      wanted ? `no cached datapoints in group(s) ${[...wanted].join(', ')}` : 'the dataset has no cached datapoints to batch',
    );
  }
  const ordered = options.shuffle === false ? pool : seededShuffle(pool, seed, BATCH_SELECTION_STREAM);
  const taken = size === undefined ? ordered : ordered.slice(0, size);
  if (!split) return taken.map((item) => ({ item, group: item.group }));
  return Object.entries(splitInOrder(taken, split)).flatMap(([group, items]) => items.map((item) => ({ item, group })));
}
