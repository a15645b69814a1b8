/**
 * Spatially separate groups, as pure window plans: for many seeds and all three plan types, windows of two groups
 * never share a pixel and keep the buffer between them; earlier windows of other groups are never overlapped.
 */
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../domain/errors.js';
import type { GroupCount, PixelWindow, PlannedWindow, WindowPlan } from '../domain/types.js';
import { checkLeakage, windowOverlap } from '../domain/splits/leakage.js';
import { cellsPerGroup, drawCellLayout, planWindows, windowRange, type CellLayout, type HeldWindow } from '../domain/windows/index.js';

const IMAGE = { width: 1000, height: 800 };
const TILE: [number, number] = [64, 48];
const GROUPS: GroupCount[] = [
  { group: 'train', count: 70 },
  { group: 'val', count: 20 },
  { group: 'test', count: 10 },
];

/** Pixels between two windows along the axis that separates them most (negative: they overlap). */
function gap(a: PixelWindow, b: PixelWindow): number {
  const gx = Math.max(b.x - (a.x + a.width), a.x - (b.x + b.width));
  const gy = Math.max(b.y - (a.y + a.height), a.y - (b.y + b.height));
  return Math.max(gx, gy);
}

function expectSeparated(windows: readonly (PixelWindow & { group: string })[], buffer: number): void {
  for (let i = 0; i < windows.length; i++) {
    for (let j = i + 1; j < windows.length; j++) {
      const [a, b] = [windows[i]!, windows[j]!];
      if (a.group !== b.group && gap(a, b) < buffer) expect.fail(`${JSON.stringify(a)} and ${JSON.stringify(b)} are ${gap(a, b)} px apart`);
    }
  }
}

function anchorsFor(seed: number) {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return Array.from({ length: 300 }, () => ({ x: next() * IMAGE.width, y: next() * IMAGE.height }));
}

function plans(seed: number): Array<[string, WindowPlan]> {
  return [
    ['random', { strategy: 'random', count: 100, seed, tileSize: TILE }],
    ['grid', { strategy: 'grid', tileSize: TILE, stride: [16, 16], count: 100 }],
    ['features', { strategy: 'features', tileSize: TILE, seed, jitter: 20, count: 100 }],
  ];
}

