/**
 * The compute threads give exactly what the same domain calls give in-process (pixels and labels), move chip pixels
 * back without sharing memory, bring veda's errors back as their own classes (a bad input stays non-retryable),
 * and run tasks of concurrent activities on several threads at once: label and read tasks in lanes of their own.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComputePool } from '../compute/pool.js';
import type { LabelWindowsTask } from '../compute/tasks.js';
import { loadedLabel, storedLabel } from '../domain/catalog/stored-label.js';
import { ObjectChipStore } from '../domain/chips/index.js';
import { InvalidInputError, NotFoundError } from '../domain/errors.js';
import { openImage, type ImageSource } from '../domain/imagery/index.js';
import { encodeLabel, loadLabelSource, windowLabelContext } from '../domain/labels/index.js';
import { LocalObjectStore } from '../domain/storage/local-object-store.js';
import type { PixelWindow } from '../domain/types.js';
import { gdalTranslate } from './support/gdal.js';
import { OLINDA } from './support/stack.js';

let pool: ComputePool;
let image: ImageSource;
let dir: string;
beforeAll(async () => {
  pool = new ComputePool({ threads: 2 });
  image = await openImage(OLINDA.image);
  dir = await mkdtemp(path.join(os.tmpdir(), 'veda-compute-'));
});
afterAll(async () => {
  await pool?.close();
  await image?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Windows spread over the scene, some crossing blocks, one at the corner. */
function windows(count: number, size: number): PixelWindow[] {
  const { width, height } = image.info;
  return Array.from({ length: count }, (_, i) => ({
    x: i === 0 ? width - size : (i * 97) % (width - size),
    y: i === 0 ? height - size : (i * 61) % (height - size),
    width: size,
    height: size,
  }));
}

function labelTask(mlType: LabelWindowsTask['mlType'], ws: PixelWindow[]): LabelWindowsTask {
  return {
    labels: { uri: OLINDA.labels, classProperty: 'class' },
    classes: OLINDA.classes,
    imageEpsg: image.info.epsg,
    geoTransform: image.info.geoTransform,
    mlType,
    labelOptions: {},
    windows: ws,
  };
}

