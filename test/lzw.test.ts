import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeLzw } from '../domain/imagery/lzw.js';
import { decodeLzwSync } from '../domain/imagery/codecs/index.js';
import { gdalBlockLocation, gdalTranslate, makeTempDir, readGdalWindows, removeTempDir, writeRasterVrt } from './support/gdal.js';

/**
 * decodeLzw against libtiff's encoder and decoder: one GDAL-made LZW strip, long and varied enough to take codes
 * through every width (9 to 12 bits, widening at 511, 1023 and 2047) and past a full table (clear codes), decoded
 * byte for byte as GDAL reads it.
 */
describe('decodeLzw', () => {
  const width = 4000;
  const height = 50;
  let dir: string;
  let strip: Uint8Array;
  let gdalBytes: Uint8Array;

  beforeAll(async () => {
    dir = await makeTempDir('veda-lzw-');
    // Noise fills the table quickly (clear codes); long runs and repeated rows make long strings (long copies).
    const data = new Uint8Array(width * height);
    let seed = 12345;
    for (let i = 0; i < data.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const row = Math.floor(i / width);
      data[i] = row % 5 === 0 ? (seed >>> 24) & 0x0f : row % 5 === 1 ? Math.floor((i % width) / 300) : data[i - width]! ^ (row & 1);
    }
    const vrt = await writeRasterVrt(dir, 'lzw', { dtype: 'uint8', bands: 1, width, height, data });
    const path = await gdalTranslate(vrt, join(dir, 'lzw.tif'), ['-co', 'COMPRESS=LZW', '-co', `BLOCKYSIZE=${height}`]);
    const { offset, size } = await gdalBlockLocation(path, 0, 0);
    strip = new Uint8Array(await readFile(path)).subarray(offset, offset + size);
    gdalBytes = (await readGdalWindows(path, [{ window: { x: 0, y: 0, width, height } }]))[0]!;
  }, 60_000);

  afterAll(async () => {
    await removeTempDir(dir);
  });

  it('decodes a whole strip exactly as GDAL reads it', () => {
    // Over 13,000 codes of at most 12 bits: the 3,838-entry table fills (a clear code) several times.
    expect(strip.length).toBeGreaterThan(20_000);
    expect(Buffer.from(decodeLzw(strip, width * height))).toEqual(Buffer.from(gdalBytes));
  });

  it('grows its output when the block is larger than expected', () => {
    expect(Buffer.from(decodeLzw(strip, 10))).toEqual(Buffer.from(gdalBytes));
  });

  it('stops at the end-of-information code, ignoring bytes after it', () => {
    const padded = new Uint8Array(strip.length + 16).fill(0xff);
    padded.set(strip);
    expect(Buffer.from(decodeLzw(padded, width * height))).toEqual(Buffer.from(gdalBytes));
  });

  it('a strip cut mid-code yields the bytes of its whole codes, a prefix of the full decode', () => {
    for (const cut of [3, 777, 5003, strip.length >> 1, strip.length - 3]) {
      const decoded = decodeLzw(strip.subarray(0, cut), width * height);
      expect(decoded.length).toBeGreaterThan(0);
      expect(decoded.length).toBeLessThan(gdalBytes.length);
      expect(Buffer.from(decoded)).toEqual(Buffer.from(gdalBytes.subarray(0, decoded.length)));
    }
  });

  it('rejects a code used before it is defined', () => {
    // 9-bit codes: CLEAR (256), then 300, which no string defines yet.
    const bits = '100000000' + '100101100' + '000000';
    const bytes = Uint8Array.from(bits.match(/.{8}/g)!, (b) => parseInt(b, 2));
    expect(() => decodeLzw(bytes, 16)).toThrow(/code 300/);
  });

  // The WebAssembly decoder (codecs.c) follows decodeLzw step for step; where decodeLzw grows its output or names
  // what is wrong, it answers null and the window reader hands the block to decodeLzw.
  it('in WebAssembly: the same bytes for the whole strip, padded, and cut mid-code; null where decodeLzw must take over', () => {
    expect(Buffer.from(decodeLzwSync(strip, width * height)!)).toEqual(Buffer.from(gdalBytes));
    const padded = new Uint8Array(strip.length + 16).fill(0xff);
    padded.set(strip);
    expect(Buffer.from(decodeLzwSync(padded, width * height)!)).toEqual(Buffer.from(gdalBytes));
    for (const cut of [3, 777, 5003, strip.length >> 1, strip.length - 3]) {
      expect(Buffer.from(decodeLzwSync(strip.subarray(0, cut), width * height)!)).toEqual(Buffer.from(decodeLzw(strip.subarray(0, cut), width * height)));
    }
    // More data than room, and a code used before it is defined.
    expect(decodeLzwSync(strip, 10)).toBeNull();
    const bits = '100000000' + '100101100' + '000000';
    expect(decodeLzwSync(Uint8Array.from(bits.match(/.{8}/g)!, (b) => parseInt(b, 2)), 16)).toBeNull();
    // Each result is a buffer of its own: the next decode does not overwrite it.
    const first = decodeLzwSync(strip, width * height)!;
    decodeLzwSync(strip.subarray(0, 777), width * height);
    expect(first.byteOffset).toBe(0);
    expect(first.buffer.byteLength).toBe(gdalBytes.length);
    expect(Buffer.from(first)).toEqual(Buffer.from(gdalBytes));
  });
});
