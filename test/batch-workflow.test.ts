/**
 * The batch workflow end to end on the real Temporal server and real PostgreSQL: an HDF5 batch for every ML type
 * on the Olinda scene, checked with Python's h5py against what the catalog and the chip store hold; the client's
 * sample arrays (at, slice, iteration, mini-batches) and train/test/validate splits. A worker killed mid-write is in
 * the fault suite (test/faults/batch-replace.test.ts).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VedaCollection } from '../client/collection.js';
import type { Datapoint } from '../domain/catalog/types.js';
import type { DetectionTarget, MaskTarget, MiniBatch, OpenedBatch, SampleArray } from '../domain/batches/index.js';
import { decodeRle } from '../domain/labels/index.js';
import type { DetectionLabel, MlType, Raster, SegmentationLabel } from '../domain/types.js';
import { summarizeWithH5py, type H5pySummary } from './support/h5py.js';
import { OLINDA, startTestStack, type TestStack } from './support/stack.js';

const run = promisify(execFile);

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.teardown();
});

// ---- what the catalog and the chip store hold, the expected side of every comparison -------------------------

interface Stored {
  point: Datapoint;
  chip: Raster;
}

async function stored(coll: VedaCollection): Promise<Map<string, Stored>> {
  const points = await stack.services.catalog.listDatapoints(coll.id, { offset: 0, limit: 100_000 });
  const out = new Map<string, Stored>();
  for (const point of points) out.set(point.id, { point, chip: await stack.services.chips.get(point.chipKey!) });
  return out;
}

const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const sha256 = (parts: ArrayBufferView[]) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(bytes(part));
  return hash.digest('hex');
};

/** The label as the batch layout stores it, derived from the catalog's label. */
function expectedTarget(mlType: MlType, point: Datapoint): Uint8Array | MaskTarget | DetectionTarget {
  if (mlType === 'classification') return Uint8Array.from(point.label as number[]);
  if (mlType === 'segmentation') {
    const rle = point.label as SegmentationLabel;
    return { data: decodeRle(rle), shape: [rle.height, rle.width] };
  }
  return sortBoxes(
    (point.label as DetectionLabel).flatMap((boxes, c) => boxes.map((box) => ({ box: box.map(Math.fround) as [number, number, number, number], class: c }))),
  );
}

/** Boxes of one sample in a canonical order (the layout fixes which sample a box belongs to, not the order). */
function sortBoxes(boxes: DetectionTarget): DetectionTarget {
  return [...boxes].sort((a, b) => a.class - b.class || a.box.join().localeCompare(b.box.join()));
}

function normalize(target: Uint8Array | MaskTarget | DetectionTarget): unknown {
  if (Array.isArray(target)) return sortBoxes(target);
  if (target instanceof Uint8Array) return Array.from(target);
  return { shape: target.shape, data: Buffer.from(bytes(target.data)).toString('base64') };
}

/** The detection tables of one group, as h5py reads them. */
async function h5pyBoxes(file: string, group: string): Promise<{ boxes: number[][]; box_sample: number[]; box_class: number[] }> {
  const script = `
import json, sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    g = f[sys.argv[2]]
    print(json.dumps({k: g[k][()].tolist() for k in ("boxes", "box_sample", "box_class")}))
`;
  const { stdout } = await run('python3', ['-c', script, file, group]);
  return JSON.parse(stdout);
}

/** Ids of each group of a batch file, as h5py reads them. */
function idsOf(summary: H5pySummary): Record<string, string[]> {
  return Object.fromEntries(summary.groupOrder.map((g) => [g, summary.groups[g]!.ids!.strings!]));
}

async function ingest(mlType: MlType, groups: Record<string, number>, tile: number, seed: number): Promise<VedaCollection> {
  const coll = await stack.veda().create({ name: `batch-${mlType}-${tile}`, mlType, tileSize: [tile, tile], classes: OLINDA.classes });
  const final = await (await coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, groups, seed })).result();
  expect(final.percentCached).toBe(100);
  return coll;
}

