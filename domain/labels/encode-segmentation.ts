import type { SegmentationLabel } from '../types.js';
import { burnPolygon } from './rasterize.js';
import { packWindowRings, type PackedPixelRings } from './ring-runs.js';
import { encodeRle, encodeRlePacked, type PackedRunsLabel } from './rle.js';
import { featuresInFileOrder, windowPixelTransform, type WindowLabelContext } from './window-features.js';

/**
 * A class-index mask (0 background, i + 1 for class i), burned feature by feature in file order so that where
 * features overlap the later one wins, as gdal_rasterize burns a layer. Pixel-centre rule by default, every
 * touched pixel with allTouched (see rasterize.ts for the exact rules).
 */
export function segmentationMask(ctx: WindowLabelContext, allTouched = false): Uint8Array {
  return burnMask(ctx, allTouched, (size) => new Uint8Array(size));
}

export function encodeSegmentation(ctx: WindowLabelContext, allTouched = false): SegmentationLabel {
  return encodeRle(burnMask(ctx, allTouched, scratchMask), ctx.window.width, ctx.window.height);
}

/** encodeSegmentation's runs packed as the catalog stores them (rle.ts). */
export function encodeSegmentationPacked(ctx: WindowLabelContext, allTouched = false): PackedRunsLabel {
  return encodeRlePacked(burnMask(ctx, allTouched, scratchMask), ctx.window.width, ctx.window.height);
}

/**
 * A mask that lives only until its runs are found: one serves every window (a fresh 64 KiB array per window was
 * garbage the collector chased on a thread that encodes thousands), zeroed for each. Burning and encoding run
 * without an await between them, so no two windows ever hold it at once.
 */
let scratch = new Uint8Array(0);
function scratchMask(size: number): Uint8Array {
  if (scratch.length < size) scratch = new Uint8Array(size);
  return scratch.subarray(0, size).fill(0);
}

/** Burns the context's features into a mask of zeros from `allocate`, once the window is known to be valid. */
function burnMask(ctx: WindowLabelContext, allTouched: boolean, allocate: (size: number) => Uint8Array): Uint8Array {
  const inv = windowPixelTransform(ctx);
  const { width, height } = ctx.window;
  const mask = allocate(width * height);
  for (const feature of featuresInFileOrder(ctx)) {
    // All rings of all parts of a feature, as GDAL burns them: one even-odd polygon.
    burnPolygon(mask, width, height, packWindowRings(feature, inv, width, height, pixelRings), feature.classIndex + 1, allTouched);
  }
  return mask;
}

/** One feature's rings in window pixels, reused from feature to feature: the burn keeps nothing of them. */
const pixelRings: PackedPixelRings = { coords: new Float64Array(0), ends: [] };
