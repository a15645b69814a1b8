/** The features of one window, in that window's pixel coordinates. */
import { InvalidInputError } from '../errors.js';
import { boundsOfFlatRings } from '../geo/bounds.js';
import { invertGeoTransform, windowBounds, windowGeoTransform, type Bounds } from '../geo/geotransform.js';
import type { GeoTransform, PixelWindow } from '../types.js';
import type { LabelFeature, LabelSource } from './label-source.js';

/** What an encoder needs for one window: the image's geotransform, the window and its candidate features. */
export interface WindowLabelContext {
  /** The image's geotransform (the window's is derived from it). */
  geoTransform: GeoTransform;
  window: PixelWindow;
  /** Number of classes: the length of a one-hot and of a detection label. */
  classCount: number;
  /** Candidate features (any order; those that miss the window add nothing). */
  features: readonly LabelFeature[];
}

/** A feature mapped into window pixel coordinates (x right, y down, window upper-left at 0, 0). */
export interface PixelFeature {
  feature: LabelFeature;
  polygons: Float64Array[][];
  bbox: Bounds;
}

/** The context of a window: its candidate features come from the source's spatial index. */
export function windowLabelContext(source: LabelSource, geoTransform: GeoTransform, window: PixelWindow): WindowLabelContext {
  return {
    geoTransform,
    window,
    classCount: source.classes.length,
    features: source.query(windowBounds(geoTransform, window)),
  };
}

/**
 * The context's features in window pixel coordinates, in file order. Pixel coordinates come from the inverse of
 * the window's own geotransform, the arithmetic gdal_rasterize uses on a raster with that geotransform.
 */
export function windowPixelFeatures(ctx: WindowLabelContext): PixelFeature[] {
  const inv = windowPixelTransform(ctx);
  const features = featuresInFileOrder(ctx);
  // The rings are views of one buffer: a typed array of its own per ring costs an allocation and GC work each.
  let size = 0;
  for (const feature of features) size += coordinateCount(feature);
  const buffer = new Float64Array(size);
  let offset = 0;
  const toPixels = (ring: Float64Array): Float64Array => {
    ringToPixels(ring, inv, buffer, offset);
    return buffer.subarray(offset, (offset += ring.length));
  };
  return features.map((feature) => {
    const polygons = feature.polygons.map((polygon) => polygon.map(toPixels));
    return { feature, polygons, bbox: boundsOfFlatRings(polygons.flat()) };
  });
}

/** The geo -> window pixel transform of windowPixelFeatures (the window is checked first). */
export function windowPixelTransform(ctx: WindowLabelContext): GeoTransform {
  const { window } = ctx;
  if (![window.x, window.y, window.width, window.height].every(Number.isInteger) || window.width < 1 || window.height < 1) {
    throw new InvalidInputError(`window ${JSON.stringify(window)} needs integer offsets and a positive size`);
  }
  return invertGeoTransform(windowGeoTransform(ctx.geoTransform, window));
}

/** The context's features in file order, the order they burn in. */
export function featuresInFileOrder(ctx: WindowLabelContext): LabelFeature[] {
  return [...ctx.features].sort((a, b) => a.order - b.order);
}

/** Number of coordinates (x and y each count) in all rings of a feature. */
export function coordinateCount(feature: LabelFeature): number {
  let size = 0;
  for (const polygon of feature.polygons) for (const ring of polygon) size += ring.length;
  return size;
}

/**
 * Writes vertices [first, end) of a flat ring (all of them by default) through `inv` (from windowPixelTransform) into
 * `out` from `offset`; returns the offset past them.
 */
export function ringToPixels(ring: Float64Array, inv: GeoTransform, out: Float64Array, offset: number, first = 0, end = ring.length / 2): number {
  for (let v = first; v < end; v++) {
    const x = ring[2 * v]!;
    const y = ring[2 * v + 1]!;
    out[offset++] = inv[0] + x * inv[1] + y * inv[2];
    out[offset++] = inv[3] + x * inv[4] + y * inv[5];
  }
  return offset;
}
