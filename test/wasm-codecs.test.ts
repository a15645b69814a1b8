import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync, inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeLzwSync, inflateZlibSync, MAX_WASM_BLOCK_BYTES } from '../domain/imagery/codecs/index.js';
import { gdalBlockLocation, gdalTranslate, makeTempDir, removeTempDir } from './support/gdal.js';
import { OLINDA } from './support/stack.js';

/**
 * libdeflate (WebAssembly) against zlib: GDAL-written DEFLATE tiles of the Olinda scene (with and without
 * predictor 2) inflate to zlib's bytes, and broken streams fail as they do with zlib.
 */
describe('inflateZlibSync', () => {
  let dir: string;
  const tiles: Uint8Array[] = [];

  beforeAll(async () => {
    dir = await makeTempDir('veda-inflate-');
    for (const predictor of ['1', '2']) {
      const tif = join(dir, `p${predictor}.tif`);
      await gdalTranslate(OLINDA.image, tif, ['-co', 'COMPRESS=DEFLATE', '-co', `PREDICTOR=${predictor}`, '-co', 'TILED=YES', '-co', 'BLOCKXSIZE=128', '-co', 'BLOCKYSIZE=128']);
      const bytes = new Uint8Array(await readFile(tif));
      for (const [bx, by] of [[0, 0], [1, 1], [2, 0]] as const) {
        const { offset, size } = await gdalBlockLocation(tif, bx, by);
        tiles.push(bytes.subarray(offset, offset + size));
      }
    }
  }, 60_000);

  afterAll(async () => {
    await removeTempDir(dir);
  });

  it('inflates GDAL-written tiles to the bytes zlib gives, each into a buffer of its own', () => {
    expect(tiles).toHaveLength(6);
    for (const tile of tiles) {
      const expected = inflateSync(tile);
      const out = inflateZlibSync(tile, expected.length)!;
      expect(Buffer.from(out).equals(expected)).toBe(true);
      expect(out.byteOffset).toBe(0);
      expect(out.buffer.byteLength).toBe(expected.length);
    }
    // One result is not overwritten by the next (no shared output buffer).
    const first = inflateZlibSync(tiles[0]!, inflateSync(tiles[0]!).length)!;
    const copy = Uint8Array.from(first);
    inflateZlibSync(tiles[3]!, inflateSync(tiles[3]!).length);
    expect(first).toEqual(copy);
  });

  it('takes less data than the room, ignores bytes after the stream, and says when the data holds more', () => {
    const data = Buffer.from('veda '.repeat(1000));
    const stream = deflateSync(data);
    expect(Buffer.from(inflateZlibSync(stream, data.length + 100)!).equals(data)).toBe(true);
    expect(Buffer.from(inflateZlibSync(Buffer.concat([stream, Buffer.alloc(37, 0xee)]), data.length)!).equals(data)).toBe(true);
    expect(inflateZlibSync(stream, data.length - 1)).toBeNull();
    expect(inflateZlibSync(deflateSync(Buffer.alloc(0)), 16)).toEqual(new Uint8Array(0));
  });

  it('refuses what zlib refuses: a bad header, a cut stream, a bad checksum, raw DEFLATE', () => {
    const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 31) % 251));
    const stream = deflateSync(data);
    const broken = {
      header: Buffer.concat([Buffer.from([0x12, 0x34]), stream.subarray(2)]),
      cut: stream.subarray(0, stream.length - 10),
      checksum: Buffer.concat([stream.subarray(0, stream.length - 1), Buffer.from([stream[stream.length - 1]! ^ 1])]),
      raw: stream.subarray(2, stream.length - 4),
    };
    for (const [name, bytes] of Object.entries(broken)) {
      expect(() => inflateSync(bytes), name).toThrow();
      expect(() => inflateZlibSync(bytes, data.length), name).toThrow(/invalid zlib stream/);
    }
    // The inflater keeps working after a failure.
    expect(Buffer.from(inflateZlibSync(stream, data.length)!).equals(data)).toBe(true);
  });

  it('grows its memory for large blocks and refuses blocks past its limit', () => {
    const big = Buffer.alloc(24 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big[i] = i % 255;
    const out = inflateZlibSync(deflateSync(big, { level: 1 }), big.length)!;
    expect(Buffer.from(out).equals(big)).toBe(true);
    expect(() => inflateZlibSync(deflateSync(big), MAX_WASM_BLOCK_BYTES + 1)).toThrow(RangeError);
  });
});
