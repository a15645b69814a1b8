/**
 * Chips and batch files around the page cache (domain/storage/direct-io.ts): written and read whole with O_DIRECT,
 * byte for byte, and leaving no pages in the page cache, which `fincore` measures (an ordinary write, measured the
 * same way, leaves them all). The temp directory of this kind of machine (ext4) takes direct I/O.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeBatch, type BatchSample } from '../domain/batches/index.js';
import { ObjectChipStore } from '../domain/chips/index.js';
import { NotFoundError } from '../domain/errors.js';
import { DIRECT_IO_BLOCK, directIoSupported, openDirectWrites, readFileDirect, writeFileDirect } from '../domain/storage/direct-io.js';
import { LocalObjectStore } from '../domain/storage/local-object-store.js';
import type { Raster } from '../domain/types.js';
import { summarizeWithH5py } from './support/h5py.js';

const run = promisify(execFile);

/** Pages of the file in the page cache (fincore, util-linux). */
async function cachedPages(file: string): Promise<number> {
  const { stdout } = await run('fincore', ['--bytes', '--noheadings', '--raw', '--output', 'PAGES', file]);
  return Number(stdout.trim());
}

/** Bytes that differ from place to place, so a block out of place shows. */
function pattern(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 31 + seed * 7 + (i >> 12)) % 251);
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'veda-direct-io-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('direct I/O', () => {
  it('is found to work in the temp directory, and the answer is kept', async () => {
    expect(await directIoSupported(dir)).toBe(true);
    expect(await directIoSupported(dir)).toBe(true);
  });

  it('writes files of any length whole, reads them back, and leaves no page cached', async () => {
    for (const length of [1, DIRECT_IO_BLOCK - 1, DIRECT_IO_BLOCK, DIRECT_IO_BLOCK + 1, 786_448]) {
      const file = path.join(dir, `f-${length}`);
      const head = pattern(16, length);
      const body = pattern(length - Math.min(length, 16), length + 1);
      await writeFileDirect(file, length >= 16 ? [head, body] : [head.subarray(0, length)]);
      const expected = Buffer.concat(length >= 16 ? [head, body] : [head.subarray(0, length)]);
      expect((await stat(file)).size).toBe(length);
      expect(await cachedPages(file)).toBe(0);
      const read = await readFileDirect(file, (bytes) => Buffer.from(bytes));
      expect(read.equals(expected)).toBe(true);
      expect(await cachedPages(file)).toBe(0);
    }
    // An ordinary write, measured alike, leaves its pages cached: the measure can tell.
    const plain = path.join(dir, 'plain');
    await writeFile(plain, pattern(786_448, 3));
    expect(await cachedPages(plain)).toBeGreaterThan(150);
    await expect(writeFileDirect(plain, [pattern(10, 1)])).rejects.toMatchObject({ code: 'EEXIST' });
  });

  it('stores chips in a direct store that come back equal and leave no page cached; a plain store caches them', async () => {
    const chip: Raster = { dtype: 'uint16', bands: 6, width: 256, height: 256, data: new Uint16Array(pattern(6 * 256 * 256 * 2, 5).buffer) };
    for (const directIo of [true, false]) {
      const objects = new LocalObjectStore(path.join(dir, `chips-${directIo}`), { directIo });
      const chips = new ObjectChipStore(objects);
      expect(await objects.directIo()).toBe(directIo);
      await chips.put('a/b.chip', chip);
      const back = await chips.get('a/b.chip');
      expect(back).toMatchObject({ dtype: 'uint16', bands: 6, width: 256, height: 256 });
      expect(Buffer.from(back.data.buffer, back.data.byteOffset, back.data.byteLength).equals(Buffer.from(chip.data.buffer))).toBe(true);
      const pages = await cachedPages(objects.localPath('a/b.chip'));
      if (directIo) expect(pages).toBe(0);
      else expect(pages).toBeGreaterThan(150);
      await expect(chips.get('a/none.chip')).rejects.toBeInstanceOf(NotFoundError);
      await expect(objects.readWith('a/none', () => 1)).rejects.toBeInstanceOf(NotFoundError);
    }
  });

  it('writes on a thread of its own, in the order the buffers were handed out, and waits where asked', async () => {
    const file = path.join(dir, 'threaded');
    await writeFile(file, '');
    const writes = openDirectWrites(file, 4 * DIRECT_IO_BLOCK)!;
    const expected = new Uint8Array(40 * DIRECT_IO_BLOCK);
    const put = (block: number, blocks: number, seed: number) => {
      const buffer = writes.buffer();
      const bytes = pattern(blocks * DIRECT_IO_BLOCK, seed);
      buffer.set(bytes, DIRECT_IO_BLOCK);
      writes.write(DIRECT_IO_BLOCK, DIRECT_IO_BLOCK + bytes.length, block * DIRECT_IO_BLOCK);
      expected.set(bytes, block * DIRECT_IO_BLOCK);
    };
    // More writes than buffers (each handed out again only once written), one overwriting an earlier one.
    for (let i = 0; i < 10; i++) put(i * 3, 3, i);
    put(4, 2, 99);
    writes.settle(4 * DIRECT_IO_BLOCK, 5 * DIRECT_IO_BLOCK);
    writes.buffer();
    writes.write(0, 0, 0); // a buffer handed out and not needed: written with nothing
    writes.drain();
    writes.close();
    expect(Buffer.from(await readFile(file)).equals(Buffer.from(expected.subarray(0, 30 * DIRECT_IO_BLOCK)))).toBe(true);
  });

  it('puts bytes into its buffers at any offset, from any offset of the source, byte for byte', async () => {
    const file = path.join(dir, 'put');
    await writeFile(file, '');
    const runBytes = 64 * 1024;
    const writes = openDirectWrites(file, runBytes)!;
    const source = pattern(3 * runBytes, 7);
    const expected = new Uint8Array(40 * runBytes);
    let block = 0;
    // Source and target 8-byte aligned alike and not (shifted in place), and one ending at the buffer's very end
    // (no room to shift into: copied as it is); around each, bytes put before must stay as they were.
    for (const [from, at, length] of [[0, 0, 5000], [3, 8, 40_000], [8, 3, 777], [6, 4093, 60_001], [1, runBytes - 1001, 1001]] as const) {
      const buffer = writes.buffer();
      const before = pattern(runBytes, block + 100);
      buffer.set(before);
      writes.put(source.subarray(from, from + length), at);
      const image = before.slice();
      image.set(source.subarray(from, from + length), at);
      expect(Buffer.from(buffer.subarray(0, runBytes)).equals(Buffer.from(image))).toBe(true);
      writes.write(0, runBytes, block * runBytes);
      expected.set(image, block * runBytes);
      block++;
    }
    writes.close();
    expect(Buffer.from(await readFile(file)).equals(Buffer.from(expected.subarray(0, block * runBytes)))).toBe(true);
  });

  it('writes a large batch around the page cache (a small one through it), which h5py reads as one written through it', async () => {
    // 800 samples of 4 x 128 x 128 uint16: 105 MB; the first 32 MiB of any batch go through the page cache.
    const image = (i: number) => {
      const data = new Uint16Array(4 * 128 * 128).fill(i);
      for (let k = 0; k < data.length; k += 97) data[k] = (i * 131 + k) % 65_521;
      return data;
    };
    const samples: BatchSample[] = Array.from({ length: 800 }, (_, i) => ({
      id: `s${i}`,
      group: i % 4 ? 'train' : 'test',
      source: 'mem://scene',
      window: { x: i, y: 0, width: 128, height: 128 },
      image: { data: image(i), bands: 4, width: 128, height: 128, dtype: 'uint16' as const },
      label: { width: 128, height: 128, runs: [i % 3, 128 * 64, (i + 1) % 3, 128 * 64] },
    }));
    const meta = { dataset: { name: 't' }, classes: ['a', 'b'], mlType: 'segmentation' as const, seed: 0, inputs: {} };
    const files = { direct: path.join(dir, 'direct.h5'), cached: path.join(dir, 'cached.h5'), small: path.join(dir, 'small.h5') };
    await writeBatch(files.direct, meta, samples, { directIo: true });
    await writeBatch(files.cached, meta, samples, { directIo: false });
    await writeBatch(files.small, meta, samples.slice(0, 40), { directIo: true });
    const size = (await stat(files.direct)).size;
    expect(size).toBeGreaterThan(100_000_000);
    const cachedBytes = async (file: string) => (await cachedPages(file)) * 4096;
    // Past the first 32 MiB (and the slice under way then), the image and mask chunks went around the cache: what
    // else is cached is HDF5's metadata and the runs' edges.
    expect(await cachedBytes(files.direct)).toBeLessThan(size / 2);
    expect(await cachedBytes(files.cached)).toBeGreaterThan(size * 0.9);
    expect(await cachedBytes(files.small)).toBeGreaterThan((await stat(files.small)).size * 0.9);
    const [direct, cached] = await Promise.all([summarizeWithH5py(files.direct), summarizeWithH5py(files.cached)]);
    expect(direct.groups).toEqual(cached.groups);
    expect(direct.groups.train!.images!.shape).toEqual([600, 4, 128, 128]);
    const train = samples.filter((s) => s.group === 'train').map((s) => Buffer.from((s.image.data as Uint16Array).buffer));
    expect(direct.groups.train!.images!.sha256).toBe(createHash('sha256').update(Buffer.concat(train)).digest('hex'));
  });
});