describe('compute threads', () => {
  it('read the same pixels as an image read in-process, moved to the caller', async () => {
    const ws = windows(24, 48);
    const chips = await pool.readWindows({ image: OLINDA.image, bands: [3, 1], windows: ws });
    expect(chips).toHaveLength(ws.length);
    for (const [i, w] of ws.entries()) {
      const expected = await image.readWindow(w, [3, 1]);
      expect(chips[i]!.dtype).toBe(expected.dtype);
      expect([chips[i]!.bands, chips[i]!.height, chips[i]!.width]).toEqual([2, 48, 48]);
      expect(Buffer.from(chips[i]!.data.buffer, chips[i]!.data.byteOffset, chips[i]!.data.byteLength)).toEqual(
        Buffer.from(expected.data.buffer, expected.data.byteOffset, expected.data.byteLength),
      );
    }
  });

  it('take back stored chips: their buffers move to the reading thread and carry later windows, pixels exact', async () => {
    const size = 40;
    const first = await pool.readWindows({ image: OLINDA.image, bands: [2, 5, 1], windows: windows(12, size) });
    const view = { ...first[0]!, data: first[0]!.data.subarray(1) }; // not a whole buffer: never taken
    pool.recycle([view, ...first.slice(1), first[1]!]); // the same chip twice moves once
    const later = windows(30, size).slice(12);
    const second = await pool.readWindows({ image: OLINDA.image, bands: [2, 5, 1], windows: later });
    expect(first[0]!.data.byteLength).toBe(3 * size * size);
    for (const chip of first.slice(1)) expect(chip.data.byteLength).toBe(0); // moved: a stale reference sees nothing
    for (const [i, w] of later.entries()) {
      const expected = await image.readWindow(w, [2, 5, 1]);
      expect(Buffer.from(second[i]!.data.buffer, second[i]!.data.byteOffset, second[i]!.data.byteLength)).toEqual(
        Buffer.from(expected.data.buffer, expected.data.byteOffset, expected.data.byteLength),
      );
    }
  });

  it('store windows as chips on the reading thread, as a chip store in-process reads them back, pixels exact', async () => {
    const ws = windows(40, 56);
    const keys = ws.map((_, i) => `datasets/d/chips/${String(i % 3).padStart(2, '0')}/p${i}.chip`);
    const inline = new ComputePool({ threads: 0 });
    try {
      // Around the page cache and through it; on threads (chips written 8 at a time, buffers reused) and in-process.
      for (const [compute, directIo] of [[pool, true], [pool, false], [inline, true]] as const) {
        const root = await mkdtemp(path.join(dir, 'chips-'));
        const shapes = await compute.storeWindows({ image: OLINDA.image, bands: [4, 2], windows: ws, keys, store: { root, options: { directIo } } });
        // Every chip is in place when the task resolves (looked for at once, before any other I/O completes).
        expect(keys.filter((key) => !existsSync(path.join(root, key)))).toEqual([]);
        expect(shapes).toEqual(ws.map(() => ({ dtype: image.info.dtype, bands: 2, height: 56, width: 56 })));
        const chips = new ObjectChipStore(new LocalObjectStore(root, { directIo }));
        for (const [i, w] of ws.entries()) {
          const expected = await image.readWindow(w, [4, 2]);
          const stored = await chips.get(keys[i]!);
          expect([stored.dtype, stored.bands, stored.height, stored.width]).toEqual([expected.dtype, 2, 56, 56]);
          expect(Buffer.from(stored.data.buffer, stored.data.byteOffset, stored.data.byteLength)).toEqual(
            Buffer.from(expected.data.buffer, expected.data.byteOffset, expected.data.byteLength),
          );
        }
      }
    } finally {
      await inline.close();
    }
    // A store that cannot be written (its root is a file) fails the task with the file system's error.
    const file = path.join(dir, 'a-file');
    await writeFile(file, 'not a directory');
    const failed = pool.storeWindows({ image: OLINDA.image, windows: ws.slice(0, 12), keys: keys.slice(0, 12), store: { root: file, options: {} } });
    await expect(failed).rejects.toThrow(/ENOTDIR|EEXIST|not a directory/);
  });

  it('encode the same labels as encodeLabel in-process, for every ML type, as the catalog stores them', async () => {
    const source = await loadLabelSource(OLINDA.labels, { classProperty: 'class', classes: OLINDA.classes, imageEpsg: image.info.epsg });
    const ws = windows(40, 64);
    for (const mlType of ['classification', 'object_detection', 'segmentation'] as const) {
      const labels = await pool.labelWindows(labelTask(mlType, ws));
      const expected = ws.map((w) => encodeLabel(mlType, windowLabelContext(source, image.info.geoTransform, w)));
      // Masks come packed (one string, not thousands of numbers, crosses the thread boundary).
      expect(labels).toEqual(expected.map(storedLabel));
      expect(labels.map((label) => loadedLabel(label!))).toEqual(expected);
    }
  });

  it('skip windows with too much nodata, as the ingest asks', async () => {
    // The scene with 255 (saturated pixels) as its nodata value: some windows hold a few, some none.
    const withNodata = path.join(dir, 'nodata-255.tif');
    await gdalTranslate(OLINDA.image, withNodata, ['-a_nodata', '255']);
    const ws = windows(60, 32);
    const local = await openImage(withNodata);
    const shares = await Promise.all(
      ws.map(async (w) => {
        const r = await local.readWindow(w, [1, 2]);
        return Array.from(r.data).filter((v) => v === 255).length / r.data.length;
      }),
    );
    await local.close();
    const labels = await pool.labelWindows({ ...labelTask('classification', ws), nodata: { image: withNodata, bands: [1, 2], maxNodata: 0.001 } });
    const skipped = labels.map((l) => l === null);
    expect(skipped).toEqual(shares.map((s) => s > 0.001));
    expect(new Set(skipped)).toEqual(new Set([true, false]));
  });

  it("bring veda's errors back as their own classes", async () => {
    const notTiff = path.join(dir, 'not-a-tiff.tif');
    await writeFile(notTiff, 'hello, not a TIFF');
    const bad = pool.readWindows({ image: notTiff, windows: windows(1, 8) });
    await expect(bad).rejects.toBeInstanceOf(InvalidInputError);
    await expect(bad).rejects.toThrow(/not-a-tiff\.tif/);
    const missing = pool.labelWindows({ ...labelTask('segmentation', windows(1, 8)), labels: { uri: path.join(dir, 'nowhere.geojson'), classProperty: 'class' } });
    await expect(missing).rejects.toBeInstanceOf(NotFoundError);
    const outside = pool.readWindows({ image: OLINDA.image, windows: [{ x: image.info.width - 4, y: 0, width: 8, height: 8 }] });
    await expect(outside).rejects.toBeInstanceOf(InvalidInputError);
  });

  it('from 2 threads, label and read tasks run side by side in lanes of their own', async () => {
    expect(pool.stats()).toMatchObject({ threads: 2, labels: { threads: 1 }, reads: { threads: 1 } });
    const before = pool.stats();
    const ws = windows(64, 128);
    const [labels, chips] = await Promise.all([pool.labelWindows(labelTask('segmentation', ws)), pool.readWindows({ image: OLINDA.image, windows: ws })]);
    expect([labels.length, chips.length]).toEqual([64, 64]);
    const after = pool.stats();
    expect(after.completed - before.completed).toBe(2);
    expect(after).toMatchObject({ running: 2, labels: { running: 1 }, reads: { running: 1 } });
  });

  it('run concurrent tasks of one lane on its several threads; one thread serves both kinds', async () => {
    const four = new ComputePool({ threads: 4 });
    const one = new ComputePool({ threads: 1 });
    try {
      const ws = windows(64, 128);
      const [a, b] = await Promise.all([
        four.labelWindows(labelTask('segmentation', ws)),
        four.labelWindows(labelTask('segmentation', ws.slice().reverse())),
      ]);
      expect(a).toEqual(b.slice().reverse());
      expect(four.stats()).toMatchObject({ threads: 4, completed: 2, labels: { threads: 2, running: 2 }, reads: { threads: 2, running: 0 } });
      await Promise.all([one.labelWindows(labelTask('classification', ws)), one.readWindows({ image: OLINDA.image, windows: ws })]);
      expect(one.stats()).toEqual({ threads: 1, running: 1, completed: 2, labels: { threads: 1, running: 1 }, reads: { threads: 1, running: 1 } });
    } finally {
      await Promise.all([four.close(), one.close()]);
    }
  });

  it('with 0 threads, do the same work in-process', async () => {
    const inline = new ComputePool({ threads: 0 });
    try {
      const ws = windows(8, 32);
      expect(await inline.labelWindows(labelTask('object_detection', ws))).toEqual(await pool.labelWindows(labelTask('object_detection', ws)));
      expect(inline.stats()).toEqual({ threads: 0, running: 0, completed: 0, labels: { threads: 0, running: 0 }, reads: { threads: 0, running: 0 } });
      // In-process nothing is moved, so a chip the caller hands back is left alone (no other window may reuse it).
      const [chip] = await inline.readWindows({ image: OLINDA.image, windows: ws.slice(0, 1) });
      const copy = Buffer.from(chip!.data.buffer.slice(0));
      inline.recycle([chip!]);
      await inline.readWindows({ image: OLINDA.image, windows: ws.slice(1, 3) });
      expect(Buffer.from(chip!.data.buffer)).toEqual(copy);
    } finally {
      await inline.close();
    }
  });
});
