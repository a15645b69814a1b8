/**
 * Coordinate transformation between EPSG codes with proj4. Coordinates are always (x, y) = (easting, northing)
 * or (longitude, latitude), whatever axis order the EPSG definition declares, as in GeoJSON and GDAL's
 * traditional GIS order.
 */
import proj4 from 'proj4';
import { InvalidInputError } from '../errors.js';
import { crsFromEpsg } from './crs.js';
import { boundsOfPoints } from './bounds.js';
import type { Bounds } from './geotransform.js';

export type PointTransform = (x: number, y: number) => [number, number];

const transforms = new Map<string, PointTransform>();

/** A cached point transform from one EPSG code to another (identity when they are equal). */
export function pointTransform(from: number, to: number): PointTransform {
  const key = `${from}>${to}`;
  let transform = transforms.get(key);
  if (!transform) {
    if (from === to) {
      crsFromEpsg(from);
      transform = (x, y) => [x, y];
    } else {
      const converter = proj4(crsFromEpsg(from).proj4, crsFromEpsg(to).proj4);
      transform = (x, y) => {
        const [tx, ty] = converter.forward([x, y]);
        return [tx as number, ty as number];
      };
    }
    transforms.set(key, transform);
  }
  return transform;
}

/** One point from EPSG `from` to EPSG `to`; InvalidInputError when it falls outside the target's domain. */
export function transformPoint(point: readonly [number, number], from: number, to: number): [number, number] {
  const out = pointTransform(from, to)(point[0], point[1]);
  if (!Number.isFinite(out[0]) || !Number.isFinite(out[1])) {
    throw new InvalidInputError(`point (${point[0]}, ${point[1]}) cannot be transformed from EPSG:${from} to EPSG:${to}`);
  }
  return out;
}

/**
 * Bounds from EPSG `from` to EPSG `to`. Each edge is densified (`densify` points between corners) because a
 * straight edge in one CRS is a curve in another: the corners alone can miss the true extent.
 */
export function transformBounds(bounds: Bounds, from: number, to: number, densify = 21): Bounds {
  const [minX, minY, maxX, maxY] = bounds;
  if (!(minX <= maxX && minY <= maxY)) throw new InvalidInputError(`bounds [${bounds.join(', ')}] are not min <= max`);
  if (from === to) return [minX, minY, maxX, maxY];
  const transform = pointTransform(from, to);
  const steps = densify + 1;
  function* edgePoints(): Generator<[number, number]> {
    for (let i = 0; i <= steps; i++) {
      const fx = minX + ((maxX - minX) * i) / steps;
      const fy = minY + ((maxY - minY) * i) / steps;
      for (const [x, y] of [[fx, minY], [fx, maxY], [minX, fy], [maxX, fy]] as const) {
        const [tx, ty] = transform(x, y);
        if (!Number.isFinite(tx) || !Number.isFinite(ty)) {
          throw new InvalidInputError(`bounds [${bounds.join(', ')}] cannot be transformed from EPSG:${from} to EPSG:${to}`);
        }
        yield [tx, ty];
      }
    }
  }
  return boundsOfPoints(edgePoints());
}

/** Bounds in EPSG `epsg` as WGS84 [minLon, minLat, maxLon, maxLat]. */
export function boundsToWgs84(bounds: Bounds, epsg: number): Bounds {
  return transformBounds(bounds, epsg, 4326);
}