// ---- one batch per ML type ----------------------------------------------------------------------------------

const ML: MlType[] = ['classification', 'segmentation', 'object_detection'];
const NUMPY_MASK = '|u1';

describe.each(ML)('a %s batch of the Olinda scene', (mlType) => {
  let coll: VedaCollection;
  let batch: OpenedBatch;
  let catalog: Map<string, Stored>;
  let h5: H5pySummary;
  const size = 28;
  const sampleBytes = 6 * 32 * 32;

  beforeAll(async () => {
    coll = await ingest(mlType, { train: 24, test: 8 }, 32, 7);
    batch = await coll.batch(size, { seed: 3 });
    catalog = await stored(coll);
    h5 = await summarizeWithH5py(batch.path);
  });
  afterAll(() => batch?.close());

  it('is a versioned file in the batch store (the data dir by default) and latest.h5 is that file', async () => {
    const latest = stack.services.batches.localPath(`${coll.id}/latest.h5`)!;
    expect(path.dirname(batch.path)).toBe(path.join(stack.dataDir, 'batches', coll.id));
    expect(path.basename(batch.path)).toMatch(new RegExp(`^veda-${coll.id}-batch-\\d+\\.[0-9a-f-]{8}\\.h5$`));
    expect((await stat(latest)).ino).toBe((await stat(batch.path)).ino);
    expect((await stat(latest)).mode & 0o222).toBe(0); // a stored batch never changes: read-only
  });

  it.runIf(mlType === 'classification')("fetched with `out`, is the stored file under the user's name (a link, no copy)", async () => {
    const out = path.join(stack.dataDir, 'mine', 'batch.h5');
    const fetched = await coll.batch(size, { seed: 3, out });
    try {
      expect(fetched.path).toBe(out);
      const latest = stack.services.batches.localPath(`${coll.id}/latest.h5`)!;
      expect((await stat(out)).ino).toBe((await stat(latest)).ino);
      const counts = (b: OpenedBatch) => Object.fromEntries(Object.entries(b.groups).map(([g, samples]) => [g, samples.length]));
      expect(counts(fetched)).toEqual(counts(batch));
    } finally {
      fetched.close();
    }
  });

  it('holds, as h5py reads it, a seeded draw of cached datapoints in their own groups', () => {
    expect(h5.groupOrder).toEqual(['train', 'test']);
    expect(h5.attrs).toMatchObject({ ml_type: mlType, seed: 3, veda_layout_version: 1 });
    expect(JSON.parse(String(h5.attrs.classes))).toEqual(OLINDA.classes);
    expect(JSON.parse(String(h5.attrs.groups))).toEqual(['train', 'test']);
    expect(JSON.parse(String(h5.attrs.dataset))).toMatchObject({ id: coll.id, mlType, total: 32 });

    const ids = idsOf(h5);
    const all = [...ids.train!, ...ids.test!];
    expect(all).toHaveLength(size);
    expect(new Set(all).size).toBe(size);
    for (const [group, groupIds] of Object.entries(ids)) {
      for (const id of groupIds) expect(catalog.get(id)?.point.group).toBe(group);
    }
  });

  it("stores each sample's chip, label, window and source exactly as the catalog and chip store hold them", async () => {
    for (const group of h5.groupOrder) {
      const sets = h5.groups[group]!;
      const rows = sets.ids!.strings!.map((id) => catalog.get(id)!);
      const n = rows.length;
      expect(sets.images).toMatchObject({ dtype: '|u1', shape: [n, 6, 32, 32], chunks: [1, 6, 32, 32] });
      expect(sets.images!.sha256).toBe(sha256(rows.map((r) => r.chip.data)));
      expect(sets.windows).toMatchObject({ dtype: '<i4', shape: [n, 4] });
      expect(sets.windows!.sha256).toBe(sha256(rows.map(({ point: { window: w } }) => Int32Array.of(w.x, w.y, w.width, w.height))));
      expect(sets.sources!.strings).toEqual(rows.map((r) => r.point.source));

      if (mlType === 'classification') {
        expect(sets.labels).toMatchObject({ dtype: '|u1', shape: [n, 3] });
        expect(sets.labels!.sha256).toBe(sha256(rows.map((r) => Uint8Array.from(r.point.label as number[]))));
      } else if (mlType === 'segmentation') {
        expect(sets.labels).toMatchObject({ dtype: NUMPY_MASK, shape: [n, 32, 32] });
        expect(sets.labels!.sha256).toBe(sha256(rows.map((r) => decodeRle(r.point.label as SegmentationLabel))));
      } else {
        expect(sets.labels).toBeUndefined();
        expect(sets.boxes?.dtype).toBe('<f4');
        expect(sets.box_sample?.dtype).toBe('<i4');
        const tables = await h5pyBoxes(batch.path, group);
        const perSample: DetectionTarget[] = rows.map(() => []);
        tables.boxes.forEach((box, b) => perSample[tables.box_sample[b]!]!.push({ box: box as [number, number, number, number], class: tables.box_class[b]! }));
        expect(perSample.map(sortBoxes)).toEqual(rows.map((r) => expectedTarget(mlType, r.point)));
        expect(perSample.some((boxes) => boxes.length > 0)).toBe(true);
      }
    }
  });

  it('reads back through the client: length, at, slice and iteration equal the stored chips and labels', () => {
    expect(Object.keys(batch.groups)).toEqual(['train', 'test']);
    const ids = idsOf(h5);
    for (const group of ['train', 'test']) {
      const samples: SampleArray = batch[group]!;
      const rows = ids[group]!.map((id) => catalog.get(id)!);
      expect(samples.length).toBe(rows.length);
      expect(samples.imageShape).toEqual([6, 32, 32]);
      rows.forEach((row, i) => {
        const [x, y] = samples.at(i);
        expect(bytes(x.data).equals(bytes(row.chip.data))).toBe(true);
        expect(normalize(y)).toEqual(normalize(expectedTarget(mlType, row.point)));
        expect(samples.info(i)).toEqual({ id: row.point.id, source: row.point.source, window: row.point.window });
      });
      expect(bytes(samples.at(-1)[0].data).equals(bytes(rows.at(-1)!.chip.data))).toBe(true);

      const part = samples.slice(2, 7);
      expect(part.length).toBe(5);
      for (let k = 0; k < 5; k++) expect(part.info(k).id).toBe(rows[2 + k]!.point.id);
      expect(samples.slice(5, 5).length).toBe(0);
      expect(samples.slice(0, 1000).length).toBe(rows.length);

      let i = 0;
      for (const [x, y] of samples) {
        expect(bytes(x.data).equals(bytes(rows[i]!.chip.data))).toBe(true);
        expect(normalize(y)).toEqual(normalize(expectedTarget(mlType, rows[i]!.point)));
        i++;
      }
      expect(i).toBe(rows.length);
    }
  });

  it('yields exact mini-batches, in order or in a seeded order per epoch, reading only the samples asked for', () => {
    const rows = idsOf(h5).train!.map((id) => catalog.get(id)!);
    const train: SampleArray = batch.train!;
    const check = (indices: number[], mb: MiniBatch) => {
      const b = indices.length;
      expect(mb.indices).toEqual(indices);
      expect(mb.xShape).toEqual([b, 6, 32, 32]);
      expect(mb.ids).toEqual(indices.map((k) => rows[k]!.point.id));
      expect(bytes(mb.x).equals(Buffer.concat(indices.map((k) => bytes(rows[k]!.chip.data))))).toBe(true);
      // Memory bounded: the batch's pixels are a buffer of b samples, not a view on the whole group.
      expect(mb.x.buffer.byteLength).toBe(b * sampleBytes);
      const targets = indices.map((k) => expectedTarget(mlType, rows[k]!.point));
      if (mlType === 'object_detection') expect((mb.y as DetectionTarget[]).map(sortBoxes)).toEqual(targets);
      else {
        const rowsOf = targets.map((t) => (t instanceof Uint8Array ? t : (t as MaskTarget).data));
        expect(bytes(mb.y as Uint8Array).equals(Buffer.concat(rowsOf.map(bytes)))).toBe(true);
        expect(mb.yShape).toEqual(mlType === 'classification' ? [b, 3] : [b, 32, 32]);
      }
    };

    const n = rows.length;
    const inOrder = [...train.miniBatches({ batchSize: 5 })];
    expect(inOrder.map((mb) => mb.xShape[0])).toEqual([...Array(Math.ceil(n / 5)).keys()].map((k) => Math.min(5, n - 5 * k)));
    inOrder.forEach((mb, k) => check([...Array(mb.xShape[0]).keys()].map((j) => 5 * k + j), mb));
    expect([...train.miniBatches({ batchSize: 5, dropLast: true })].map((mb) => mb.xShape[0])).toEqual(Array(Math.floor(n / 5)).fill(5));

    const epoch = (e: number) => [...train.miniBatches({ batchSize: 4, shuffle: true, epoch: e })];
    const order = epoch(0).flatMap((mb) => mb.indices);
    expect([...order].sort((a, b) => a - b)).toEqual([...Array(n).keys()]);
    expect(order).not.toEqual([...Array(n).keys()]);
    expect(epoch(0).flatMap((mb) => mb.indices)).toEqual(order);
    expect(epoch(1).flatMap((mb) => mb.indices)).not.toEqual(order);
    for (const mb of epoch(1)) check(mb.indices, mb);

    // at() reads one sample: its pixels are one sample's bytes.
    expect(train.at(3)[0].data.buffer.byteLength).toBe(sampleBytes);
  });
});

