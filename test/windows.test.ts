import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../domain/errors.js';
import type { GroupCount, PixelWindow, PlannedWindow, WindowPlan } from '../domain/types.js';
import { MAX_WINDOWS, planSize, planWindows, windowRange, type FeatureAnchor } from '../domain/windows/index.js';

const IMAGE = { width: 349, height: 352 };
const one = (count: number): GroupCount[] => [{ group: 'train', count }];

function expectInside(windows: readonly PixelWindow[], image = IMAGE): void {
  for (const w of windows) {
    expect(Number.isInteger(w.x) && Number.isInteger(w.y), JSON.stringify(w)).toBe(true);
    expect(w.x >= 0 && w.y >= 0 && w.x + w.width <= image.width && w.y + w.height <= image.height, JSON.stringify(w)).toBe(true);
  }
}

function expectInvalid(fn: () => unknown, mentions: string): void {
  expect(fn).toThrow(InvalidInputError);
  expect(fn).toThrow(mentions);
}

/** A small deterministic generator for test inputs, independent of the one under test. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const anchors: FeatureAnchor[] = (() => {
  const next = lcg(3);
  return Array.from({ length: 40 }, () => ({ x: next() * IMAGE.width, y: next() * IMAGE.height }));
})();

describe('random window plans', () => {
  const plan = (seed: number, count = 200): WindowPlan => ({ strategy: 'random', count, seed, tileSize: [64, 48] });

  it('are the same for the same seed', () => {
    expect(planWindows(IMAGE, plan(42), one(200))).toEqual(planWindows(IMAGE, plan(42), one(200)));
  });

  it('differ for a different seed, including seeds that differ only above 32 bits', () => {
    const offsets = (seed: number) => planWindows(IMAGE, plan(seed), one(200)).map((w) => `${w.x},${w.y}`);
    const base = offsets(42);
    for (const other of [43, 42 + 2 ** 32, -42]) {
      const changed = offsets(other).filter((o, i) => o !== base[i]).length;
      expect(changed, `seed ${other}`).toBeGreaterThan(190);
    }
  });

  it('keep every window inside the image and spread over all of it', () => {
    for (const seed of [0, 1, 7, 123456]) {
      const windows = planWindows(IMAGE, plan(seed, 2000), one(2000));
      expectInside(windows);
      expect(windows.every((w) => w.width === 64 && w.height === 48)).toBe(true);
      const xs = windows.map((w) => w.x);
      const ys = windows.map((w) => w.y);
      // 2000 uniform draws over 286 x 305 offsets: both ends of each range are reached within a few pixels.
      expect(Math.min(...xs)).toBeLessThan(5);
      expect(Math.max(...xs)).toBeGreaterThan(IMAGE.width - 64 - 5);
      expect(Math.min(...ys)).toBeLessThan(5);
      expect(Math.max(...ys)).toBeGreaterThan(IMAGE.height - 48 - 5);
    }
  });

  it('use the whole image when the tile is as large as the image', () => {
    const windows = planWindows(IMAGE, { strategy: 'random', count: 1, seed: 1, tileSize: [349, 352] }, one(1));
    expect(windows.map(({ x, y }) => [x, y])).toEqual([[0, 0]]);
  });

  it('never repeat a window: a plan of every position visits each exactly once', () => {
    // A 340x342 tile can sit at 10 x 11 = 110 offsets in the 349x352 image.
    const windows = planWindows(IMAGE, { strategy: 'random', count: 110, seed: 4, tileSize: [340, 342] }, one(110));
    const seen = new Set(windows.map(({ x, y }) => `${x},${y}`));
    expect(seen.size).toBe(110);
    for (let x = 0; x < 10; x++) for (let y = 0; y < 11; y++) expect(seen.has(`${x},${y}`)).toBe(true);
    const shuffled = windows.map(({ x, y }) => y * 10 + x);
    expect(shuffled).not.toEqual([...shuffled].sort((a, b) => a - b));
  });

  it('refuse more windows than there are distinct positions', () => {
    expectInvalid(() => planWindows(IMAGE, { strategy: 'random', count: 111, seed: 4, tileSize: [340, 342] }, one(111)), '110');
  });
});

describe('grid window plans', () => {
  /** Every whole window at multiples of the stride, row by row: the plan a grid must equal. */
  function bruteForceGrid(tile: [number, number], stride: [number, number]): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let y = 0; y + tile[1] <= IMAGE.height; y += stride[1]) {
      for (let x = 0; x + tile[0] <= IMAGE.width; x += stride[0]) out.push([x, y]);
    }
    return out;
  }

  it('make exactly the whole windows at each stride, row-major, with the tile size as default stride', () => {
    const cases: Array<{ tile: [number, number]; stride?: [number, number] }> = [
      { tile: [64, 64] },
      { tile: [100, 50], stride: [30, 70] },
      { tile: [349, 352] },
      { tile: [1, 1], stride: [7, 11] },
    ];
    for (const { tile, stride } of cases) {
      const plan: WindowPlan = { strategy: 'grid', tileSize: tile, ...(stride ? { stride } : {}) };
      const expected = bruteForceGrid(tile, stride ?? tile);
      const windows = planWindows(IMAGE, plan, one(0));
      expect(windows.map(({ x, y }) => [x, y]), JSON.stringify(plan)).toEqual(expected);
      expect(planSize(IMAGE, plan, one(0))).toBe(expected.length);
      expectInside(windows);
    }
    // 349 x 352 with 64 x 64 tiles: 5 columns, 5 rows.
    expect(planSize(IMAGE, { strategy: 'grid', tileSize: [64, 64] }, one(0))).toBe(25);
  });

  it('take the first windows in row-major order when given a count', () => {
    const all = planWindows(IMAGE, { strategy: 'grid', tileSize: [64, 64] }, one(0));
    const some = planWindows(IMAGE, { strategy: 'grid', tileSize: [64, 64], count: 7 }, one(7));
    expect(some.map(({ x, y }) => [x, y])).toEqual(all.slice(0, 7).map(({ x, y }) => [x, y]));
  });
});

