import { readdir, readFile, stat, truncate, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chipKey, datasetChipPrefix, decodeChip, encodeChip, LocalChipStore } from '../domain/chips/index.js';
import { InvalidInputError, NotFoundError } from '../domain/errors.js';
import { allocateSamples, bytesOf } from '../domain/imagery/dtypes.js';
import { DTYPES, type Dtype, type Raster } from '../domain/types.js';
import { makeTempDir, removeTempDir } from './support/gdal.js';

let dir: string;
let store: LocalChipStore;

beforeEach(async () => {
  dir = await makeTempDir('veda-chips-');
  store = new LocalChipStore(join(dir, 'root'));
});

afterEach(async () => {
  await removeTempDir(dir);
});

/** A chip whose bytes are all different from one seed to the next, with each dtype's extreme values. */
function chip(dtype: Dtype, bands: number, height = 5, width = 7, seed = 1): Raster {
  const data = allocateSamples(dtype, bands * height * width);
  const bytes = bytesOf(data);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + seed * 17) & 0xff;
  const extremes: Record<Dtype, number[]> = {
    uint8: [0, 255],
    int8: [-128, 127],
    uint16: [0, 65535],
    int16: [-32768, 32767],
    uint32: [0, 4294967295],
    int32: [-2147483648, 2147483647],
    float32: [NaN, -0, Infinity, -Infinity, 1e-45, 3.4028234663852886e38],
    float64: [NaN, -0, Infinity, -Infinity, 5e-324, Number.MAX_VALUE],
  };
  extremes[dtype].forEach((v, i) => (data[i] = v));
  return { dtype, bands, height, width, data };
}

function expectSameChip(actual: Raster, expected: Raster): void {
  expect({ ...actual, data: undefined }).toEqual({ ...expected, data: undefined });
  expect(actual.data.constructor).toBe(expected.data.constructor);
  expect(Buffer.from(bytesOf(actual.data)).equals(Buffer.from(bytesOf(expected.data)))).toBe(true);
}

