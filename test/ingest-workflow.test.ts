/**
 * The spine, end to end on the real Temporal server and real PostgreSQL: ingest and cache workflows for every ML
 * type on the Olinda scene.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError, NotFoundError } from '../domain/errors.js';
import { openImage } from '../domain/imagery/index.js';
import { encodeLabel, loadLabelSource, windowLabelContext, decodeRle, serveLabel, type MaskTarget } from '../domain/labels/index.js';
import { planWindows } from '../domain/windows/index.js';
import type { MlType, SegmentationLabel } from '../domain/types.js';
import { DEFAULT_MIN_BOX_SIZE } from '../client/ingest-options.js';
import { serveFiles } from './support/http-files.js';
import { OLINDA, startTestStack, type TestStack } from './support/stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.teardown();
});

const ML: MlType[] = ['classification', 'object_detection', 'segmentation'];

describe.each(ML)('a %s dataset on the Olinda scene', (mlType) => {
  it('ingests and caches exactly the planned windows, with labels and chips matching the domain code', async () => {
    const veda = stack.veda();
    const coll = await veda.create({ name: `olinda-${mlType}`, mlType, tileSize: [64, 64], classes: OLINDA.classes });
    const run = await coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, groups: { train: 40, test: 10 }, seed: 7 });
    const final = await run.result();

    expect(final.stage).toBe('done');
    expect(final.total).toBe(50);
    expect(final.posted).toBe(50);
    expect(final.percentCached).toBe(100);
    expect(await coll.count()).toEqual({ train: 40, test: 10 });
    const counts = await stack.services.catalog.counts(coll.id);
    expect(counts).toEqual({ groups: { train: 40, test: 10 }, total: 50, cached: 50 });

    const doc = await coll.doc();
    expect(doc.shape).toEqual([6, 64, 64]);
    expect(doc.dtype).toBe('uint8');
    expect(doc.percent_cached).toBe(100);

    // Independently recompute what the first pairs should hold, straight from the domain modules.
    const image = await openImage(OLINDA.image);
    const labels = await loadLabelSource(OLINDA.labels, { classes: OLINDA.classes, imageEpsg: image.info.epsg });
    const plan = planWindows(image.info, { strategy: 'random', count: 50, seed: 7, tileSize: [64, 64] }, [
      { group: 'train', count: 40 },
      { group: 'test', count: 10 },
    ]);
    const pairs = await coll.slice(0, 50);
    expect(pairs).toHaveLength(50);
    const planned = new Set(plan.map((w) => `${w.group}:${w.x},${w.y}`));
    for (const p of pairs) expect(planned.has(`${p.data.group}:${p.data.window.x},${p.data.window.y}`)).toBe(true);
    for (const p of pairs.slice(0, 5)) {
      const options = mlType === 'object_detection' ? { minBoxSize: DEFAULT_MIN_BOX_SIZE } : {};
      const expected = encodeLabel(mlType, windowLabelContext(labels, image.info.geoTransform, p.data.window), options);
      // Served in the batch form (domain/labels/served-label.ts).
      expect(p.y).toEqual(serveLabel(expected, mlType));
      if (mlType === 'segmentation') {
        const y = p.y as MaskTarget;
        expect(Buffer.from(y.data).equals(Buffer.from(decodeRle(expected as SegmentationLabel)))).toBe(true);
      }
      const chip = await p.image();
      const direct = await image.readWindow(p.data.window);
      expect(p.data.chipKey).not.toBeNull();
      expect(chip.bands).toBe(6);
      expect(Buffer.from(chip.data.buffer, chip.data.byteOffset, chip.data.byteLength).equals(
        Buffer.from(direct.data.buffer, direct.data.byteOffset, direct.data.byteLength))).toBe(true);
    }
    await image.close();
  });
});

/** A dataset's chip files in the local chip store, by path, with their inode numbers. */
async function chipFiles(datasetId: string): Promise<Map<string, number>> {
  const dir = path.join(stack.dataDir, 'chips', 'datasets', datasetId, 'chips');
  const files = new Map<string, number>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    files.set(file, (await stat(file)).ino);
  }
  return files;
}