describe('feature window plans', () => {
  const plan = (seed: number, jitter: number, count?: number): WindowPlan => ({
    strategy: 'features',
    tileSize: [64, 64],
    seed,
    jitter,
    ...(count === undefined ? {} : { count }),
  });
  const centre = (w: PixelWindow) => ({ x: w.x + w.width / 2, y: w.y + w.height / 2 });
  const clamp = (v: number, max: number) => Math.min(Math.max(v, 0), max);

  it('centre one window on each feature, clamped inside the image, without jitter', () => {
    const windows = planWindows(IMAGE, plan(5, 0), one(0), anchors);
    expect(windows).toHaveLength(anchors.length);
    expectInside(windows);
    // Each anchor is used once: match windows to anchors by the offset an unclamped, centred window would have.
    const expected = anchors.map((a) => [clamp(Math.round(a.x - 32), IMAGE.width - 64), clamp(Math.round(a.y - 32), IMAGE.height - 64)].join(','));
    expect(windows.map((w) => `${w.x},${w.y}`).sort()).toEqual(expected.sort());
    for (const w of windows) {
      const c = centre(w);
      const nearest = Math.min(...anchors.map((a) => Math.max(Math.abs(a.x - c.x), Math.abs(a.y - c.y))));
      const clamped = w.x === 0 || w.y === 0 || w.x === IMAGE.width - 64 || w.y === IMAGE.height - 64;
      if (!clamped) expect(nearest).toBeLessThanOrEqual(0.5);
    }
  });

  it('move each window by at most the jitter, the same way for the same seed', () => {
    const still = planWindows(IMAGE, plan(5, 0), one(0), anchors);
    const moved = planWindows(IMAGE, plan(5, 10), one(0), anchors);
    expect(planWindows(IMAGE, plan(5, 10), one(0), anchors)).toEqual(moved);
    expectInside(moved);
    let shifted = 0;
    moved.forEach((w, i) => {
      expect(Math.abs(w.x - still[i]!.x)).toBeLessThanOrEqual(10);
      expect(Math.abs(w.y - still[i]!.y)).toBeLessThanOrEqual(10);
      if (w.x !== still[i]!.x || w.y !== still[i]!.y) shifted++;
    });
    expect(shifted).toBeGreaterThan(anchors.length / 2);
    expect(planWindows(IMAGE, plan(6, 10), one(0), anchors)).not.toEqual(moved);
  });

  it('cycle through the features when the count exceeds them', () => {
    const windows = planWindows(IMAGE, plan(5, 0, 100), one(100), anchors);
    expect(windows).toHaveLength(100);
    const firstRound = windows.slice(0, anchors.length).map((w) => `${w.x},${w.y}`);
    expect(windows.slice(anchors.length, 2 * anchors.length).map((w) => `${w.x},${w.y}`)).toEqual(firstRound);
  });

  it('ignore features outside the image', () => {
    const outside = [{ x: -500, y: 10 }, { x: 10, y: 9999 }];
    const windows = planWindows(IMAGE, plan(5, 0), one(0), [...outside, { x: 100, y: 100 }]);
    expect(windows.map(({ x, y }) => [x, y])).toEqual([[68, 68]]);
  });
});

