import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync, inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Arena } from '../domain/imagery/codecs/arena.js';
import { inflateZlibSync, MAX_KEPT_BYTES, MAX_WASM_BLOCK_BYTES, stageWindow, type KeptBlock } from '../domain/imagery/codecs/index.js';
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

  it('checks Adler-32 as zlib does at every length around its 32-byte steps and 4096-byte folds, even all 0xff', () => {
    let seed = 12345;
    const noise = Buffer.alloc(70_000);
    for (let i = 0; i < noise.length; i++) noise[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    const lengths = [1, 2, 31, 32, 33, 63, 64, 65, 4095, 4096, 4097, 4127, 4128, 4129, 8192, 8193, 65_535, 70_000];
    for (const fill of ['noise', 0xff, 0x00] as const) {
      for (const length of lengths) {
        const data = fill === 'noise' ? noise.subarray(0, length) : Buffer.alloc(length, fill);
        const stream = deflateSync(data);
        expect(Buffer.from(inflateZlibSync(stream, length)!).equals(data), `${fill} ${length}`).toBe(true);
        // The stored checksum, off by one in its low or its high half, is refused.
        for (const at of [stream.length - 1, stream.length - 3]) {
          const bad = Buffer.from(stream);
          bad[at] = (bad[at]! + 1) & 0xff;
          expect(() => inflateZlibSync(bad, length), `${fill} ${length} byte ${at}`).toThrow(/invalid zlib stream/);
        }
      }
    }
  });

  it("keeps blocks in its memory on request, reuses a freed block's space, and copies out past its limit", () => {
    const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 256));
    const stream = deflateSync(data);
    const first = inflateZlibSync(stream, data.length, undefined, true) as KeptBlock;
    expect(first).not.toBeInstanceOf(Uint8Array);
    expect(Buffer.from(first.bytes()).equals(data)).toBe(true);
    const at = first.bytes().byteOffset;
    first.free();
    first.free(); // a second free does nothing
    const second = inflateZlibSync(stream, data.length, undefined, true) as KeptBlock;
    expect(second.bytes().byteOffset).toBe(at);
    // A block that is kept survives other decodes (and the memory growing under it).
    const big = Buffer.alloc(20 * 1024 * 1024, 3);
    expect(Buffer.from(inflateZlibSync(deflateSync(big), big.length)!).equals(big)).toBe(true);
    expect(Buffer.from(second.bytes()).equals(data)).toBe(true);
    second.free();
    // Past the thread's limit a block comes back in a buffer of its own.
    const kept: KeptBlock[] = [];
    const huge = deflateSync(Buffer.alloc(32 * 1024 * 1024, 9));
    let copied: unknown = null;
    for (let i = 0; i <= MAX_KEPT_BYTES / (32 * 1024 * 1024) && copied === null; i++) {
      const out = inflateZlibSync(huge, 32 * 1024 * 1024, undefined, true)!;
      if (out instanceof Uint8Array) copied = out;
      else kept.push(out);
    }
    expect(copied).toBeInstanceOf(Uint8Array);
    expect(kept.length).toBeLessThan(MAX_KEPT_BYTES / (32 * 1024 * 1024));
    for (const block of kept) block.free();
    expect(inflateZlibSync(huge, 32 * 1024 * 1024, undefined, true)).not.toBeInstanceOf(Uint8Array);
  });
});

describe('stageWindow', () => {
  /**
   * Bands of a kept pixel-interleaved block gathered into a window in the codecs' memory (gather_rows in codecs.c),
   * against the same copy done sample by sample here: every sample size, a band subset in reverse order, a part of
   * the block's rows and columns placed inside a larger window, and the memory growing between gathers.
   */
  it('gathers bands of 1, 2, 4 and 8-byte samples from kept blocks as a sample-by-sample copy does', () => {
    // Kept before the memory grows (past the arena's bound, blocks are copied out rather than kept).
    const blocks = [1, 2, 4, 8].map((size) => {
      const bytes = Buffer.from(Array.from({ length: 37 * 9 * 5 * size }, (_, i) => (i * 131 + 7) % 251));
      const kept = inflateZlibSync(deflateSync(bytes), bytes.length, undefined, true)!;
      expect(kept).not.toBeInstanceOf(Uint8Array);
      return { size, bytes, kept: kept as KeptBlock };
    });
    for (const { size, bytes, kept } of blocks) gatherAndCompare(size, bytes, kept, size === 2);
  });

  function gatherAndCompare(size: number, block: Buffer, kept: KeptBlock, grow: boolean): void {
    const [blockWidth, bands] = [37, 5];
    // Rows 2-7 and columns 3-32 of the block land at (4, 1) of a 40 x 12 window of bands [5, 2] (0-based 4, 1).
    const [windowWidth, windowHeight, rows, count, fromRow, fromCol, toX, toY] = [40, 12, 6, 30, 2, 3, 4, 1];
    const picks = [4, 1];
    const bandBytes = windowWidth * windowHeight * size;
    const staged = stageWindow(picks.length * bandBytes, picks.length);
    staged.bytes().fill(0xee);
    const gather = (rowsFrom: number, rowCount: number) =>
      staged.gather(kept, {
        rows: rowCount,
        count,
        sampleBytes: size,
        step: bands * size,
        srcRow: blockWidth * bands * size,
        dstRow: windowWidth * size,
        targets: picks.map((band, i) => [
          ((rowsFrom * blockWidth + fromCol) * bands + band) * size,
          i * bandBytes + ((toY + rowsFrom - fromRow) * windowWidth + toX) * size,
        ]),
      });
    gather(fromRow, 2);
    if (grow) {
      // The memory grows and moves between two gathers into the same window (views taken before are detached):
      // room as large as the whole memory cannot come from freed space.
      const before = staged.bytes();
      stageWindow(before.buffer.byteLength, 1).free();
      expect(before.byteLength).toBe(0);
    }
    gather(fromRow + 2, rows - 2);
    const expected = Buffer.alloc(picks.length * bandBytes, 0xee);
    picks.forEach((band, i) => {
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < count; c++) {
          const src = (((fromRow + r) * blockWidth + fromCol + c) * bands + band) * size;
          const dst = i * bandBytes + ((toY + r) * windowWidth + toX + c) * size;
          block.copy(expected, dst, src, src + size);
        }
      }
    });
    const taken = staged.take();
    expect(Buffer.from(taken).equals(expected)).toBe(true);
    // What take() returns is the caller's own: freeing the room leaves it as it is.
    staged.free();
    staged.free(); // a second free does nothing
    expect(Buffer.from(taken).equals(expected)).toBe(true);
    expect(() => staged.bytes()).toThrow(/after it was freed/);
    kept.free();
  }

  it('refuses more bands at a time than it has room for, and reuses its room once freed', () => {
    const first = stageWindow(100_000, 2);
    const at = first.bytes().byteOffset;
    const block: KeptBlock = { at: 0, bytes: () => new Uint8Array(3), free() {} };
    const rows = { rows: 1, count: 1, sampleBytes: 1, step: 3, srcRow: 3, dstRow: 1 };
    expect(() => first.gather(block, { ...rows, targets: [[0, 0], [1, 1], [2, 2]] })).toThrow(RangeError);
    first.free();
    const second = stageWindow(100_000, 2);
    expect(second.bytes().byteOffset).toBe(at);
    second.free();
  });
});

