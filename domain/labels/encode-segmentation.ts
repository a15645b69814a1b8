import type { SegmentationLabel } from '../types.js';
import { burnPolygon } from './rasterize.js';
import { encodeRle } from './rle.js';
import type { PixelFeature } from './window-features.js';

/**
 * A class-index mask (0 background, i + 1 for class i), burned feature by feature in file order so that where
 * features overlap the later one wins, as gdal_rasterize burns a layer. Pixel-centre rule by default, every
 * touched pixel with allTouched (see rasterize.ts for the exact rules).
 */
export function segmentationMask(features: readonly PixelFeature[], width: number, height: number, allTouched = false): Uint8Array {
  const mask = new Uint8Array(width * height);
  for (const { feature, polygons, bbox } of features) {
    if (bbox[2] < 0 || bbox[3] < 0 || bbox[0] > width || bbox[1] > height) continue;
    // GDAL burns all rings of all parts of a feature as one even-odd polygon.
    burnPolygon(mask, width, height, polygons.flat(), feature.classIndex + 1, allTouched);
  }
  return mask;
}

export function encodeSegmentation(features: readonly PixelFeature[], width: number, height: number, allTouched = false): SegmentationLabel {
  return encodeRle(segmentationMask(features, width, height, allTouched), width, height);
}
