/**
 * Pixel <-> georeferenced coordinates through a GDAL geotransform. Pixel coordinates are continuous: pixel
 * (col, row) covers [col, col + 1) x [row, row + 1) and its centre is (col + 0.5, row + 0.5).
 */
import { InvalidInputError } from '../errors.js';
import type { GeoTransform, PixelWindow } from '../types.js';
import { boundsOfPoints } from './bounds.js';

/** [minX, minY, maxX, maxY] in some CRS's units. */
export type Bounds = [number, number, number, number];

/** Georeferenced coordinates of a pixel-space point. */
export function pixelToGeo(gt: GeoTransform, col: number, row: number): [number, number] {
  return [gt[0] + col * gt[1] + row * gt[2], gt[3] + col * gt[4] + row * gt[5]];
}

/**
 * The inverse geotransform (geo -> pixel), with GDALInvGeoTransform's arithmetic so that pixel coordinates
 * round exactly as gdal_rasterize's do.
 */
export function invertGeoTransform(gt: GeoTransform): GeoTransform {
  if (!gt.every(Number.isFinite)) throw new InvalidInputError(`geotransform [${gt.join(', ')}] is not finite`);
  if (gt[2] === 0 && gt[4] === 0 && gt[1] !== 0 && gt[5] !== 0) {
    return [-gt[0] / gt[1], 1 / gt[1], 0, -gt[3] / gt[5], 0, 1 / gt[5]];
  }
  const det = gt[1] * gt[5] - gt[2] * gt[4];
  const magnitude = Math.max(Math.abs(gt[1]), Math.abs(gt[2]), Math.abs(gt[4]), Math.abs(gt[5]));
  if (Math.abs(det) <= 1e-10 * magnitude * magnitude) {
    throw new InvalidInputError(`geotransform [${gt.join(', ')}] is singular: it cannot be inverted`);
  }
  const inv = 1 / det;
  return [
    (gt[2] * gt[3] - gt[0] * gt[5]) * inv,
    gt[5] * inv,
    -gt[2] * inv,
    (-gt[1] * gt[3] + gt[0] * gt[4]) * inv,
    -gt[4] * inv,
    gt[1] * inv,
  ];
}

/** Pixel coordinates of a georeferenced point; pass an inverse from invertGeoTransform when converting many. */
export function geoToPixel(gt: GeoTransform, x: number, y: number, inverse = invertGeoTransform(gt)): [number, number] {
  return [inverse[0] + x * inverse[1] + y * inverse[2], inverse[3] + x * inverse[4] + y * inverse[5]];
}

/** The geotransform of a window: same pixel size and rotation, origin at the window's upper-left corner. */
export function windowGeoTransform(gt: GeoTransform, window: Pick<PixelWindow, 'x' | 'y'>): GeoTransform {
  const [x0, y0] = pixelToGeo(gt, window.x, window.y);
  return [x0, gt[1], gt[2], y0, gt[4], gt[5]];
}

/** Georeferenced bounds of a window (all four corners, so rotated geotransforms are covered). */
export function windowBounds(gt: GeoTransform, window: PixelWindow): Bounds {
  const { x, y, width, height } = window;
  const corners = [
    pixelToGeo(gt, x, y),
    pixelToGeo(gt, x + width, y),
    pixelToGeo(gt, x, y + height),
    pixelToGeo(gt, x + width, y + height),
  ];
  return boundsOfPoints(corners);
}