describe('spatially split window plans', () => {
  for (const buffer of [0, 9]) {
    it(`share no pixel between groups and keep a ${buffer} px buffer, for 40 seeds and all three plans`, () => {
      for (let seed = 1; seed <= 40; seed++) {
        const layout = drawCellLayout({ image: IMAGE, tile: TILE, groups: GROUPS, seed, buffer, spatial: true });
        for (const [name, plan] of plans(seed)) {
          const windows = planWindows(IMAGE, plan, GROUPS, anchorsFor(seed), layout);
          expect(windows, `${name} seed ${seed}`).toHaveLength(100);
          const counts = Object.fromEntries(GROUPS.map((g) => [g.group, windows.filter((w) => w.group === g.group).length]));
          expect(counts).toEqual({ train: 70, val: 20, test: 10 });
          for (const w of windows) expect(w.x >= 0 && w.y >= 0 && w.x + w.width <= IMAGE.width && w.y + w.height <= IMAGE.height).toBe(true);
          expectSeparated(windows, buffer);
          const report = checkLeakage(windows.map((w) => ({ ...w, source: 'a.tif', window: w, label: [1, 0] })), 'classification', ['a', 'b']);
          expect(report.leaks).toBe(false);
        }
      }
    });
  }

  it('draws cells by the seed, in proportion to the counts, and the same cells for the same seed', () => {
    const a = drawCellLayout({ image: IMAGE, tile: TILE, groups: GROUPS, seed: 5, spatial: true });
    const b = drawCellLayout({ image: IMAGE, tile: TILE, groups: GROUPS, seed: 5, spatial: true });
    const c = drawCellLayout({ image: IMAGE, tile: TILE, groups: GROUPS, seed: 6, spatial: true });
    expect(a).toEqual(b);
    expect(a.cells).not.toBe(c.cells);
    const cells = cellsPerGroup(a);
    const total = a.columns * a.rows;
    expect(cells.train!.length + cells.val!.length + cells.test!.length).toBe(total);
    expect(Math.abs(cells.train!.length - 0.7 * total)).toBeLessThanOrEqual(1);
    expect(Math.abs(cells.test!.length - 0.1 * total)).toBeLessThanOrEqual(1);
  });

  it('computes any slice alone, equal to the same slice of the whole plan', () => {
    const layout = drawCellLayout({ image: IMAGE, tile: TILE, groups: GROUPS, seed: 3, buffer: 4, spatial: true });
    for (const [, plan] of plans(3)) {
      const all = planWindows(IMAGE, plan, GROUPS, anchorsFor(3), layout);
      expect(windowRange(IMAGE, plan, GROUPS, 37, 81, anchorsFor(3), layout)).toEqual(all.slice(37, 81));
    }
  });

  it('never places a window on cells another group already holds, for held windows of any plan', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const earlier: PlannedWindow[] = planWindows(IMAGE, { strategy: 'random', count: 30, seed, tileSize: TILE }, [{ group: 'train', count: 30 }]);
      const held: HeldWindow[] = earlier;
      for (const buffer of [0, 7]) {
        const layout = drawCellLayout({ image: IMAGE, tile: TILE, groups: [{ group: 'test', count: 20 }], seed, buffer, spatial: false, held });
        const test = planWindows(IMAGE, { strategy: 'random', count: 20, seed, tileSize: TILE }, [{ group: 'test', count: 20 }], undefined, layout);
        expectSeparated([...earlier, ...test], buffer);
      }
    }
  });

  it('draws the same layout and windows again when an ingest is re-run over its own windows', () => {
    for (const buffer of [0, 6, 9]) {
      const layout = drawCellLayout({ image: IMAGE, tile: TILE, groups: GROUPS, seed: 11, buffer, spatial: true });
      for (const [, plan] of plans(11)) {
        const first = planWindows(IMAGE, plan, GROUPS, anchorsFor(11), layout);
        const again = drawCellLayout({ image: IMAGE, tile: TILE, groups: GROUPS, seed: 11, buffer, spatial: true, held: first });
        expect(again).toEqual(layout);
      }
    }
  });

  it('says which group cannot be filled, and refuses a cell smaller than the tile plus the buffer', () => {
    const layout = drawCellLayout({ image: IMAGE, tile: TILE, groups: GROUPS, seed: 1, spatial: true });
    const grid: WindowPlan = { strategy: 'grid', tileSize: TILE, count: 240 };
    expect(() => planWindows(IMAGE, grid, [{ group: 'train', count: 150 }, { group: 'val', count: 50 }, { group: 'test', count: 40 }], undefined, layout)).toThrow(/group 'train' asks for 150 grid windows/);
    expect(() => drawCellLayout({ image: IMAGE, tile: TILE, groups: GROUPS, seed: 1, cell: 70, buffer: 8, spatial: true })).toThrow(InvalidInputError);
    expect(() => drawCellLayout({ image: { width: 10_000, height: 10_000 }, tile: TILE, groups: GROUPS, seed: 1, cell: 65, spatial: true })).toThrow(/at most 4096/);
    expect(drawCellLayout({ image: { width: 10_000, height: 10_000 }, tile: TILE, groups: GROUPS, seed: 1, spatial: true }).cells.length).toBeLessThanOrEqual(4096);
  });
});

describe('the leakage check', () => {
  it('finds the pixels and windows two groups share, exactly', () => {
    const w = (x: number, y: number): PixelWindow => ({ x, y, width: 10, height: 10 });
    const points = [
      { group: 'train', source: 'a', window: w(0, 0), label: [1, 0] },
      { group: 'train', source: 'a', window: w(5, 0), label: [0, 1] },
      { group: 'test', source: 'a', window: w(5, 5), label: [1, 1] },
      { group: 'test', source: 'a', window: w(0, 0), label: [1, 0] },
      { group: 'test', source: 'b', window: w(0, 0), label: [1, 0] },
    ];
    const report = checkLeakage(points, 'classification', ['x', 'y']);
    // train covers [0,15)x[0,10) = 150 px; test in a covers [0,10)x[0,10) + [5,15)x[5,15) = 175 px, plus 100 in b.
    expect(report.groups.train).toEqual({ datapoints: 2, pixels: 150, classes: { x: 1, y: 1 } });
    expect(report.groups.test).toEqual({ datapoints: 3, pixels: 275, classes: { x: 3, y: 1 } });
    // Shared: [0,10)x[0,10) (100) plus [10,15)x[5,10) (25).
    expect(report.pairs).toEqual([{ groups: ['train', 'test'], sharedPixels: 125, share: { train: 0.833333, test: 0.454545 }, duplicateWindows: 1 }]);
    expect(report.leaks).toBe(true);
    expect(windowOverlap(points)).toEqual({ windows: 5, overlapping: 4, pixelShare: 0.416667 });
  });
});

export type { CellLayout };