// ---- splits -------------------------------------------------------------------------------------------------

describe('a batch split into train/test/validate', () => {
  it('has largest-remainder counts, every sample once, and the same split for the same seed (API and CLI)', async () => {
    // Grid windows share no pixel, so a shuffled split leaks none (random ones would be refused: see splits-ingest).
    const coll = await stack.veda().create({ name: 'batch-split-grid', mlType: 'classification', tileSize: [32, 32], classes: OLINDA.classes });
    expect((await (await coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, windows: 'grid', count: 47 })).result()).percentCached).toBe(100);
    const everyId = [...(await stored(coll)).keys()].sort();
    const build = async (seed: number) => {
      const b = await coll.batch(undefined, { split: [70, 20, 10], seed });
      b.close();
      return idsOf(await summarizeWithH5py(b.path));
    };
    // 47 x 0.7 = 32.9, x 0.2 = 9.4, x 0.1 = 4.7: floors 32 + 9 + 4 = 45, the 2 left go to .9 (train) and .7 (validate).
    const first = await build(5);
    expect(Object.fromEntries(Object.entries(first).map(([g, ids]) => [g, ids.length]))).toEqual({ train: 33, test: 9, validate: 5 });
    expect(Object.values(first).flat().sort()).toEqual(everyId);
    expect(await build(5)).toEqual(first);
    expect((await build(6)).train).not.toEqual(first.train);

    const { stdout } = await run(process.execPath, ['bin/veda.js', 'batch', coll.id, '--split', '70,20,10', '--seed', '5', '--json'], {
      env: stack.childEnv,
    });
    const cli = JSON.parse(stdout) as { path: string; groups: Record<string, number>; samples: number; workflowId: string };
    expect(cli).toMatchObject({ groups: { train: 33, test: 9, validate: 5 }, samples: 47 });
    expect(cli.workflowId).toMatch(new RegExp(`^veda-${coll.id}-batch-\\d+$`));
    expect(idsOf(await summarizeWithH5py(cli.path))).toEqual(first);
  });
});
