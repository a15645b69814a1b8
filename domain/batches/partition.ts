import { InvalidInputError } from '../errors.js';
import { seededPermutation } from '../random/prng.js';
import { SPLIT_SHUFFLE_STREAM } from '../random/streams.js';

/**
 * Splits `total` items by `ratios` (e.g. { train: 70, test: 20, validation: 10 }) with largest-remainder
 * rounding: each group gets the floor of its exact share, and the items left over go one each to the largest
 * remainders, ties to the group listed first. The counts always sum to `total`; a zero ratio always gets 0.
 */
export function partitionCounts(total: number, ratios: Record<string, number>): Record<string, number> {
  if (!Number.isSafeInteger(total) || total < 0) {
    throw new InvalidInputError(`a split needs a non-negative whole number of items, got ${total}`);
  }
  const entries = Object.entries(ratios);
  if (entries.length === 0) throw new InvalidInputError('a split needs at least one group');
  for (const [name, ratio] of entries) {
    if (!Number.isFinite(ratio) || ratio < 0) throw new InvalidInputError(`split ratio of ${name} must be >= 0, got ${ratio}`);
  }
  const sum = entries.reduce((acc, [, ratio]) => acc + ratio, 0);
  if (!(sum > 0)) throw new InvalidInputError(`split ratios must not all be zero: ${JSON.stringify(ratios)}`);

  // Shares are rounded to 1e-9 so ratios like 0.7/0.2/0.1 (whose float sum is not exactly 1) floor as intended.
  const shares = entries.map(([, ratio]) => Math.round(((total * ratio) / sum) * 1e9) / 1e9);
  const counts = shares.map(Math.floor);
  let left = total - counts.reduce((a, b) => a + b, 0);
  const byRemainder = shares
    .map((share, index) => ({ index, remainder: share - Math.floor(share) }))
    .filter(({ index }) => entries[index]![1] > 0)
    .sort((a, b) => b.remainder - a.remainder || a.index - b.index);
  for (let k = 0; left > 0; k = (k + 1) % byRemainder.length, left--) counts[byRemainder[k]!.index]! += 1;
  return Object.fromEntries(entries.map(([name], index) => [name, counts[index]!]));
}

/**
 * Shuffles `items` with `seed` and cuts the shuffled list with splitInOrder. The same items, ratios and seed
 * always give the same split.
 */
export function partitionSamples<T>(items: readonly T[], ratios: Record<string, number>, seed: number): Record<string, T[]> {
  return splitInOrder(seededShuffle(items, seed, SPLIT_SHUFFLE_STREAM), ratios);
}

/** Cuts `items`, in their order, into consecutive runs of `partitionCounts` sizes, one per group of `ratios`. */
export function splitInOrder<T>(items: readonly T[], ratios: Record<string, number>): Record<string, T[]> {
  const groups: Record<string, T[]> = {};
  let at = 0;
  for (const [name, count] of Object.entries(partitionCounts(items.length, ratios))) {
    groups[name] = items.slice(at, at + count);
    at += count;
  }
  return groups;
}

/** A shuffled copy of `items` (Fisher-Yates on the seeded generator, drawing from `stream` of domain/random/streams.ts). */
export function seededShuffle<T>(items: readonly T[], seed: number, stream: number): T[] {
  if (!Number.isSafeInteger(seed)) throw new InvalidInputError(`a shuffle seed must be an integer, got ${seed}`);
  return Array.from(seededPermutation(items.length, seed, stream), (i) => items[i]!);
}
