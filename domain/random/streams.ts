/**
 * Every stream of the seeded generator (prng.ts) that veda draws from, in one place, so no two draws share one.
 * A stream number is part of the data: the same seed and stream give the same windows, ids, cells and batches in
 * every release, so a number here never changes; a new draw takes one nobody uses (test/random-streams.test.ts
 * checks they stay apart). uniformInt and seededPermutation draw from the stream they are given; indexPermutation
 * from four consecutive ones (one per Feistel round), listed here by the first.
 */

/** Batch selection: the shuffle of the cached datapoints before `size` are taken (domain/batches/selection.ts). */
export const BATCH_SELECTION_STREAM = 1;
/** Features plans: the order of the features, and the jitter of each window's centre (domain/windows). */
export const FEATURE_ORDER_STREAM = 3;
export const FEATURE_JITTER_X_STREAM = 4;
export const FEATURE_JITTER_Y_STREAM = 5;
/** Random plans: distinct window positions, an indexPermutation (streams 12-15). */
export const RANDOM_POSITION_STREAMS = 12;

/** Groups a spatial split can have: the cell layout names each with one character (domain/windows/cell-layout.ts). */
export const MAX_SPLIT_GROUPS = 36;
/**
 * The streams of group `g` of a plan inside a cell layout (split-windows.ts): features order and jitter at
 * 64 + 4g (+1, +2), random positions at 4 (64 + 4g) (four streams); for g < MAX_SPLIT_GROUPS these are 64-206
 * and 256-819.
 */
export function cellGroupStreams(g: number): { featureOrder: number; jitterX: number; jitterY: number; positions: number } {
  const base = 64 + 4 * g;
  return { featureOrder: base, jitterX: base + 1, jitterY: base + 2, positions: 4 * base };
}

/** The draw of a layout's cells among the groups (domain/windows/cell-layout.ts). */
export const CELL_DRAW_STREAM = 0xce11;
/** Mini-batch shuffles: epoch e of a batch file draws from EPOCH_STREAMS + e (domain/batches/sample-array.ts). */
export const EPOCH_STREAMS = 0x10000;
/** Epochs stay below this, so their streams never reach the split shuffle's. */
export const MAX_EPOCHS = 2 ** 18;
/** `batch --split`: the shuffle of the drawn samples before they are cut by ratios (domain/batches/partition.ts). */
export const SPLIT_SHUFFLE_STREAM = 0x5b117;
