/**
 * Window plans under a cell layout: each group's windows lie inside its own cells (see cell-layout.ts). Each
 * group's windows are addressable by index like the plain plans, so a chunk recomputes only its slice.
 */
import { InvalidInputError } from '../errors.js';
import type { WindowPlan } from '../types.js';
import { groupRanges, rangeSize, type CellLayout, type CellRange } from './cell-layout.js';
import { indexPermutation, seededPermutation, uniformInt } from '../random/prng.js';
import { cellGroupStreams } from '../random/streams.js';
import type { FeatureAnchor, ImageSize, WindowSequence } from './window-sequence.js';

export interface GroupSequence {
  group: string;
  sequence: WindowSequence;
}

/**
 * One window sequence per group of the layout.
 * - random: `count` distinct corners drawn from the group's cells (a seeded permutation of every corner there).
 * - grid: the grid windows (row-major) that lie inside one of the group's cells.
 * - features: windows centred on the features whose anchor falls in one of the group's cells, shifted inside that
 *   cell; in a seeded order, cycling when the count exceeds them.
 * With counts (random always; grid and features when the plan has a count) a group takes exactly its count, and a
 * group whose cells cannot hold it is an InvalidInputError; without, grid and features take every window there is.
 */
export function splitSequences(
  image: ImageSize,
  tile: [number, number],
  layout: CellLayout,
  plan: WindowPlan,
  counts: ReadonlyMap<string, number>,
  anchors?: readonly FeatureAnchor[],
): GroupSequence[] {
  const ranges = groupRanges(layout, image, tile);
  const [width, height] = tile;
  return layout.groups.map((group, g) => {
    const wanted = plan.strategy === 'random' || plan.count !== undefined ? (counts.get(group) ?? 0) : undefined;
    const streams = cellGroupStreams(g);
    let sequence: WindowSequence;
    switch (plan.strategy) {
      case 'random':
        sequence = randomInCells(ranges[g]!, tile, wanted!, plan.seed, streams.positions);
        break;
      case 'grid': {
        const stride = plan.stride ?? tile;
        const corners = gridCornersIn(ranges[g]!, image, tile, stride);
        sequence = { size: corners.length, at: (i) => ({ ...corners[i]!, width, height }) };
        break;
      }
      case 'features':
        sequence = featuresInCells(ranges[g]!, layout, image, tile, anchors ?? [], wanted, plan.seed, plan.jitter, streams);
        break;
    }
    if (wanted !== undefined) {
      if (sequence.size < wanted || (wanted > 0 && sequence.size === 0)) {
        throw new InvalidInputError(
          `group '${group}' asks for ${wanted} ${plan.strategy} windows, but its ${ranges[g]!.length} cells of ${layout.cell} px hold ` +
            `only ${sequence.size}: lower its count, or use a smaller cell or buffer`,
        );
      }
      sequence = { size: wanted, at: sequence.at };
    }
    return { group, sequence };
  });
}

function randomInCells(ranges: CellRange[], tile: [number, number], count: number, seed: number, firstStream: number): WindowSequence {
  const starts: number[] = [];
  let total = 0;
  for (const r of ranges) {
    starts.push(total);
    total += rangeSize(r);
  }
  if (count === 0 || total === 0) return { size: count === 0 ? 0 : Math.min(count, total), at: () => { throw new RangeError('empty'); } };
  const position = indexPermutation(total, seed, firstStream);
  return {
    size: Math.min(count, total),
    at: (i) => {
      const p = position(i);
      let lo = 0;
      let hi = starts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid]! <= p) lo = mid;
        else hi = mid - 1;
      }
      const r = ranges[lo]!;
      const offset = p - starts[lo]!;
      const columns = r.xMax - r.xMin + 1;
      return { x: r.xMin + (offset % columns), y: r.yMin + Math.floor(offset / columns), width: tile[0], height: tile[1] };
    },
  };
}

function gridCornersIn(ranges: CellRange[], image: ImageSize, tile: [number, number], stride: [number, number]) {
  const columns = Math.floor((image.width - tile[0]) / stride[0]) + 1;
  const rows = Math.floor((image.height - tile[1]) / stride[1]) + 1;
  const corners: Array<{ x: number; y: number; order: number }> = [];
  for (const r of ranges) {
    // Grid corners inside the range: multiples of the stride between its bounds.
    for (let y = Math.ceil(r.yMin / stride[1]) * stride[1]; y <= r.yMax; y += stride[1]) {
      for (let x = Math.ceil(r.xMin / stride[0]) * stride[0]; x <= r.xMax; x += stride[0]) {
        const col = x / stride[0];
        const row = y / stride[1];
        if (col < columns && row < rows) corners.push({ x, y, order: row * columns + col });
      }
    }
  }
  // Row-major like the plain grid plan, whatever order the cells came in.
  corners.sort((a, b) => a.order - b.order);
  return corners.map(({ x, y }) => ({ x, y }));
}

function featuresInCells(
  ranges: CellRange[],
  layout: CellLayout,
  image: ImageSize,
  tile: [number, number],
  anchors: readonly FeatureAnchor[],
  wanted: number | undefined,
  seed: number,
  jitter: number,
  streams: { featureOrder: number; jitterX: number; jitterY: number },
): WindowSequence {
  const byCell = new Map(ranges.map((r) => [r.cell, r]));
  const mine: Array<{ anchor: FeatureAnchor; range: CellRange }> = [];
  for (const anchor of anchors) {
    if (anchor.x < 0 || anchor.y < 0 || anchor.x > image.width || anchor.y > image.height) continue;
    const col = Math.min(Math.floor(anchor.x / layout.cell), layout.columns - 1);
    const row = Math.min(Math.floor(anchor.y / layout.cell), layout.rows - 1);
    const range = byCell.get(row * layout.columns + col);
    if (range) mine.push({ anchor, range });
  }
  const order = seededPermutation(mine.length, seed, streams.featureOrder);
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  return {
    size: mine.length === 0 ? 0 : (wanted ?? mine.length),
    at: (i) => {
      const { anchor, range } = mine[order[i % mine.length]!]!;
      const dx = uniformInt(seed, i, streams.jitterX, 2 * jitter) - jitter;
      const dy = uniformInt(seed, i, streams.jitterY, 2 * jitter) - jitter;
      return {
        x: clamp(Math.round(anchor.x - tile[0] / 2) + dx, range.xMin, range.xMax),
        y: clamp(Math.round(anchor.y - tile[1] / 2) + dy, range.yMin, range.yMax),
        width: tile[0],
        height: tile[1],
      };
    },
  };
}