describe('Arena', () => {
  function memory(pages: number) {
    let buffer = new ArrayBuffer(pages * 65536);
    return {
      get buffer() {
        return buffer;
      },
      grow(more: number) {
        const old = buffer.byteLength / 65536;
        buffer = new ArrayBuffer(buffer.byteLength + more * 65536);
        return old;
      },
    };
  }

  it('hands out space above its base in 4 KiB units, growing the memory, and reuses freed space of the same class', () => {
    const mem = memory(1);
    const arena = new Arena(mem, 1000, 1 << 20);
    const a = arena.alloc(5000);
    expect(a).toBe(4096);
    const b = arena.alloc(100_000);
    expect(b).toBe(4096 + 8192);
    expect(mem.buffer.byteLength).toBeGreaterThanOrEqual(b + 102_400);
    arena.release(a);
    expect(arena.alloc(4097)).toBe(a); // the same class (8 KiB)
    expect(arena.alloc(5000)).toBe(b + 102_400); // none left in the class: new space
    expect(arena.reserved).toBe(b + 102_400 + 8192);
    // Space for a moment takes the smallest larger freed space before it grows.
    arena.release(b);
    expect(arena.alloc(20_000)).toBe(b);
    expect(() => arena.release(12345)).toThrow(/nothing was handed out/);
    expect(Arena.inputSize(5000)).toBe(8192);
    expect(Arena.inputSize(1)).toBe(4096);
  });

  it('keeps blocks up to its limit, in new space only below its bound, else in freed space up to twice their size', () => {
    // Keep limit 3 units, bound 4 units (past the 1-unit base).
    const arena = new Arena(memory(1), 4096, 3 * 4096, 5 * 4096);
    const a = arena.allocKept(4096)!;
    const b = arena.allocKept(8000)!;
    expect([a, b]).toEqual([4096, 8192]);
    expect(arena.keptBytes).toBe(3 * 4096);
    expect(arena.allocKept(1)).toBeNull(); // the keep limit
    arena.releaseKept(b);
    expect(arena.keptBytes).toBe(4096);
    // Freed space up to twice the class comes before new space.
    expect(arena.allocKept(4096)).toBe(b);
    expect(arena.keptBytes).toBe(3 * 4096);
    arena.releaseKept(b);
    arena.releaseKept(a);
    expect(arena.keptBytes).toBe(0);
    // New space would pass the bound and no freed space is 1-2 times the class: not kept. A moment's space grows.
    expect(arena.allocKept(3 * 4096)).toBeNull();
    expect(arena.alloc(3 * 4096)).toBe(4 * 4096);
    expect(arena.reserved).toBe(7 * 4096);
    expect(arena.allocKept(4096)).toBe(a);
  });

  it('grows by what it needs when a quarter more is refused', () => {
    let buffer = new ArrayBuffer(64 * 65536);
    const grows: number[] = [];
    const limited = {
      get buffer() {
        return buffer;
      },
      grow(pages: number) {
        if (buffer.byteLength / 65536 + pages > 66) throw new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded');
        grows.push(pages);
        buffer = new ArrayBuffer(buffer.byteLength + pages * 65536);
        return 0;
      },
    };
    const arena = new Arena(limited, 63 * 65536, 1 << 30);
    expect(arena.alloc(2 * 65536)).toBe(63 * 65536); // needs 1 page more; a quarter (16) is refused
    expect(grows).toEqual([1]);
    expect(() => arena.alloc(4 * 65536)).toThrow(/Maximum memory size exceeded/);
  });
});
