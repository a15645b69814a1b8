import type { Raster } from '../types.js';

/**
 * The share (0 to 1) of a raster's pixels that are nodata: every band of the pixel equals `nodata` (NaN matches
 * NaN). 0 when the image declares no nodata value.
 */
export function nodataShare(raster: Raster, nodata: number | null): number {
  const pixels = raster.width * raster.height;
  if (nodata === null || pixels === 0) return 0;
  const { data, bands } = raster;
  const isNodata = Number.isNaN(nodata) ? (v: number) => Number.isNaN(v) : (v: number) => v === nodata;
  let count = 0;
  for (let p = 0; p < pixels; p++) {
    let all = true;
    for (let b = 0; b < bands && all; b++) all = isNodata(data[b * pixels + p]!);
    if (all) count++;
  }
  return count / pixels;
}
