import type { Raster } from '../types.js';

/**
 * The default contrast stretch: each band's 2nd to 98th percentile maps to 0..255, so a few extreme pixels (glint,
 * cloud, sensor noise) do not leave the rest of the chip flat.
 */
export const DEFAULT_PERCENTILES: [number, number] = [2, 98];

/**
 * The [low, high] values at two percentiles (0..100) of one band, NaN ignored; nearest rank on the sorted values.
 * Null when the band holds no number.
 */
export function bandRange(values: ArrayLike<number>, percentiles: [number, number]): [number, number] | null {
  const sorted = Float64Array.from(values).filter((v) => !Number.isNaN(v)).sort();
  if (sorted.length === 0) return null;
  const at = (p: number) => sorted[Math.round((p / 100) * (sorted.length - 1))]!;
  return [at(percentiles[0]), at(percentiles[1])];
}

/**
 * One band of the raster (1-based) stretched to bytes: low -> 0, high -> 255, linear between, clamped. A flat band
 * (low == high) is mid-grey so it reads as "no contrast" rather than black. NaN pixels are 0 and flagged in
 * `missing`.
 */
export function stretchBand(raster: Raster, band: number, percentiles: [number, number], missing: Uint8Array): Uint8Array {
  const pixels = raster.width * raster.height;
  const values = raster.data.subarray((band - 1) * pixels, band * pixels);
  const out = new Uint8Array(pixels);
  const range = bandRange(values, percentiles);
  if (!range) {
    missing.fill(1);
    return out;
  }
  const [low, high] = range;
  const gain = high > low ? 255 / (high - low) : 0;
  for (let p = 0; p < pixels; p++) {
    const v = values[p]!;
    if (Number.isNaN(v)) {
      missing[p] = 1;
      continue;
    }
    out[p] = gain === 0 ? 128 : Math.min(255, Math.max(0, Math.round((v - low) * gain)));
  }
  return out;
}
