/**
 * The leakage check: which pixels two groups of a dataset share, which windows sit in two groups, and what each
 * group holds per class. Pixels are counted exactly on a per-source mask over the windows' extent, one bit per
 * group, so overlapping windows of one group count their pixels once.
 */
import { InvalidInputError } from '../errors.js';
import { boundsOfWindows } from '../geo/bounds.js';
import type { Label, MlType, PixelWindow, SegmentationLabel } from '../types.js';

/** What the check needs of a datapoint (fed or ingested alike). */
export interface CheckedPoint {
  group: string;
  source: string;
  window: PixelWindow;
  label: Label;
}

export interface GroupSummary {
  datapoints: number;
  /** Distinct pixels the group's windows cover. */
  pixels: number;
  /** Per class: windows where it is present (classification), boxes (detection), or labelled pixels (segmentation). */
  classes: Record<string, number>;
}

export interface GroupPair {
  groups: [string, string];
  /** Distinct pixels covered by windows of both groups. */
  sharedPixels: number;
  /** sharedPixels as a share of each group's pixels. */
  share: Record<string, number>;
  /** Windows (same source and offsets) present in both groups. */
  duplicateWindows: number;
}

export interface LeakageReport {
  datapoints: number;
  /** The unit of `classes` in each group summary. */
  classUnit: 'windows' | 'boxes' | 'pixels';
  groups: Record<string, GroupSummary>;
  /** Every pair of groups, in group order. */
  pairs: GroupPair[];
  /** True when any two groups share a pixel. */
  leaks: boolean;
}

/** Masks above this many pixels (per source, the windows' extent) would take too much memory. */
const MAX_MASK_PIXELS = 400_000_000;
const MAX_GROUPS = 32;

export function checkLeakage(points: Iterable<CheckedPoint>, mlType: MlType, classes: readonly string[]): LeakageReport {
  const bySource = new Map<string, CheckedPoint[]>();
  const groups: string[] = [];
  const summaries: Record<string, GroupSummary> = {};
  let datapoints = 0;
  for (const p of points) {
    datapoints++;
    let list = bySource.get(p.source);
    if (!list) bySource.set(p.source, (list = []));
    list.push(p);
    if (!summaries[p.group]) {
      groups.push(p.group);
      summaries[p.group] = { datapoints: 0, pixels: 0, classes: Object.fromEntries(classes.map((c) => [c, 0])) };
    }
    const summary = summaries[p.group]!;
    summary.datapoints++;
    addClasses(summary.classes, p.label, mlType, classes);
  }
  if (groups.length > MAX_GROUPS) throw new InvalidInputError(`the leakage check handles at most ${MAX_GROUPS} groups (the dataset has ${groups.length})`);
  const bit = new Map(groups.map((g, i) => [g, i]));
  const shared = groups.map(() => new Array<number>(groups.length).fill(0));
  const duplicates = groups.map(() => new Array<number>(groups.length).fill(0));

  for (const list of bySource.values()) {
    const [minX, minY, maxX, maxY] = boundsOfWindows(list.map((p) => p.window));
    const w = maxX - minX;
    const h = maxY - minY;
    if (w * h > MAX_MASK_PIXELS) throw new InvalidInputError(`windows of ${list[0]!.source} span ${w}x${h} pixels, too many for the leakage check`);
    const mask = new Uint32Array(w * h);
    const where = new Map<string, number>();
    for (const p of list) {
      const g = bit.get(p.group)!;
      const flag = (1 << g) >>> 0;
      const { x, y, width, height } = p.window;
      const key = `${x},${y},${width},${height}`;
      where.set(key, (where.get(key) ?? 0) | flag);
      for (let row = y - minY; row < y - minY + height; row++) {
        const base = row * w + (x - minX);
        for (let col = 0; col < width; col++) mask[base + col]! |= flag;
      }
    }
    for (const flags of where.values()) forPairs(flags, groups.length, (a, b) => duplicates[a]![b]!++);
    for (let i = 0; i < mask.length; i++) {
      const flags = mask[i]!;
      if (flags === 0) continue;
      if ((flags & (flags - 1)) === 0) {
        summaries[groups[31 - Math.clz32(flags)]!]!.pixels++;
        continue;
      }
      for (let g = 0; g < groups.length; g++) if (flags & (1 << g)) summaries[groups[g]!]!.pixels++;
      forPairs(flags, groups.length, (a, b) => shared[a]![b]!++);
    }
  }

  const pairs: GroupPair[] = [];
  for (let a = 0; a < groups.length; a++) {
    for (let b = a + 1; b < groups.length; b++) {
      const [ga, gb] = [groups[a]!, groups[b]!];
      const n = shared[a]![b]!;
      pairs.push({
        groups: [ga, gb],
        sharedPixels: n,
        share: { [ga]: ratio(n, summaries[ga]!.pixels), [gb]: ratio(n, summaries[gb]!.pixels) },
        duplicateWindows: duplicates[a]![b]!,
      });
    }
  }
  const classUnit = mlType === 'classification' ? 'windows' : mlType === 'object_detection' ? 'boxes' : 'pixels';
  return { datapoints, classUnit, groups: summaries, pairs, leaks: pairs.some((p) => p.sharedPixels > 0) };
}