describe('groups', () => {
  it('take consecutive windows of the plan, first group first', () => {
    const groups = [{ group: 'train', count: 70 }, { group: 'empty', count: 0 }, { group: 'test', count: 20 }, { group: 'validate', count: 10 }];
    const windows = planWindows(IMAGE, { strategy: 'random', count: 100, seed: 9, tileSize: [32, 32] }, groups);
    expect(windows.map((w) => w.index)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(windows.slice(0, 70).every((w) => w.group === 'train')).toBe(true);
    expect(windows.slice(70, 90).every((w) => w.group === 'test')).toBe(true);
    expect(windows.slice(90).every((w) => w.group === 'validate')).toBe(true);
    // The windows do not depend on how they are grouped.
    const ungrouped = planWindows(IMAGE, { strategy: 'random', count: 100, seed: 9, tileSize: [32, 32] }, one(100));
    expect(windows.map(({ x, y }) => [x, y])).toEqual(ungrouped.map(({ x, y }) => [x, y]));
  });

  it('split a grid without a count when the group counts add up to its windows', () => {
    const windows = planWindows(IMAGE, { strategy: 'grid', tileSize: [64, 64] }, [{ group: 'train', count: 20 }, { group: 'test', count: 5 }]);
    expect(windows.filter((w) => w.group === 'test').map((w) => w.index)).toEqual([20, 21, 22, 23, 24]);
  });
});

describe('window ranges', () => {
  const plans: Array<[WindowPlan, GroupCount[], FeatureAnchor[]?]> = [
    [{ strategy: 'random', count: 500, seed: 11, tileSize: [64, 64] }, [{ group: 'train', count: 400 }, { group: 'test', count: 100 }]],
    [{ strategy: 'grid', tileSize: [16, 16], stride: [8, 8] }, one(0)],
    [{ strategy: 'features', tileSize: [64, 64], seed: 2, jitter: 5, count: 90 }, [{ group: 'a', count: 45 }, { group: 'b', count: 45 }], anchors],
  ];

  it('equal the same slice of the whole plan', () => {
    for (const [plan, groups, features] of plans) {
      const all = planWindows(IMAGE, plan, groups, features);
      expect(planSize(IMAGE, plan, groups, features)).toBe(all.length);
      for (const [start, end] of [[0, 10], [37, 83], [all.length - 5, all.length], [20, 20]]) {
        expect(windowRange(IMAGE, plan, groups, start, end, features), `${plan.strategy} [${start}, ${end})`).toEqual(all.slice(start, end));
      }
    }
  });

  it('are cheap at the end of a million-window plan', () => {
    const plan: WindowPlan = { strategy: 'random', count: MAX_WINDOWS, seed: 1, tileSize: [64, 64] };
    const started = performance.now();
    const large = { width: 20_000, height: 20_000 };
    const tail: PlannedWindow[] = windowRange(large, plan, one(MAX_WINDOWS), MAX_WINDOWS - 100, MAX_WINDOWS);
    // The whole million-window plan takes over a second; a slice of the tail must not (a loose bound for busy CI).
    expect(performance.now() - started).toBeLessThan(250);
    expect(tail.map((w) => w.index)).toEqual(Array.from({ length: 100 }, (_, i) => MAX_WINDOWS - 100 + i));
    expect(tail.every((w) => w.x >= 0 && w.y >= 0 && w.x + 64 <= large.width && w.y + 64 <= large.height)).toBe(true);
  });

  it('outside the plan are rejected', () => {
    const [plan, groups] = plans[0]!;
    expectInvalid(() => windowRange(IMAGE, plan, groups, 490, 501), '[490, 501)');
    expectInvalid(() => windowRange(IMAGE, plan, groups, 10, 5), '[10, 5)');
    expectInvalid(() => windowRange(IMAGE, plan, groups, 0.5, 5), '[0.5, 5)');
  });
});

describe('invalid plans', () => {
  const random = (patch: Record<string, unknown>): WindowPlan => ({ strategy: 'random', count: 10, seed: 1, tileSize: [64, 64], ...patch }) as WindowPlan;

  it('reject a tile larger than the image or not a positive integer', () => {
    expectInvalid(() => planWindows(IMAGE, random({ tileSize: [350, 64] }), one(10)), 'tile 350x64 is larger than the 349x352 image');
    expectInvalid(() => planWindows(IMAGE, random({ tileSize: [64, 0] }), one(10)), 'tile height 0');
    expectInvalid(() => planWindows(IMAGE, random({ tileSize: [63.5, 64] }), one(10)), 'tile width 63.5');
    expectInvalid(() => planWindows(IMAGE, random({ tileSize: [64] }), one(10)), '[width, height]');
    expectInvalid(() => planWindows({ width: 0, height: 10 }, random({}), one(10)), 'image width 0');
  });

  it('reject counts below 1, fractional or absurd', () => {
    expectInvalid(() => planWindows(IMAGE, random({ count: 0 }), one(0)), 'window count 0');
    expectInvalid(() => planWindows(IMAGE, random({ count: -3 }), one(1)), 'window count -3');
    expectInvalid(() => planWindows(IMAGE, random({ count: 2.5 }), one(2)), 'window count 2.5');
    expectInvalid(() => planWindows(IMAGE, random({ count: MAX_WINDOWS + 1 }), one(MAX_WINDOWS + 1)), `window count ${MAX_WINDOWS + 1}`);
    expectInvalid(() => planWindows(IMAGE, random({ count: undefined }), one(10)), 'needs a count');
    expectInvalid(() => planWindows({ width: 5000, height: 5000 }, { strategy: 'grid', tileSize: [4, 4] }, one(0)), 'more than 1000000');
  });

  it('reject a bad seed, stride, jitter or strategy', () => {
    expectInvalid(() => planWindows(IMAGE, random({ seed: 1.5 }), one(10)), 'seed 1.5');
    expectInvalid(() => planWindows(IMAGE, { strategy: 'grid', tileSize: [64, 64], stride: [0, 64] }, one(0)), 'grid stride x 0');
    expectInvalid(() => planWindows(IMAGE, { strategy: 'grid', tileSize: [64, 64], count: 26 }, one(26)), 'the grid has 25 windows');
    expectInvalid(() => planWindows(IMAGE, { strategy: 'features', tileSize: [64, 64], seed: 1, jitter: -1 }, one(0), anchors), 'jitter -1');
    expectInvalid(() => planWindows(IMAGE, { strategy: 'spiral' } as unknown as WindowPlan, one(0)), "unknown window strategy 'spiral'");
  });

  it('reject group counts that do not add up, duplicate or empty groups', () => {
    expectInvalid(() => planWindows(IMAGE, random({}), [{ group: 'train', count: 8 }, { group: 'test', count: 3 }]), 'add up to 11, but the plan has 10');
    expectInvalid(() => planWindows(IMAGE, random({}), one(9)), 'add up to 9');
    expectInvalid(() => planWindows(IMAGE, random({}), [{ group: 'a', count: 5 }, { group: 'a', count: 5 }]), "group 'a' is listed twice");
    expectInvalid(() => planWindows(IMAGE, random({}), []), 'at least one group');
    expectInvalid(() => planWindows(IMAGE, random({}), [{ group: ' ', count: 10 }]), 'is empty');
    expectInvalid(() => planWindows(IMAGE, random({}), [{ group: 'a', count: 11 }, { group: 'b', count: -1 }]), "group 'b' count -1");
  });

  it('reject a features plan without features inside the image', () => {
    const plan: WindowPlan = { strategy: 'features', tileSize: [64, 64], seed: 1, jitter: 0 };
    expectInvalid(() => planWindows(IMAGE, plan, one(0)), 'needs label features');
    expectInvalid(() => planWindows(IMAGE, plan, one(0), [{ x: -10, y: 5 }]), 'none of the 1 label features lies inside');
  });
});