describe('re-running an ingest', () => {
  it('posts nothing new: datapoint ids are a function of the window, so the second run is a no-op', async () => {
    const coll = await stack.veda().create({ name: 'rerun', mlType: 'classification', tileSize: [32, 32], classes: OLINDA.classes });
    const options = { image: OLINDA.image, labels: OLINDA.labels, count: 30, seed: 3 };
    const first = await (await coll.ingest(options)).result();
    const chipsBefore = await chipFiles(coll.id);
    const second = await (await coll.ingest(options)).result();
    expect(first.posted).toBe(30);
    expect(second.posted).toBe(0);
    expect(second.total).toBe(30);
    expect(await coll.count()).toEqual({ train: 30 });
    // No chip stored again: every chip file is the one the first run wrote (a rewrite renames a new file in).
    expect(chipsBefore.size).toBe(30);
    expect(await chipFiles(coll.id)).toEqual(chipsBefore);
  });

  it('caches, in a cache stage, what an earlier run posted without chips; new windows are cached as they are posted', async () => {
    const coll = await stack.veda().create({ name: 'rerun-cache', mlType: 'segmentation', tileSize: [32, 32], classes: OLINDA.classes });
    const options = { image: OLINDA.image, labels: OLINDA.labels, seed: 4 };
    const uncached = await (await coll.ingest({ ...options, count: 20, cache: false })).result();
    expect(uncached).toMatchObject({ posted: 20, percentCached: 0 });
    // The same 20 windows (the plan's first 20) and 20 more: only the new ones are posted, and cached while posting.
    const run = await coll.ingest({ ...options, count: 40 });
    const stages = new Set<string>();
    for await (const p of run.progress({ intervalMs: 10 })) stages.add(p.stage);
    const final = await run.result();
    expect(final).toMatchObject({ posted: 20, total: 40, percentCached: 100 });
    expect(stages).toContain('caching');
    expect(await stack.services.catalog.counts(coll.id)).toEqual({ groups: { train: 40 }, total: 40, cached: 40 });
    const image = await openImage(OLINDA.image);
    try {
      for (const point of await coll.slice(0, 40)) {
        const chip = await point.image();
        expect(Buffer.from(chip.data.buffer, chip.data.byteOffset, chip.data.byteLength)).toEqual(
          Buffer.from((await image.readWindow(point.data.window)).data.buffer),
        );
      }
    } finally {
      await image.close();
    }
  });
});

describe('imagery over HTTP', () => {
  it('ingests and caches from a URL with range requests, chips equal to the local file', async () => {
    const server = await serveFiles(path.dirname(OLINDA.image));
    try {
      const url = `${server.url}/L7_ETMs.tif`;
      const coll = await stack.veda().create({ name: 'remote', mlType: 'segmentation', tileSize: [64, 64], classes: OLINDA.classes });
      const final = await (await coll.ingest({ image: url, labels: OLINDA.labels, count: 12, seed: 8 })).result();
      expect(final).toMatchObject({ stage: 'done', posted: 12, percentCached: 100 });
      expect((await coll.doc()).source).toBe(url);
      expect(server.ranges.length).toBeGreaterThan(0);
      expect(server.ranges.every((r) => r !== null)).toBe(true);
      const local = await openImage(OLINDA.image);
      for (const pair of await coll.slice(0, 12)) {
        expect(pair.data.source).toBe(url);
        const [chip, direct] = [await pair.image(), await local.readWindow(pair.data.window)];
        expect(Buffer.from(chip.data.buffer, chip.data.byteOffset, chip.data.byteLength).equals(
          Buffer.from(direct.data.buffer, direct.data.byteOffset, direct.data.byteLength))).toBe(true);
      }
      await local.close();
    } finally {
      await server.close();
    }
  });
});

describe('a dataset of one chip shape', () => {
  it('refuses an ingest whose imagery gives other chips, naming both shapes, and posts nothing', async () => {
    const coll = await stack.veda().create({ name: 'one-shape', mlType: 'classification', tileSize: [32, 32], classes: OLINDA.classes });
    await (await coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, count: 5, seed: 1, cache: false })).result();
    const run = await coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, count: 5, seed: 2, bands: [4, 3, 2], cache: false });
    const err = await run.result().then(() => null, (e: Error) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err!.message).toMatch(/shape \[3,32,32\].*shape \[6,32,32\]/);
    expect(await coll.count()).toEqual({ train: 5 });
    expect((await coll.doc()).shape).toEqual([6, 32, 32]);
  });
});

describe('bad input', () => {
  it('fails the workflow with a clear, non-retried error naming the file', async () => {
    const coll = await stack.veda().create({ name: 'bad', mlType: 'segmentation', tileSize: [64, 64], classes: OLINDA.classes });
    const run = await coll.ingest({ image: '/nonexistent/scene.tif', labels: OLINDA.labels, count: 5 });
    const err = await run.result().then(() => null, (e: Error) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err!.message).toMatch(/scene\.tif/);
    const progress = await run.query();
    expect(progress.stage).toBe('failed');
    expect(progress.errors.join(' ')).toMatch(/scene\.tif/);
    expect(await coll.count()).toEqual({});
  });
});
