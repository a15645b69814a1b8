/** Clipping window-pixel features to the window rectangle, with polygon-clipping. */
import polygonClipping, { type MultiPolygon, type Polygon } from 'polygon-clipping';
import { InvalidInputError } from '../errors.js';
import { boundsOfPoints } from '../geo/bounds.js';
import { PIXEL_EPSILON } from './rasterize.js';
import type { PixelFeature } from './window-features.js';

type Box = [number, number, number, number];

/**
 * The part of a feature inside the window [0, width] x [0, height], shrunk on every side by `inset` pixels (empty
 * when they only touch). An inset of PIXEL_EPSILON drops slivers that reprojection noise leaves along the window's
 * edges, which would otherwise stretch a box along the whole edge.
 */
export function clipToWindow(pixel: PixelFeature, width: number, height: number, inset = 0): MultiPolygon {
  const [minX, minY, maxX, maxY] = pixel.bbox;
  const [left, top, right, bottom] = [inset, inset, width - inset, height - inset];
  if (maxX <= left || maxY <= top || minX >= right || minY >= bottom) return [];
  if (minX >= left && minY >= top && maxX <= right && maxY <= bottom) {
    return pixel.polygons.map((polygon) => polygon.map(toPairs));
  }
  // Cutting the rings to a slightly larger rectangle first keeps polygon-clipping's work local: a label polygon
  // can have thousands of vertices, most far from the window. The seams this leaves lie outside the window.
  const geometry: MultiPolygon = [];
  for (const polygon of pixel.polygons) {
    const exterior = cutRingToRect(polygon[0]!, -1, -1, width + 1, height + 1);
    if (exterior.length < 4) continue;
    const holes = polygon.slice(1).map((ring) => cutRingToRect(ring, -1, -1, width + 1, height + 1)).filter((r) => r.length >= 4);
    geometry.push([exterior, ...holes]);
  }
  if (geometry.length === 0) return [];
  const window: Polygon = [[[left, top], [right, top], [right, bottom], [left, bottom], [left, top]]];
  try {
    return polygonClipping.intersection(geometry, window);
  } catch (err) {
    throw new InvalidInputError(`label feature ${pixel.feature.order} cannot be clipped to the window: ${(err as Error).message}`);
  }
}

/** Area of a multipolygon whatever its ring orientation: exteriors minus holes. */
export function multiPolygonArea(geometry: MultiPolygon): number {
  let area = 0;
  for (const polygon of geometry) {
    polygon.forEach((ring, r) => (area += (r === 0 ? 1 : -1) * Math.abs(ringArea(ring))));
  }
  return area;
}

function ringArea(ring: Array<[number, number]>): number {
  let sum = 0;
  for (let i = 0; i + 1 < ring.length; i++) sum += ring[i]![0] * ring[i + 1]![1] - ring[i + 1]![0] * ring[i]![1];
  return sum / 2;
}

/**
 * Sutherland-Hodgman: the ring cut to an axis-aligned rectangle, closed. Parts of the ring outside become runs
 * along the rectangle's sides, so the even-odd inside of the result equals the ring's inside within the rectangle.
 */
function cutRingToRect(ring: Float64Array, minX: number, minY: number, maxX: number, maxY: number): Array<[number, number]> {
  let points = toPairs(ring);
  points.pop();
  const sides: Array<[(p: [number, number]) => boolean, (a: [number, number], b: [number, number]) => [number, number]]> = [
    [(p) => p[0] >= minX, (a, b) => [minX, a[1] + ((minX - a[0]) * (b[1] - a[1])) / (b[0] - a[0])]],
    [(p) => p[0] <= maxX, (a, b) => [maxX, a[1] + ((maxX - a[0]) * (b[1] - a[1])) / (b[0] - a[0])]],
    [(p) => p[1] >= minY, (a, b) => [a[0] + ((minY - a[1]) * (b[0] - a[0])) / (b[1] - a[1]), minY]],
    [(p) => p[1] <= maxY, (a, b) => [a[0] + ((maxY - a[1]) * (b[0] - a[0])) / (b[1] - a[1]), maxY]],
  ];
  for (const [inside, cross] of sides) {
    const out: Array<[number, number]> = [];
    for (let i = 0; i < points.length; i++) {
      const current = points[i]!;
      const previous = points[(i + points.length - 1) % points.length]!;
      if (inside(current)) {
        if (!inside(previous)) out.push(cross(previous, current));
        out.push(current);
      } else if (inside(previous)) {
        out.push(cross(previous, current));
      }
    }
    points = out;
    if (points.length === 0) return [];
  }
  points.push([points[0]![0], points[0]![1]]);
  return points;
}

function toPairs(ring: Float64Array): Array<[number, number]> {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < ring.length; i += 2) pairs.push([ring[i]!, ring[i + 1]!]);
  return pairs;
}

/**
 * The integer pixel box of a feature in the window, or null when nothing of it is left: its part inside the window
 * (less a PIXEL_EPSILON inset), [floor(minx), floor(miny), ceil(maxx), ceil(maxy)], with coordinates within
 * PIXEL_EPSILON of a pixel boundary counted as on it, so the inset and reprojection noise never add a pixel.
 */
export function featureBox(pixel: PixelFeature, width: number, height: number): Box | null {
  return pixelBox(clipToWindow(pixel, width, height, PIXEL_EPSILON), width, height);
}

function pixelBox(clipped: MultiPolygon, width: number, height: number): Box | null {
  if (clipped.length === 0) return null;
  // The outer rings hold every point of a polygon.
  const [minX, minY, maxX, maxY] = boundsOfPoints(clipped.flatMap((polygon) => polygon[0] ?? []));
  const box: Box = [
    Math.max(0, snapFloor(minX)),
    Math.max(0, snapFloor(minY)),
    Math.min(width, snapCeil(maxX)),
    Math.min(height, snapCeil(maxY)),
  ];
  return box[2] > box[0] && box[3] > box[1] ? box : null;
}

function snapFloor(value: number): number {
  const nearest = Math.round(value);
  return Math.abs(value - nearest) < PIXEL_EPSILON ? nearest : Math.floor(value);
}

function snapCeil(value: number): number {
  const nearest = Math.round(value);
  return Math.abs(value - nearest) < PIXEL_EPSILON ? nearest : Math.ceil(value);
}
