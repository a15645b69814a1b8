/**
 * A window plan as a pure function of (image size, plan, groups[, feature anchors]): the same inputs always give
 * the same windows. Windows are addressable by index, so an activity recomputes only its slice with windowRange.
 */
import { InvalidInputError } from '../errors.js';
import type { GroupCount, PlannedWindow, WindowPlan } from '../types.js';
import { featureWindows } from './feature-windows.js';
import { gridWindows } from './grid-windows.js';
import { randomWindows } from './random-windows.js';
import type { FeatureAnchor, ImageSize, WindowSequence } from './window-sequence.js';
import type { CellLayout } from './cell-layout.js';
import { splitSequences } from './split-windows.js';

const WINDOW_STRATEGIES = ['random', 'grid', 'features'] as const satisfies ReadonlyArray<WindowPlan['strategy']>;

/** More windows than this in one plan is a mistake, not a dataset. */
export const MAX_WINDOWS = 1_000_000;

/**
 * Every window of the plan, in plan order. Groups take consecutive windows: the first `count` go to the first
 * group, and so on.
 * - random: `plan.count` windows; the group counts must add up to it.
 * - grid / features with a count: the first `count` windows (grid: row-major; features: seeded order, cycling
 *   through the features when count exceeds them); the group counts must add up to it.
 * - grid / features without a count: every grid window / one window per feature. With one group it takes them
 *   all (its count is ignored); with several, their counts must add up to that number.
 * With a cell layout (a spatial split, held pixels, a region of interest) each group's windows lie inside its own
 * cells instead (split-windows.ts); the groups still follow each other in plan order.
 * Throws InvalidInputError on a bad image size, tile, stride, count, seed, jitter, group or missing features.
 */
export function planWindows(
  image: ImageSize,
  plan: WindowPlan,
  groups: readonly GroupCount[],
  features?: readonly FeatureAnchor[],
  layout?: CellLayout,
): PlannedWindow[] {
  const planned = preparePlan(image, plan, groups, features, layout);
  return sliceOf(planned, 0, planned.total);
}

/** The number of windows the plan makes (validates like planWindows). */
export function planSize(
  image: ImageSize,
  plan: WindowPlan,
  groups: readonly GroupCount[],
  features?: readonly FeatureAnchor[],
  layout?: CellLayout,
): number {
  return preparePlan(image, plan, groups, features, layout).total;
}

/**
 * Windows [start, end) of the plan, equal to planWindows(...).slice(start, end) but computed without the rest
 * (random and grid in O(end - start); features also shuffles the feature order, O(features)).
 */
export function windowRange(
  image: ImageSize,
  plan: WindowPlan,
  groups: readonly GroupCount[],
  start: number,
  end: number,
  features?: readonly FeatureAnchor[],
  layout?: CellLayout,
): PlannedWindow[] {
  const planned = preparePlan(image, plan, groups, features, layout);
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > planned.total) {
    throw new InvalidInputError(`window range [${start}, ${end}) is outside the plan's ${planned.total} windows`);
  }
  return sliceOf(planned, start, end);
}

/** The windows at these plan indexes (any order, each in [0, planSize)), as planWindows would give them. */
export function windowsAt(
  image: ImageSize,
  plan: WindowPlan,
  groups: readonly GroupCount[],
  indexes: readonly number[],
  features?: readonly FeatureAnchor[],
  layout?: CellLayout,
): PlannedWindow[] {
  const planned = preparePlan(image, plan, groups, features, layout);
  const ends: number[] = [];
  let at = 0;
  for (const g of planned.groups) ends.push((at += g.count));
  if (planned.groups.length === 1) ends[0] = planned.total;
  return indexes.map((index) => {
    if (!Number.isInteger(index) || index < 0 || index >= planned.total) {
      throw new InvalidInputError(`window ${index} is outside the plan's ${planned.total} windows`);
    }
    const g = ends.findIndex((end) => index < end);
    return { ...planned.sequence.at(index), index, group: planned.groups[g]!.group };
  });
}

interface PreparedPlan {
  sequence: WindowSequence;
  total: number;
  groups: readonly GroupCount[];
}

function sliceOf(planned: PreparedPlan, start: number, end: number): PlannedWindow[] {
  const { sequence, groups } = planned;
  const out: PlannedWindow[] = [];
  let groupIndex = 0;
  let groupEnd = groups.length === 1 ? planned.total : groups[0]!.count;
  for (let index = start; index < end; index++) {
    while (index >= groupEnd) groupEnd += groups[++groupIndex]!.count;
    out.push({ ...sequence.at(index), index, group: groups[groupIndex]!.group });
  }
  return out;
}

