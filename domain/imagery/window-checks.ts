import { InvalidInputError } from '../errors.js';
import type { ImageInfo, PixelWindow } from '../types.js';

/** Throws unless `w` is a non-empty integer window inside the image. */
export function assertWindowInImage(info: ImageInfo, w: PixelWindow): void {
  const { x, y, width, height } = w;
  const integers = [x, y, width, height].every(Number.isSafeInteger);
  if (!integers || x < 0 || y < 0 || width < 1 || height < 1 || x + width > info.width || y + height > info.height) {
    throw new InvalidInputError(
      `${info.uri}: window (x ${x}, y ${y}, width ${width}, height ${height}) is not inside the ` +
        `${info.width} x ${info.height} image`,
    );
  }
}

/** The 1-based band numbers to read: all bands when none are given; throws on a band the image does not have. */
export function resolveBands(info: ImageInfo, bands?: number[]): number[] {
  if (bands === undefined) return Array.from({ length: info.bands }, (_, i) => i + 1);
  if (bands.length === 0) throw new InvalidInputError(`${info.uri}: no bands requested`);
  for (const band of bands) {
    if (!Number.isInteger(band) || band < 1 || band > info.bands) {
      throw new InvalidInputError(`${info.uri}: band ${band} does not exist (bands are 1 to ${info.bands})`);
    }
  }
  return bands;
}
