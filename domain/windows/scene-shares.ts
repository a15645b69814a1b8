/** Spreading one plan's window counts over several scenes, in proportion to their ground areas. */
import { InvalidInputError } from '../errors.js';
import type { GeoTransform, GroupCount } from '../types.js';

/** A scene's ground area in its CRS units squared: pixels times the area of one pixel. */
export function sceneArea(scene: { width: number; height: number; geoTransform: GeoTransform }): number {
  const [, a, b, , d, e] = scene.geoTransform;
  return scene.width * scene.height * Math.abs(a * e - b * d);
}

/**
 * Each group's count split over scenes by weight (largest remainder, ties to the earlier scene), so the shares
 * add up to the group's count exactly. Groups a scene gets no window of are left out of its list.
 */
export function spreadGroupCounts(groups: readonly GroupCount[], weights: readonly number[]): GroupCount[][] {
  const total = weights.reduce((sum, w) => sum + w, 0);
  if (weights.length === 0 || !weights.every((w) => Number.isFinite(w) && w >= 0) || !(total > 0)) {
    throw new InvalidInputError(`scene weights ${JSON.stringify(weights)} cannot share out windows (each must be >= 0, some > 0)`);
  }
  const shares: GroupCount[][] = weights.map(() => []);
  for (const { group, count } of groups) {
    const exact = weights.map((w) => (count * w) / total);
    const floors = exact.map(Math.floor);
    let left = count - floors.reduce((sum, n) => sum + n, 0);
    const byRemainder = exact.map((x, i) => ({ i, remainder: x - floors[i]! })).sort((p, q) => q.remainder - p.remainder || p.i - q.i);
    for (const { i } of byRemainder) {
      if (left-- <= 0) break;
      floors[i]!++;
    }
    floors.forEach((n, i) => {
      if (n > 0) shares[i]!.push({ group, count: n });
    });
  }
  return shares;
}