function preparePlan(
  image: ImageSize,
  plan: WindowPlan,
  groups: readonly GroupCount[],
  features: readonly FeatureAnchor[] | undefined,
  layout?: CellLayout,
): PreparedPlan {
  if (!(WINDOW_STRATEGIES as readonly string[]).includes(plan.strategy)) {
    throw new InvalidInputError(`unknown window strategy '${String(plan.strategy)}' (use random, grid or features)`);
  }
  requirePositiveInteger(image.width, 'image width');
  requirePositiveInteger(image.height, 'image height');
  const tile = checkTile(image, plan.tileSize);
  const count = plan.count === undefined ? undefined : requireCount(plan.count);
  checkGroups(groups);
  let sequence: WindowSequence;
  switch (plan.strategy) {
    case 'random':
      if (count === undefined) throw new InvalidInputError('a random window plan needs a count');
      sequence = randomWindows(image, tile, count, requireSeed(plan.seed));
      break;
    case 'grid': {
      const stride = plan.stride ?? tile;
      requirePositiveInteger(stride[0], 'grid stride x');
      requirePositiveInteger(stride[1], 'grid stride y');
      const grid = gridWindows(image, tile, [stride[0], stride[1]]);
      if (count !== undefined && count > grid.size) {
        throw new InvalidInputError(
          `the grid has ${grid.size} windows of ${tile[0]}x${tile[1]} (stride ${stride[0]}x${stride[1]}) in a ` +
            `${image.width}x${image.height} image; count asks for ${count}`,
        );
      }
      sequence = { size: count ?? grid.size, at: grid.at };
      break;
    }
    case 'features': {
      const anchors = anchorsInside(image, features);
      const jitter = plan.jitter;
      if (!Number.isInteger(jitter) || jitter < 0 || jitter > MAX_WINDOWS) {
        throw new InvalidInputError(`feature jitter ${String(jitter)} must be a non-negative whole number of pixels`);
      }
      sequence = featureWindows(image, tile, anchors, count ?? anchors.length, requireSeed(plan.seed), jitter);
      break;
    }
  }
  if (layout) return splitPlan(image, tile, plan, groups, features, layout);
  if (sequence.size > MAX_WINDOWS) {
    throw new InvalidInputError(
      `the ${plan.strategy} plan makes ${sequence.size} windows, more than ${MAX_WINDOWS}: set a count or a larger stride`,
    );
  }
  const groupTotal = groups.reduce((sum, g) => sum + g.count, 0);
  const usesGroupCounts = count !== undefined || groups.length > 1;
  if (usesGroupCounts && groupTotal !== sequence.size) {
    const listed = groups.map((g) => `${g.group}=${g.count}`).join(', ');
    throw new InvalidInputError(`group counts (${listed}) add up to ${groupTotal}, but the plan has ${sequence.size} windows`);
  }
  return { sequence, total: sequence.size, groups };
}

/** Each group's own sequence from the layout, one after the other in the layout's group order. */
function splitPlan(
  image: ImageSize,
  tile: [number, number],
  plan: WindowPlan,
  groups: readonly GroupCount[],
  features: readonly FeatureAnchor[] | undefined,
  layout: CellLayout,
): PreparedPlan {
  const names = groups.map((g) => g.group);
  if (layout.groups.length !== names.length || layout.groups.some((g, i) => g !== names[i])) {
    throw new InvalidInputError(`the cell layout's groups (${layout.groups.join(', ')}) differ from the plan's (${names.join(', ')})`);
  }
  const parts = splitSequences(image, tile, layout, plan, new Map(groups.map((g) => [g.group, g.count])), features);
  const total = parts.reduce((n, p) => n + p.sequence.size, 0);
  if (total > MAX_WINDOWS) throw new InvalidInputError(`the split ${plan.strategy} plan makes ${total} windows, more than ${MAX_WINDOWS}`);
  const starts: number[] = [];
  let at = 0;
  for (const p of parts) {
    starts.push(at);
    at += p.sequence.size;
  }
  const sequence: WindowSequence = {
    size: total,
    at: (i) => {
      let g = parts.length - 1;
      while (starts[g]! > i || parts[g]!.sequence.size === 0) g--;
      return parts[g]!.sequence.at(i - starts[g]!);
    },
  };
  return { sequence, total, groups: parts.map((p) => ({ group: p.group, count: p.sequence.size })) };
}

function checkTile(image: ImageSize, tileSize: readonly number[] | undefined): [number, number] {
  if (!Array.isArray(tileSize) || tileSize.length !== 2) {
    throw new InvalidInputError(`tile size ${JSON.stringify(tileSize)} must be [width, height]`);
  }
  const [width, height] = tileSize as [number, number];
  requirePositiveInteger(width, 'tile width');
  requirePositiveInteger(height, 'tile height');
  if (width > image.width || height > image.height) {
    throw new InvalidInputError(`tile ${width}x${height} is larger than the ${image.width}x${image.height} image`);
  }
  return [width, height];
}

function checkGroups(groups: readonly GroupCount[]): void {
  if (!Array.isArray(groups) || groups.length === 0) throw new InvalidInputError('a window plan needs at least one group');
  const seen = new Set<string>();
  for (const { group, count } of groups) {
    if (typeof group !== 'string' || group.trim() === '') throw new InvalidInputError(`group name ${JSON.stringify(group)} is empty`);
    if (seen.has(group)) throw new InvalidInputError(`group '${group}' is listed twice`);
    seen.add(group);
    if (!Number.isInteger(count) || count < 0 || count > MAX_WINDOWS) {
      throw new InvalidInputError(`group '${group}' count ${String(count)} must be a whole number from 0 to ${MAX_WINDOWS}`);
    }
  }
}

function anchorsInside(image: ImageSize, features: readonly FeatureAnchor[] | undefined): FeatureAnchor[] {
  if (!features || features.length === 0) throw new InvalidInputError('a features window plan needs label features');
  // Features wholly outside the image would only make windows clamped against its edge, far from any label.
  const inside = features.filter((f) => f.x >= 0 && f.y >= 0 && f.x <= image.width && f.y <= image.height);
  if (inside.length === 0) {
    throw new InvalidInputError(`none of the ${features.length} label features lies inside the ${image.width}x${image.height} image`);
  }
  return inside;
}

function requireCount(count: number): number {
  if (!Number.isInteger(count) || count < 1 || count > MAX_WINDOWS) {
    throw new InvalidInputError(`window count ${String(count)} must be a whole number from 1 to ${MAX_WINDOWS}`);
  }
  return count;
}

function requireSeed(seed: number): number {
  if (!Number.isSafeInteger(seed)) throw new InvalidInputError(`seed ${String(seed)} must be an integer`);
  return seed;
}

function requirePositiveInteger(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 1) throw new InvalidInputError(`${what} ${String(value)} must be a positive integer`);
}