/**
 * How much windows overlap each other, whatever their group: what a random re-split would leak across splits.
 * Returns the windows that share a pixel with another window and the share of covered pixels in two or more.
 */
export function windowOverlap(points: Iterable<Pick<CheckedPoint, 'source' | 'window'>>): { windows: number; overlapping: number; pixelShare: number } {
  const bySource = new Map<string, PixelWindow[]>();
  let windows = 0;
  for (const p of points) {
    windows++;
    let list = bySource.get(p.source);
    if (!list) bySource.set(p.source, (list = []));
    list.push(p.window);
  }
  let overlapping = 0;
  let covered = 0;
  let multiple = 0;
  for (const list of bySource.values()) {
    const [minX, minY, maxX, maxY] = boundsOfWindows(list);
    const w = maxX - minX;
    const count = new Uint8Array(w * (maxY - minY));
    const each = (win: PixelWindow, fn: (i: number) => void) => {
      for (let row = win.y - minY; row < win.y - minY + win.height; row++) {
        const base = row * w + (win.x - minX);
        for (let col = 0; col < win.width; col++) fn(base + col);
      }
    };
    for (const win of list) each(win, (i) => { if (count[i]! < 255) count[i]!++; });
    for (const win of list) {
      let hit = false;
      each(win, (i) => { if (count[i]! > 1) hit = true; });
      if (hit) overlapping++;
    }
    for (const c of count) {
      if (c > 0) covered++;
      if (c > 1) multiple++;
    }
  }
  return { windows, overlapping, pixelShare: ratio(multiple, covered) };
}

function forPairs(flags: number, n: number, fn: (a: number, b: number) => void): void {
  if ((flags & (flags - 1)) === 0) return;
  for (let a = 0; a < n; a++) {
    if (!(flags & (1 << a))) continue;
    for (let b = a + 1; b < n; b++) if (flags & (1 << b)) fn(a, b);
  }
}

function addClasses(into: Record<string, number>, label: Label, mlType: MlType, classes: readonly string[]): void {
  if (mlType === 'classification') {
    (label as number[]).forEach((v, i) => { if (v && classes[i] !== undefined) into[classes[i]!]! += 1; });
  } else if (mlType === 'object_detection') {
    (label as Array<unknown[]>).forEach((boxes, i) => { if (classes[i] !== undefined) into[classes[i]!]! += boxes.length; });
  } else {
    const { runs } = label as SegmentationLabel;
    for (let k = 0; k + 1 < runs.length; k += 2) {
      const cls = classes[runs[k]! - 1];
      if (cls !== undefined) into[cls]! += runs[k + 1]!;
    }
  }
}

function ratio(n: number, of: number): number {
  return of === 0 ? 0 : Math.round((n / of) * 1e6) / 1e6;
}
