import type { GeoTransform, SegmentationLabel } from '../types.js';
import type { LabelFeature } from './label-source.js';
import { burnPolygon, type PackedRings } from './rasterize.js';
import { encodeRle } from './rle.js';
import { coordinateCount, featuresInFileOrder, ringToPixels, windowPixelTransform, type WindowLabelContext } from './window-features.js';

/**
 * A class-index mask (0 background, i + 1 for class i), burned feature by feature in file order so that where
 * features overlap the later one wins, as gdal_rasterize burns a layer. Pixel-centre rule by default, every
 * touched pixel with allTouched (see rasterize.ts for the exact rules).
 */
export function segmentationMask(ctx: WindowLabelContext, allTouched = false): Uint8Array {
  const inv = windowPixelTransform(ctx);
  const { width, height } = ctx.window;
  const mask = new Uint8Array(width * height);
  for (const feature of featuresInFileOrder(ctx)) {
    burnPolygon(mask, width, height, packPixelRings(feature, inv), feature.classIndex + 1, allTouched);
  }
  return mask;
}

export function encodeSegmentation(ctx: WindowLabelContext, allTouched = false): SegmentationLabel {
  return encodeRle(segmentationMask(ctx, allTouched), ctx.window.width, ctx.window.height);
}

/** One feature's rings in window pixels, reused from feature to feature: the burn keeps nothing of them. */
const pixelRings: { coords: Float64Array; ends: number[] } = { coords: new Float64Array(0), ends: [] };

/** All rings of all parts of a feature, as GDAL burns them: one even-odd polygon. */
function packPixelRings(feature: LabelFeature, inv: GeoTransform): PackedRings {
  const size = coordinateCount(feature);
  if (pixelRings.coords.length < size) pixelRings.coords = new Float64Array(Math.max(size, 2 * pixelRings.coords.length));
  pixelRings.ends.length = 0;
  let offset = 0;
  for (const polygon of feature.polygons) {
    for (const ring of polygon) {
      ringToPixels(ring, inv, pixelRings.coords, offset);
      pixelRings.ends.push((offset += ring.length));
    }
  }
  return pixelRings;
}
