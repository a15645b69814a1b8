/** Bounds [minX, minY, maxX, maxY] folded from points, flat rings and pixel windows, and grown by union. */
import type { PixelWindow } from '../types.js';
import type { Bounds } from './geotransform.js';

/** Bounds of nothing: a union with it gives the other side; min > max, so it contains no point. */
const EMPTY: Bounds = [Infinity, Infinity, -Infinity, -Infinity];

export function boundsOfPoints(points: Iterable<readonly [number, number]>): Bounds {
  const b: Bounds = [...EMPTY];
  for (const [x, y] of points) extendByPoint(b, x, y);
  return b;
}

/** Bounds of rings stored flat (x0, y0, x1, y1, ...). */
export function boundsOfFlatRings(rings: Iterable<ArrayLike<number>>): Bounds {
  const b: Bounds = [...EMPTY];
  for (const ring of rings) {
    for (let i = 0; i + 1 < ring.length; i += 2) extendByPoint(b, ring[i]!, ring[i + 1]!);
  }
  return b;
}

/** The pixel box [x, y, x + width, y + height] of a window. */
export function windowBox(w: PixelWindow): Bounds {
  return [w.x, w.y, w.x + w.width, w.y + w.height];
}

/** The pixel box that holds every window. */
export function boundsOfWindows(windows: Iterable<PixelWindow>): Bounds {
  let b: Bounds = [...EMPTY];
  for (const w of windows) b = unionBounds(b, windowBox(w));
  return b;
}

/** The bounds holding both; `a` may be null (nothing yet). */
export function unionBounds(a: Bounds | null, b: Bounds): Bounds {
  if (!a) return b;
  return [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])];
}

function extendByPoint(b: Bounds, x: number, y: number): void {
  if (x < b[0]) b[0] = x;
  if (y < b[1]) b[1] = y;
  if (x > b[2]) b[2] = x;
  if (y > b[3]) b[3] = y;
}
