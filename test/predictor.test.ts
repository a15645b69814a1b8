import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocateSamples, bytesPerSample } from '../domain/imagery/dtypes.js';
import { undoHorizontalDifferencing } from '../domain/imagery/predictor.js';
import { inflateZlibSync, type KeptBlock } from '../domain/imagery/codecs/index.js';
import type { Dtype } from '../domain/types.js';
import { dtypeCreationOptions, gdalBlockLocation, gdalTranslate, makeTempDir, readGdalWindows, removeTempDir, writeRasterVrt } from './support/gdal.js';

/**
 * Predictor 2 undone by undoHorizontalDifferencing (JavaScript) and by the WebAssembly codecs (inflateZlibSync with
 * differencing: 16-byte prefix sums for pixels of 1, 2, 4 and 8 bytes, a pixel at a time for 3, 6, 12 and 16,
 * sample by sample otherwise and for rows' tails) against libtiff's: a GDAL-made DEFLATE strip per case, inflated and
 * undone, must give GDAL's samples. Noise over the whole range makes differences wrap in both directions; rows of
 * 301 pixels end off a 16-byte boundary, rows of 256 on one.
 */
describe('predictor 2', () => {
  const height = 7;
  const cases: Array<{ dtype: Dtype; bands: number; width: number }> = [
    { dtype: 'uint8', bands: 3, width: 301 },
    { dtype: 'int8', bands: 1, width: 301 },
    { dtype: 'uint8', bands: 1, width: 256 },
    { dtype: 'uint8', bands: 2, width: 301 },
    { dtype: 'uint8', bands: 4, width: 301 },
    { dtype: 'uint8', bands: 5, width: 301 },
    { dtype: 'uint8', bands: 16, width: 301 },
    { dtype: 'uint16', bands: 1, width: 301 },
    { dtype: 'uint16', bands: 3, width: 301 },
    { dtype: 'uint16', bands: 4, width: 301 },
    { dtype: 'uint16', bands: 4, width: 256 },
    { dtype: 'uint16', bands: 6, width: 301 },
    { dtype: 'uint16', bands: 10, width: 301 },
    { dtype: 'int16', bands: 2, width: 301 },
    { dtype: 'uint32', bands: 3, width: 301 },
    { dtype: 'int32', bands: 1, width: 301 },
    { dtype: 'uint32', bands: 5, width: 256 },
    { dtype: 'float64', bands: 1, width: 301 },
    { dtype: 'float64', bands: 2, width: 301 },
  ];
  let dir: string;

  beforeAll(async () => {
    dir = await makeTempDir('veda-predictor-');
  });

  afterAll(async () => {
    await removeTempDir(dir);
  });

  it.each(cases)('$dtype, $bands band(s) pixel-interleaved, $width wide: the samples GDAL reads', async ({ dtype, bands, width }) => {
    const size = bytesPerSample(dtype);
    const data = allocateSamples(dtype, bands * width * height);
    const bytes = new Uint8Array(data.buffer);
    let seed = 987654321;
    for (let i = 0; i < bytes.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      bytes[i] = seed >>> 24;
    }
    // Float64 noise bytes are often NaN, which GDAL may canonicalize on the way: keep them finite.
    if (dtype === 'float64') for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) data[i] = i;
    const name = `${dtype}-${bands}-${width}`;
    const vrt = await writeRasterVrt(dir, name, { dtype, bands, width, height, data });
    const options = ['-co', 'COMPRESS=DEFLATE', '-co', 'PREDICTOR=2', '-co', `BLOCKYSIZE=${height}`, '-co', 'INTERLEAVE=PIXEL'];
    const path = await gdalTranslate(vrt, join(dir, `${name}.tif`), [...options, ...dtypeCreationOptions(dtype)]);
    const { offset, size: stored } = await gdalBlockLocation(path, 0, 0);
    const compressed = (await readFile(path)).subarray(offset, offset + stored);
    const strip = inflateSync(compressed);
    const decoded = new Uint8Array(strip).buffer;

    // Rows in two calls, as a window reader undoes them on first use.
    undoHorizontalDifferencing(decoded, size, 3 * bands * width, height * bands * width, bands * width, bands);
    undoHorizontalDifferencing(decoded, size, 0, 3 * bands * width, bands * width, bands);

    // GDAL returns bands one after another; the strip holds them pixel by pixel.
    const gdal = (await readGdalWindows(path, [{ window: { x: 0, y: 0, width, height } }]))[0]!;
    const expected = new Uint8Array(gdal.length);
    for (let band = 0; band < bands; band++) {
      for (let pixel = 0; pixel < width * height; pixel++) {
        const from = (band * width * height + pixel) * size;
        expected.set(gdal.subarray(from, from + size), (pixel * bands + band) * size);
      }
    }
    expect(Buffer.from(decoded)).toEqual(Buffer.from(expected));

    const differencing = { rowBytes: bands * width * size, sampleBytes: size, pixelBytes: bands * size };
    expect(Buffer.from(inflateZlibSync(compressed, strip.length, differencing)!)).toEqual(Buffer.from(expected));
    const kept = inflateZlibSync(compressed, strip.length, differencing, true) as KeptBlock;
    expect(Buffer.from(kept.bytes())).toEqual(Buffer.from(expected));
    kept.free();
  });
});