describe('LocalChipStore', () => {
  it.each(DTYPES.flatMap((dtype) => [1, 3, 4, 7].map((bands) => ({ dtype, bands }))))(
    'round-trips $dtype chips of $bands bands exactly',
    async ({ dtype, bands }) => {
      const original = chip(dtype, bands);
      const key = chipKey('ds1', `point-${dtype}-${bands}`);
      await store.put(key, original);
      const read = await store.get(key);
      expectSameChip(read, original);
      // Its samples alone fill their buffer, so a batch moves them to its writing thread without a copy.
      expect([read.data.byteOffset, read.data.buffer.byteLength]).toEqual([0, read.data.byteLength]);
      expect(await store.has(key)).toBe(true);
    },
  );

  it('stores a chip compactly: a 16-byte header and the raw samples', async () => {
    const original = chip('uint16', 3, 64, 48);
    const key = chipKey('ds1', 'compact');
    await store.put(key, original);
    expect((await stat(join(store.root, key))).size).toBe(16 + 3 * 64 * 48 * 2);
  });

  it('putting a key twice is harmless and the last write wins', async () => {
    const key = chipKey('ds1', 'again');
    await store.put(key, chip('float32', 4, 5, 7, 1));
    await store.put(key, chip('float32', 4, 5, 7, 1));
    expectSameChip(await store.get(key), chip('float32', 4, 5, 7, 1));
    await store.put(key, chip('int16', 1, 9, 2, 2));
    expectSameChip(await store.get(key), chip('int16', 1, 9, 2, 2));
  });

  it('concurrent writers of one key leave one whole chip, never a torn one, and no temporary files', async () => {
    const key = chipKey('ds1', 'raced');
    const a = chip('float64', 7, 40, 40, 1);
    const b = chip('float64', 7, 40, 40, 2);
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.put(key, i % 2 ? a : b)));
    const stored = await store.get(key);
    const same = (x: Raster) => Buffer.from(bytesOf(stored.data)).equals(Buffer.from(bytesOf(x.data)));
    expect(same(a) || same(b)).toBe(true);
    const folder = join(store.root, key, '..');
    expect(await readdir(folder)).toEqual(['raced.chip']);
  });

  it('a crashed writer\'s temporary file is not a chip', async () => {
    const key = chipKey('ds1', 'crashed');
    const file = join(store.root, key);
    await mkdir(join(file, '..'), { recursive: true });
    await writeFile(`${file}.tmp-deadbeef0000`, Buffer.from(encodeChip(chip('uint8', 3)).subarray(0, 20)));
    expect(await store.has(key)).toBe(false);
    await expect(store.get(key)).rejects.toThrow(NotFoundError);
    await store.put(key, chip('uint8', 3));
    expectSameChip(await store.get(key), chip('uint8', 3));
  });

  it('a missing chip is NotFoundError and has() is false', async () => {
    const key = chipKey('ds1', 'nothing');
    await expect(store.get(key)).rejects.toThrow(NotFoundError);
    await expect(store.get(key)).rejects.toThrow(key);
    expect(await store.has(key)).toBe(false);
  });

  it('a truncated or foreign file is InvalidInputError naming the key', async () => {
    const key = chipKey('ds1', 'broken');
    await store.put(key, chip('int32', 3));
    await truncate(join(store.root, key), 30);
    await expect(store.get(key)).rejects.toThrow(InvalidInputError);
    await expect(store.get(key)).rejects.toThrow(/broken.*truncated/);
    await writeFile(join(store.root, key), 'hello, not a chip');
    await expect(store.get(key)).rejects.toThrow(/not a veda chip/);
    await writeFile(join(store.root, key), 'short');
    await expect(store.get(key)).rejects.toThrow(/not a veda chip/);
    // Longer than its header says, and cut inside its header: both named, neither decoded.
    await writeFile(join(store.root, key), Buffer.concat([encodeChip(chip('uint16', 2)), Buffer.from([1])]));
    await expect(store.get(key)).rejects.toThrow(/broken.*truncated or corrupt/);
    await writeFile(join(store.root, key), encodeChip(chip('uint16', 2)).subarray(0, 12));
    await expect(store.get(key)).rejects.toThrow(/not a veda chip/);
  });

  it('rejects data that does not match the chip header', async () => {
    const bad: Raster = { dtype: 'uint8', bands: 1, height: 2, width: 2, data: new Float32Array(4) };
    await expect(store.put('a/b.chip', bad)).rejects.toThrow(InvalidInputError);
    const short: Raster = { dtype: 'uint8', bands: 2, height: 2, width: 2, data: new Uint8Array(4) };
    await expect(store.put('a/b.chip', short)).rejects.toThrow(InvalidInputError);
    expect(await store.has('a/b.chip')).toBe(false);
  });

  it('rejects keys and prefixes that escape the root or are not plain paths', async () => {
    const outside = join(dir, 'outside.chip');
    await writeFile(outside, 'keep me');
    for (const key of ['../outside.chip', '/etc/passwd', 'a/../../outside.chip', 'a//b', 'a/./b', '', 'a\\b', 'a/b/', '..']) {
      await expect(store.put(key, chip('uint8', 1)), key).rejects.toThrow(InvalidInputError);
      await expect(store.get(key), key).rejects.toThrow(InvalidInputError);
      await expect(store.has(key), key).rejects.toThrow(InvalidInputError);
    }
    for (const prefix of ['', '/', '../', '..', '../outside', 'a/../..']) {
      await expect(store.deletePrefix(prefix), prefix).rejects.toThrow(InvalidInputError);
    }
    expect(await readFile(outside, 'utf8')).toBe('keep me');
  });

  it('deletePrefix removes every chip whose key starts with the prefix and nothing else', async () => {
    const keys = {
      abc: [chipKey('abc', 'p1'), chipKey('abc', 'q2')],
      abd: [chipKey('abd', 'p1')],
      xyz: [chipKey('xyz', 'p1'), chipKey('xyz', 'p2')],
    };
    for (const key of Object.values(keys).flat()) await store.put(key, chip('uint8', 1));

    await store.deletePrefix(datasetChipPrefix('xyz'));
    for (const key of keys.xyz) expect(await store.has(key)).toBe(false);
    for (const key of [...keys.abc, ...keys.abd]) expect(await store.has(key)).toBe(true);

    // Part way through a name: "datasets/ab" covers datasets abc and abd.
    await store.deletePrefix('datasets/ab');
    for (const key of [...keys.abc, ...keys.abd]) expect(await store.has(key)).toBe(false);

    await store.deletePrefix('datasets/never-was/');
  });

  it('writes chips again into folders removed since it made them (a dataset deleted, then its id reused)', async () => {
    const key = chipKey('again', 'p1');
    await store.put(key, chip('uint8', 1));
    await store.deletePrefix(datasetChipPrefix('again'));
    const other = chip('uint16', 2, 5, 7, 9);
    await store.put(key, other);
    expectSameChip(await store.get(key), other);
    expect((await readdir(join(store.root, key, '..'))).filter((name) => name.includes('.tmp-'))).toEqual([]);
  });

  it.each(DTYPES)('reads %s samples from any byte offset into an array that owns its buffer', (dtype) => {
    const original = chip(dtype, 3);
    const file = encodeChip(original);
    for (const offset of [0, 1, 2, 3, 4, 8]) {
      const bytes = new Uint8Array(new ArrayBuffer(offset + file.length), offset);
      bytes.set(file);
      const decoded = decodeChip(bytes, 'k');
      expectSameChip(decoded, original);
      expect([decoded.data.byteOffset, decoded.data.buffer.byteLength], `offset ${offset}`).toEqual([0, decoded.data.byteLength]);
    }
  });
});

describe('chipKey', () => {
  it('puts a dataset\'s chips under one prefix, sharded by datapoint id', () => {
    expect(chipKey('ds1', 'abcdef')).toBe('datasets/ds1/chips/ab/abcdef.chip');
    expect(chipKey('ds1', 'abcdef').startsWith(datasetChipPrefix('ds1'))).toBe(true);
  });

  it('rejects ids that are not single path segments', () => {
    for (const [dataset, point] of [['..', 'p'], ['a/b', 'p'], ['ds', '../x'], ['ds', ''], ['', 'p']]) {
      expect(() => chipKey(dataset!, point!)).toThrow(InvalidInputError);
    }
  });
});
