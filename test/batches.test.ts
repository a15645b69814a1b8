import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import {
  openBatch,
  partitionCounts,
  partitionSamples,
  selectBatch,
  writeBatch,
  type BatchMeta,
  type BatchSample,
  type DetectionTarget,
  type MaskTarget,
} from '../domain/batches/index.js';
import { loadH5 } from '../domain/batches/h5.js';
import { writeBatchOnThread } from '../compute/batch-on-thread.js';
import { InvalidInputError, NotFoundError } from '../domain/errors.js';
import { allocateSamples } from '../domain/imagery/dtypes.js';
import type { Dtype, MlType, SegmentationLabel, TypedArray } from '../domain/types.js';
import { rowsWithH5py, summarizeWithH5py } from './support/h5py.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'veda-batches-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------------------
// Fixtures: samples generated in code, with the arrays a batch file should hold computed here, not by the writer.

/** numpy's dtype.str for each veda dtype: what h5py must report. */
const NUMPY_DTYPE: Record<Dtype, string> = {
  uint8: '|u1',
  int8: '|i1',
  uint16: '<u2',
  int16: '<i2',
  uint32: '<u4',
  int32: '<i4',
  float32: '<f4',
  float64: '<f8',
};

interface Expected {
  image: TypedArray;
  /** One-hot row, mask, or boxes. */
  oneHot?: Uint8Array;
  mask?: Uint8Array | Uint16Array;
  boxes?: DetectionTarget;
}

interface Fixture {
  meta: BatchMeta;
  samples: BatchSample[];
  expected: Map<string, Expected>;
  shape: [number, number, number];
}

/** Pixel values that use the dtype's range: large uint16s, negative fractional floats. */
function pixel(dtype: Dtype, sample: number, k: number): number {
  if (dtype === 'uint8') return (sample * 37 + k * 11) % 256;
  if (dtype === 'uint16') return (sample * 7919 + k * 104729) % 65536;
  return (sample * 31 + k) * 0.25 - 100.5;
}

function runLengthEncode(mask: ArrayLike<number>): number[] {
  const runs: number[] = [];
  for (let i = 0; i < mask.length; i++) {
    if (runs.length > 0 && runs[runs.length - 2] === mask[i]) runs[runs.length - 1]! += 1;
    else runs.push(mask[i]!, 1);
  }
  return runs;
}

function makeFixture(
  mlType: MlType,
  dtype: Dtype,
  options: { count?: number; groups?: string[]; classes?: number; shape?: [number, number, number] } = {},
): Fixture {
  const { count = 23, groups = ['train', 'test', 'validation'], classes = 3, shape = [2, 5, 4] } = options;
  const [bands, height, width] = shape;
  const classNames = Array.from({ length: classes }, (_, c) => `class-${c}`);
  const samples: BatchSample[] = [];
  const expected = new Map<string, Expected>();
  for (let i = 0; i < count; i++) {
    const image = allocateSamples(dtype, bands * height * width);
    for (let k = 0; k < image.length; k++) image[k] = pixel(dtype, i, k);
    const id = `dp-${mlType}-${i.toString().padStart(3, '0')}`;
    const entry: Expected = { image: image.slice() };
    let label: BatchSample['label'];
    if (mlType === 'classification') {
      entry.oneHot = Uint8Array.from(classNames, (_, c) => ((i + c) % 3 === 0 ? 1 : 0));
      label = Array.from(entry.oneHot);
    } else if (mlType === 'segmentation') {
      const mask = new Uint8Array(height * width);
      for (let p = 0; p < mask.length; p++) mask[p] = (Math.floor(p / 3) * 61 + i * 7) % (classes + 1);
      entry.mask = mask;
      label = { width, height, runs: runLengthEncode(mask) } satisfies SegmentationLabel;
    } else {
      // Some samples have no boxes, some several of one class; halves check that coordinates are not rounded.
      const perClass: Array<Array<[number, number, number, number]>> = classNames.map(() => []);
      const boxes: DetectionTarget = [];
      for (let b = 0; b < i % 4; b++) {
        const box: [number, number, number, number] = [b, b + 0.5, b + 2, b + 3.5];
        const cls = (i + b) % 2;
        perClass[cls]!.push(box);
      }
      perClass.forEach((list, cls) => list.forEach((box) => boxes.push({ box, class: cls })));
      entry.boxes = boxes;
      label = perClass;
    }
    expected.set(id, entry);
    samples.push({
      id,
      group: groups[i % groups.length]!,
      source: `s3://imagery/scene-${i % 2}.tif`,
      window: { x: i * width, y: i * 3, width, height },
      image: { dtype, bands, height, width, data: image },
      label,
    });
  }
  const meta: BatchMeta = {
    dataset: { id: `ds-${mlType}`, name: `A ${mlType} dataset`, tileSize: [width, height], nested: { ok: true } },
    classes: classNames,
    mlType,
    seed: 1234,
    inputs: { sources: ['s3://imagery/scene-0.tif', 's3://imagery/scene-1.tif'], datapoints: count },
    groups,
    createdAt: new Date('2024-05-06T07:08:09.000Z'),
  };
  return { meta, samples, expected, shape };
}

function inGroup(fixture: Fixture, group: string): BatchSample[] {
  return fixture.samples.filter((s) => s.group === group);
}

function concat<T extends TypedArray>(parts: T[]): T {
  const out = new (parts[0]!.constructor as new (n: number) => T)(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part as never, at);
    at += part.length;
  }
  return out;
}

function sha256(data: TypedArray): string {
  return createHash('sha256').update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).digest('hex');
}

async function* streamOf(samples: BatchSample[]): AsyncGenerator<BatchSample> {
  yield* samples;
}

/** A small block size so every group is written in several blocks. */
const SMALL_BLOCKS = { bufferBytes: 300 };

// ---------------------------------------------------------------------------------------------------------------

describe.each([
  ['classification', 'uint8'],
  ['classification', 'uint16'],
  ['classification', 'float32'],
  ['segmentation', 'uint8'],
  ['segmentation', 'uint16'],
  ['segmentation', 'float32'],
  ['object_detection', 'uint8'],
  ['object_detection', 'uint16'],
  ['object_detection', 'float32'],
] as Array<[MlType, Dtype]>)('a %s batch of %s images', (mlType, dtype) => {
  const fixture = makeFixture(mlType, dtype);
  let path: string;
  beforeAll(async () => {
    path = join(dir, `${mlType}-${dtype}.h5`);
    const summary = await writeBatch(path, fixture.meta, streamOf(fixture.samples), SMALL_BLOCKS);
    expect(summary.samples).toBe(fixture.samples.length);
  });

  it('reads back exactly with the reader, sample by sample and by iteration', async () => {
    const batch = await openBatch(path);
    try {
      expect(batch.mlType).toBe(mlType);
      expect(batch.classes).toEqual(fixture.meta.classes);
      expect(batch.seed).toBe(1234);
      expect(batch.dataset).toEqual(fixture.meta.dataset);
      expect(batch.inputs).toEqual(fixture.meta.inputs);
      expect(batch.createdAt).toBe('2024-05-06T07:08:09.000Z');
      expect(Object.keys(batch.groups)).toEqual(['train', 'test', 'validation']);
      for (const group of ['train', 'test', 'validation']) {
        const written = inGroup(fixture, group);
        const samples = batch.groups[group]!;
        expect(batch[group]).toBe(samples);
        expect(samples.length).toBe(written.length);
        expect([samples.dtype, samples.imageShape]).toEqual([dtype, [2, 5, 4]]);
        const iterated = [...samples];
        written.forEach((sample, i) => {
          const want = fixture.expected.get(sample.id)!;
          for (const [x, y] of [samples.at(i), iterated[i]!]) {
            expect(x).toEqual({ dtype, bands: 2, height: 5, width: 4, data: want.image });
            if (mlType === 'classification') expect(y).toEqual(want.oneHot);
            if (mlType === 'segmentation') expect(y).toEqual({ data: want.mask!, shape: [5, 4] } satisfies MaskTarget);
            if (mlType === 'object_detection') expect(y).toEqual(want.boxes);
          }
          expect(samples.info(i)).toEqual({ id: sample.id, source: sample.source, window: sample.window });
        });
      }
    } finally {
      batch.close();
    }
  });

  it('is read by h5py with the same shapes, dtypes, values, attributes and provenance', async () => {
    const seen = await summarizeWithH5py(path);
    expect(seen.attrs).toEqual({
      dataset: JSON.stringify(fixture.meta.dataset),
      classes: JSON.stringify(fixture.meta.classes),
      ml_type: mlType,
      seed: 1234,
      inputs: JSON.stringify(fixture.meta.inputs),
      groups: JSON.stringify(['train', 'test', 'validation']),
      veda_layout_version: 1,
      created_at: '2024-05-06T07:08:09.000Z',
    });
    expect(seen.groupOrder).toEqual(['train', 'test', 'validation']);
    for (const group of ['train', 'test', 'validation']) {
      const written = inGroup(fixture, group);
      const n = written.length;
      const want = written.map((s) => fixture.expected.get(s.id)!);
      const datasets = seen.groups[group]!;
      expect(datasets.images).toMatchObject({
        dtype: NUMPY_DTYPE[dtype],
        shape: [n, 2, 5, 4],
        chunks: [1, 2, 5, 4],
        compression: null,
        sha256: sha256(concat(want.map((w) => w.image))),
      });
      expect(datasets.ids!.strings).toEqual(written.map((s) => s.id));
      expect(datasets.sources!.strings).toEqual(written.map((s) => s.source));
      const windows = Int32Array.from(written.flatMap(({ window: w }) => [w.x, w.y, w.width, w.height]));
      expect(datasets.windows).toMatchObject({ dtype: '<i4', shape: [n, 4], sha256: sha256(windows) });
      if (mlType === 'classification') {
        expect(datasets.labels).toMatchObject({ dtype: '|u1', shape: [n, 3], sha256: sha256(concat(want.map((w) => w.oneHot!))) });
      } else if (mlType === 'segmentation') {
        expect(datasets.labels).toMatchObject({ dtype: '|u1', shape: [n, 5, 4], sha256: sha256(concat(want.map((w) => w.mask!))) });
      } else {
        const boxes = want.flatMap((w) => w.boxes!);
        const owners = want.flatMap((w, i) => w.boxes!.map(() => i));
        expect(boxes.length).toBeGreaterThan(0);
        expect(datasets.boxes).toMatchObject({ dtype: '<f4', shape: [boxes.length, 4], sha256: sha256(Float32Array.from(boxes.flatMap((b) => b.box))) });
        expect(datasets.box_sample).toMatchObject({ dtype: '<i4', shape: [boxes.length], sha256: sha256(Int32Array.from(owners)) });
        expect(datasets.box_class).toMatchObject({ dtype: '<i4', shape: [boxes.length], sha256: sha256(Int32Array.from(boxes.map((b) => b.class))) });
      }
    }
  });
});

describe('batch layout details', () => {
  it('stores masks of 255 classes as uint8 and refuses more, which no dataset can have', async () => {
    const fixture = makeFixture('segmentation', 'uint8', { classes: 255, count: 4, groups: ['train'] });
    const path = join(dir, 'many-classes.h5');
    await writeBatch(path, fixture.meta, fixture.samples);
    const seen = await summarizeWithH5py(path);
    const masks = fixture.samples.map((s) => fixture.expected.get(s.id)!.mask!);
    expect(seen.groups.train!.labels).toMatchObject({ dtype: '|u1', shape: [4, 5, 4], sha256: sha256(concat(masks)) });
    const batch = await openBatch(path);
    expect((batch.train.at(3)[1] as MaskTarget).data).toEqual(masks[3]);
    batch.close();
    const tooMany = makeFixture('segmentation', 'uint8', { classes: 256, count: 1, groups: ['train'] });
    await expect(writeBatch(join(dir, 'too-many.h5'), tooMany.meta, tooMany.samples)).rejects.toThrow(/at most 255 classes, the dataset has 256/);
  });

  it('compresses images and masks with gzip at the level asked for, losslessly', async () => {
    const fixture = makeFixture('segmentation', 'float32', { count: 6, groups: ['train'] });
    const path = join(dir, 'gzip.h5');
    await writeBatch(path, fixture.meta, fixture.samples, { compression: 3 });
    const seen = await summarizeWithH5py(path);
    const images = concat(fixture.samples.map((s) => fixture.expected.get(s.id)!.image));
    expect(seen.groups.train!.images).toMatchObject({ compression: 'gzip', compressionOpts: 3, sha256: sha256(images) });
    expect(seen.groups.train!.labels).toMatchObject({ compression: 'gzip', compressionOpts: 3 });
  });

  it('creates declared groups that received no samples, empty and with the batch shape', async () => {
    const fixture = makeFixture('classification', 'uint16', { count: 4, groups: ['train'] });
    const path = join(dir, 'empty-group.h5');
    const summary = await writeBatch(path, { ...fixture.meta, groups: ['train', 'validation'] }, fixture.samples);
    expect(summary.groups).toEqual({ train: 4, validation: 0 });
    const seen = await summarizeWithH5py(path);
    expect(seen.groups.validation!.images).toMatchObject({ dtype: '<u2', shape: [0, 2, 5, 4] });
    expect(seen.groups.validation!.ids!.strings).toEqual([]);
    const batch = await openBatch(path);
    expect(batch.validation.length).toBe(0);
    expect([...batch.validation]).toEqual([]);
    expect([...batch.validation.miniBatches({ batchSize: 2 })]).toEqual([]);
    batch.close();
  });

  it('rejects samples whose shape, dtype or label does not fit the batch, naming the sample', async () => {
    const fixture = makeFixture('classification', 'uint8', { count: 3, groups: ['train'] });
    const odd = { ...fixture.samples[1]!, image: { ...fixture.samples[1]!.image, dtype: 'uint16' as const, data: new Uint16Array(40) } };
    await expect(writeBatch(join(dir, 'bad.h5'), fixture.meta, [fixture.samples[0]!, odd])).rejects.toThrow(
      new InvalidInputError(`sample ${odd.id}: image is uint16 2 x 5 x 4, earlier samples are uint8 2 x 5 x 4; a batch holds one shape and dtype`),
    );
    const badLabel = { ...fixture.samples[1]!, label: [1, 0] };
    await expect(writeBatch(join(dir, 'bad.h5'), fixture.meta, [badLabel])).rejects.toThrow(/sample dp-classification-001: a classification label must be 3 values/);
    const seg = makeFixture('segmentation', 'uint8', { count: 1, groups: ['train'] });
    const short = { ...seg.samples[0]!, label: { width: 4, height: 5, runs: [0, 19] } };
    await expect(writeBatch(join(dir, 'bad.h5'), seg.meta, [short])).rejects.toThrow(/is not a valid mask: segmentation runs cover 19 pixels, but the mask is 4x5/);
    const classCount = seg.meta.classes.length;
    const beyond = { ...seg.samples[0]!, label: { width: 4, height: 5, runs: [0, 7, classCount + 1, 3, 1, 10] } };
    await expect(writeBatch(join(dir, 'bad.h5'), seg.meta, [beyond])).rejects.toThrow(
      new InvalidInputError(`sample ${beyond.id}: segmentation label has value ${classCount + 1}; values are 0 (background) to ${classCount}`),
    );
    expect((await readdir(dir)).filter((f) => f.startsWith('bad.h5'))).toEqual([]);
  });
});

describe.each([
  ['on the calling thread', writeBatch],
  ['on a thread of its own', writeBatchOnThread],
] as const)('writing a batch is atomic, %s', (_where, write) => {
  // Fresh samples for each write: the thread takes their image buffers.
  const fixture = () => makeFixture('object_detection', 'uint16', { count: 12 });
  const other = () => makeFixture('classification', 'uint8', { count: 9 });
  const many = () => makeFixture('classification', 'uint8', { count: 48 });
  let path = '';
  beforeAll(() => {
    path = join(dir, `atomic-${write.name}.h5`);
  });

  async function tempFiles(): Promise<string[]> {
    return (await readdir(dir)).filter((f) => f.includes('.tmp-'));
  }

  it('a writer that fails midway leaves the previous file intact and no temporary file', async () => {
    const { meta, samples } = fixture();
    await write(path, meta, samples);
    const before = await readFile(path);
    const next = other();
    async function* failing(): AsyncGenerator<BatchSample> {
      yield* next.samples.slice(0, 5);
      throw new Error('chip store went away');
    }
    await expect(write(path, next.meta, failing(), SMALL_BLOCKS)).rejects.toThrow('chip store went away');
    expect((await readFile(path)).equals(before)).toBe(true);
    expect(await tempFiles()).toEqual([]);
    const batch = await openBatch(path);
    expect(batch.mlType).toBe('object_detection');
    expect(batch.train.length).toBe(4);
    batch.close();
  });

  it('an abort through the signal stops the write and leaves the previous file intact', async () => {
    const before = await readFile(path);
    const controller = new AbortController();
    const progress: number[] = [];
    const { meta, samples } = many();
    const writing = write(path, meta, streamOf(samples), {
      signal: controller.signal,
      onProgress: (done) => {
        progress.push(done);
        if (progress.length === 1) controller.abort(new Error('cancelled by the workflow'));
      },
    });
    await expect(writing).rejects.toThrow('cancelled by the workflow');
    // Progress is per sample here, per message of samples on a thread of its own (those sent ahead are dropped).
    expect(progress).toEqual([write === writeBatch ? 1 : 8]);
    expect((await readFile(path)).equals(before)).toBe(true);
    expect(await tempFiles()).toEqual([]);
  });

  it('a complete write replaces the previous file and reports progress up to every sample', async () => {
    const progress: number[] = [];
    const { meta, samples } = other();
    const summary = await write(path, meta, streamOf(samples), { onProgress: (done) => progress.push(done) });
    expect(progress).toEqual(write === writeBatch ? samples.map((_, i) => i + 1) : [8, 9]);
    expect(summary).toMatchObject({ path, groups: { train: 3, test: 3, validation: 3 }, samples: 9, boxes: 0 });
    const batch = await openBatch(path);
    expect(batch.mlType).toBe('classification');
    batch.close();
    expect(await tempFiles()).toEqual([]);
  });

  it('a batch with no samples is refused and leaves nothing behind', async () => {
    await expect(write(join(dir, 'none.h5'), other().meta, [])).rejects.toThrow(InvalidInputError);
    expect((await readdir(dir)).filter((f) => f.startsWith('none.h5'))).toEqual([]);
  });

  it('names a missing directory or file, and refuses files that are not veda batches', async () => {
    await expect(write(join(dir, 'no-such-dir', 'b.h5'), other().meta, other().samples)).rejects.toThrow(NotFoundError);
    await expect(openBatch(join(dir, 'missing.h5'))).rejects.toThrow(NotFoundError);
    const text = join(dir, 'not-hdf5.h5');
    await writeFile(text, 'hello');
    await expect(openBatch(text)).rejects.toThrow(new InvalidInputError(`${text} is not an HDF5 file`));
  });
});

describe('a batch written on a thread of its own', () => {
  it('holds what one written on the calling thread holds, as h5py reads it, for every ML type', async () => {
    for (const mlType of ['classification', 'segmentation', 'object_detection'] as const) {
      const [here, there] = [join(dir, `same-${mlType}-here.h5`), join(dir, `same-${mlType}-there.h5`)];
      const one = makeFixture(mlType, 'uint16', { count: 43 });
      await writeBatch(here, one.meta, one.samples, SMALL_BLOCKS);
      const two = makeFixture(mlType, 'uint16', { count: 43 });
      const summary = await writeBatchOnThread(there, two.meta, streamOf(two.samples), SMALL_BLOCKS);
      expect(summary).toMatchObject({ path: there, samples: 43 });
      // Not byte for byte: HDF5 stamps each dataset with the time it was made.
      expect(await summarizeWithH5py(there), mlType).toEqual(await summarizeWithH5py(here));
    }
  });

  it('moves the image buffers a sample alone uses, and copies views of a shared one', async () => {
    const { meta, samples } = makeFixture('segmentation', 'float32', { count: 6 });
    const shared = new Float32Array(samples.reduce((n, s) => n + s.image.data.length, 0));
    let offset = 0;
    for (const sample of samples.slice(3)) {
      shared.set(sample.image.data, offset);
      sample.image.data = shared.subarray(offset, (offset += sample.image.data.length));
    }
    const own = samples.slice(0, 3).map((s) => s.image.data);
    const expected = await writeBatch(join(dir, 'moved-here.h5'), meta, makeFixture('segmentation', 'float32', { count: 6 }).samples);
    await writeBatchOnThread(join(dir, 'moved.h5'), meta, samples);
    expect(own.map((data) => data.length)).toEqual([0, 0, 0]); // detached: moved, not copied
    expect(shared.length).toBeGreaterThan(0); // still here, and the file still holds every sample
    expect(await summarizeWithH5py(join(dir, 'moved.h5'))).toEqual(await summarizeWithH5py(expected.path));
  });

  it("rejects a bad sample with veda's own error class, naming it, and leaves nothing behind", async () => {
    const { meta, samples } = makeFixture('classification', 'uint8', { count: 20 });
    samples[13]!.label = [1, 0];
    const writing = writeBatchOnThread(join(dir, 'bad-sample.h5'), meta, samples);
    await expect(writing).rejects.toThrow(InvalidInputError);
    await expect(writing).rejects.toThrow(samples[13]!.id);
    expect((await readdir(dir)).filter((f) => f.startsWith('bad-sample.h5'))).toEqual([]);
  });
});

describe('writing a batch streams', () => {
  it('keeps memory bounded while writing 6000 float32 samples of 3 x 64 x 64 (294 MB) from a generator', async () => {
    const shape = { bands: 3, height: 64, width: 64 };
    const length = shape.bands * shape.height * shape.width;
    const count = 6000;
    const meta: BatchMeta = { dataset: {}, classes: ['a', 'b'], mlType: 'classification', seed: 1, inputs: {} };
    function* generate(n: number): Generator<BatchSample> {
      for (let i = 0; i < n; i++) {
        const data = new Float32Array(length);
        for (let k = 0; k < length; k += 97) data[k] = i + k;
        const window = { x: 0, y: 0, width: 64, height: 64 };
        const group = i % 5 === 0 ? 'test' : 'train';
        yield { id: `dp-${i}`, group, source: 'a.tif', window, image: { dtype: 'float32', ...shape, data }, label: [i % 2, 1 - (i % 2)] };
      }
    }
    // Warm up first, so the WASM heap and HDF5's caches already have their working size.
    await writeBatch(join(dir, 'warm.h5'), meta, generate(200));
    const baseline = process.memoryUsage();
    const peak = { rss: baseline.rss, arrayBuffers: baseline.arrayBuffers };
    const summary = await writeBatch(join(dir, 'big.h5'), meta, generate(count), {
      onProgress: () => {
        const now = process.memoryUsage();
        peak.rss = Math.max(peak.rss, now.rss);
        peak.arrayBuffers = Math.max(peak.arrayBuffers, now.arrayBuffers);
      },
    });
    const imageBytes = count * length * 4;
    expect(summary.bytes).toBeGreaterThan(imageBytes);
    // Measured: up to ~50 MB of growth (uncollected generator garbage), the same for 2000 and 6000 samples.
    // A writer that held the images would grow by 294 MB.
    expect(peak.rss - baseline.rss).toBeLessThan(96 * 1024 * 1024);
    expect(peak.arrayBuffers - baseline.arrayBuffers).toBeLessThan(96 * 1024 * 1024);
    const batch = await openBatch(join(dir, 'big.h5'));
    expect(batch.train.length + batch.test.length).toBe(count);
    expect(batch.test.at(-1)[0].data[97]).toBe(5995 + 97);
    batch.close();
  });
});

describe('writing a batch in slices', () => {
  // 37 samples of 3 x 4 x 5 uint16 (120 bytes) in slices of 8: train's 25 go as 8 + 8 + 8 + 1, test's 12 as 8 + 4.
  const shape = { bands: 3, height: 4, width: 5 };
  const length = shape.bands * shape.height * shape.width;
  const bufferBytes = 8 * length * 2;
  const meta: BatchMeta = { dataset: {}, classes: ['a', 'b', 'c'], mlType: 'classification', seed: 1, inputs: {}, groups: ['train', 'test'] };
  const samples: BatchSample[] = Array.from({ length: 37 }, (_, i) => ({
    id: `dp-${i}`,
    group: i % 3 === 2 ? 'test' : 'train',
    source: 'a.tif',
    window: { x: i, y: 2 * i, width: shape.width, height: shape.height },
    // Every value tells its sample and position apart.
    image: { dtype: 'uint16', ...shape, data: Uint16Array.from({ length }, (_, k) => i * 1000 + k) },
    label: [i % 2, 1 - (i % 2), i % 5 === 0 ? 1 : 0],
  }));

  /** Runs `write` with h5wasm's heap allocations and hyperslab writes recorded. */
  async function recording(write: () => Promise<unknown>) {
    const module = await (await loadH5()).ready;
    const malloc = vi.spyOn(module, '_malloc');
    const free = vi.spyOn(module, '_free');
    const writes = vi.spyOn(module, 'set_dataset_data');
    try {
      await write().catch(() => undefined);
      return {
        allocated: malloc.mock.calls.map(([bytes], i) => ({ bytes, pointer: malloc.mock.results[i]!.value as number })),
        freed: free.mock.calls.map(([pointer]) => pointer),
        writes: writes.mock.calls.map(([, path, count, offset]) => ({ path, from: Number(offset![0]), rows: Number(count![0]) })),
      };
    } finally {
      vi.restoreAllMocks();
    }
  }

  it('writes each slice with one call and puts every sample in its row, the last slices partial', async () => {
    const path = join(dir, 'slices.h5');
    const { writes } = await recording(() => writeBatch(path, meta, streamOf(samples), { bufferBytes }));
    const slices = (dataset: string) => writes.filter((w) => w.path === dataset).map((w) => [w.from, w.rows]);
    expect(slices('/train/images')).toEqual([[0, 8], [8, 8], [16, 8], [24, 1]]);
    expect(slices('/test/images')).toEqual([[0, 8], [8, 4]]);
    expect(slices('/train/labels')).toEqual(slices('/train/images'));
    expect(slices('/test/windows')).toEqual(slices('/test/images'));

    const rows = await rowsWithH5py(path, ['images', 'labels', 'windows']);
    for (const group of ['train', 'test']) {
      const written = samples.filter((s) => s.group === group);
      expect(rows[group]!.images).toHaveLength(written.length);
      written.forEach(({ image, label, window: w }, row) => {
        expect(rows[group]!.images![row]).toEqual(Array.from(image.data));
        expect(rows[group]!.labels![row]).toEqual(label);
        expect(rows[group]!.windows![row]).toEqual([w.x, w.y, w.width, w.height]);
      });
    }
  });

  it('stages at most bufferBytes a dataset and gives the heap back, also when the write fails midway', async () => {
    async function* failing(): AsyncGenerator<BatchSample> {
      yield* samples.slice(0, 20);
      throw new Error('chip store went away');
    }
    for (const source of [streamOf(samples), failing()]) {
      const { allocated, freed } = await recording(() => writeBatch(join(dir, 'heap.h5'), meta, source, { bufferBytes }));
      expect(Math.max(...allocated.map((a) => a.bytes))).toBeLessThanOrEqual(bufferBytes);
      expect(allocated.filter((a) => a.bytes === bufferBytes)).toHaveLength(2);
      expect(new Set(freed)).toEqual(new Set(allocated.map((a) => a.pointer)));
    }
  });
});

describe('mini-batches', () => {
  const fixture = makeFixture('segmentation', 'uint16', { count: 30, groups: ['train'] });
  const images = fixture.samples.map((s) => fixture.expected.get(s.id)!.image);
  const masks = fixture.samples.map((s) => fixture.expected.get(s.id)!.mask!);
  let path: string;
  beforeAll(async () => {
    path = join(dir, 'mini.h5');
    await writeBatch(path, fixture.meta, fixture.samples, SMALL_BLOCKS);
  });

  it('stack images, masks and ids of consecutive samples in file order', async () => {
    const batch = await openBatch(path);
    const batches = [...batch.train.miniBatches({ batchSize: 8 })];
    expect(batches.map((b) => b.xShape)).toEqual([[8, 2, 5, 4], [8, 2, 5, 4], [8, 2, 5, 4], [6, 2, 5, 4]]);
    batches.forEach((b, k) => {
      const indices = Array.from({ length: b.xShape[0] }, (_, i) => k * 8 + i);
      expect(b.indices).toEqual(indices);
      expect(b.x).toEqual(concat(indices.map((i) => images[i]!)));
      expect(b.y).toEqual(concat(indices.map((i) => masks[i]!)));
      expect(b.yShape).toEqual([indices.length, 5, 4]);
      expect(b.ids).toEqual(indices.map((i) => fixture.samples[i]!.id));
    });
    expect([...batch.train.miniBatches({ batchSize: 8, dropLast: true })]).toHaveLength(3);
    batch.close();
  });

  it('shuffle with a seed: the same epoch repeats, epochs differ, every sample once per epoch, stacked exactly', async () => {
    const batch = await openBatch(path);
    const epoch = (seed: number, e: number) => [...batch.train.miniBatches({ batchSize: 7, shuffle: true, seed, epoch: e })];
    const order = (batches: ReturnType<typeof epoch>) => batches.flatMap((b) => b.indices);
    const first = epoch(5, 0);
    expect(epoch(5, 0)).toEqual(first);
    expect(order(epoch(5, 1))).not.toEqual(order(first));
    expect(order(epoch(6, 0))).not.toEqual(order(first));
    for (const e of [0, 1, 2]) {
      expect([...order(epoch(5, e))].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    }
    expect(order(first)).not.toEqual(Array.from({ length: 30 }, (_, i) => i));
    for (const b of first) {
      expect(b.x).toEqual(concat(b.indices.map((i) => images[i]!)));
      expect(b.y).toEqual(concat(b.indices.map((i) => masks[i]!)));
      expect(b.ids).toEqual(b.indices.map((i) => fixture.samples[i]!.id));
    }
    // Without a seed the batch file's seed is used.
    expect(order([...batch.train.miniBatches({ batchSize: 7, shuffle: true, epoch: 1 })])).toEqual(order(epoch(1234, 1)));
    batch.close();
  });

  it('slices are half-open views that index, iterate and batch relative to the slice', async () => {
    const batch = await openBatch(path);
    const part = batch.train.slice(10, 17);
    expect(part.length).toBe(7);
    expect(part.at(0)[0].data).toEqual(images[10]);
    expect(part.at(-1)[0].data).toEqual(images[16]);
    expect([...part].map(([x]) => x.data)).toEqual(images.slice(10, 17));
    expect(part.info(2).id).toBe(fixture.samples[12]!.id);
    const stacked = [...part.miniBatches({ batchSize: 4, shuffle: true, seed: 9 })];
    expect(stacked.flatMap((b) => b.indices).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (const b of stacked) expect(b.x).toEqual(concat(b.indices.map((i) => images[10 + i]!)));
    expect(batch.train.slice(-3).length).toBe(3);
    expect(batch.train.slice(25, 100).length).toBe(5);
    expect(batch.train.slice(20, 10).length).toBe(0);
    expect(batch.train.slice(NaN, 3).length).toBe(3); // NaN is 0, as for Array.prototype.slice
    expect(() => part.at(7)).toThrow(InvalidInputError);
    batch.close();
  });

  it('detection mini-batches carry the boxes of each sample', async () => {
    const detection = makeFixture('object_detection', 'uint8', { count: 10, groups: ['train'] });
    const detPath = join(dir, 'mini-detection.h5');
    await writeBatch(detPath, detection.meta, detection.samples, SMALL_BLOCKS);
    const batch = await openBatch(detPath);
    for (const b of batch.train.miniBatches({ batchSize: 4, shuffle: true, seed: 2 })) {
      expect(b.y).toEqual(b.indices.map((i) => detection.expected.get(detection.samples[i]!.id)!.boxes));
      expect(b.yShape).toEqual([b.indices.length]);
    }
    batch.close();
  });
});

describe('partitionCounts', () => {
  it('splits 7 samples 70/20/10 as 5/1/1 by largest remainder', () => {
    // Exact shares 4.9 / 1.4 / 0.7: floors 4 / 1 / 0 leave 2, which go to the remainders .9 (train) and .7 (validation).
    expect(partitionCounts(7, { train: 70, test: 20, validation: 10 })).toEqual({ train: 5, test: 1, validation: 1 });
  });

  it('handles 1 and 0 samples, zero ratios and ties in the order the groups are listed', () => {
    expect(partitionCounts(1, { train: 70, test: 20, validation: 10 })).toEqual({ train: 1, test: 0, validation: 0 });
    expect(partitionCounts(0, { train: 70, test: 20, validation: 10 })).toEqual({ train: 0, test: 0, validation: 0 });
    expect(partitionCounts(5, { train: 0, test: 1 })).toEqual({ train: 0, test: 5 });
    expect(partitionCounts(2, { a: 1, b: 1, c: 1 })).toEqual({ a: 1, b: 1, c: 0 });
    expect(partitionCounts(1, { a: 0, b: 1, c: 1 })).toEqual({ a: 0, b: 1, c: 0 });
    expect(partitionCounts(10, { train: 0.7, test: 0.2, validation: 0.1 })).toEqual({ train: 7, test: 2, validation: 1 });
  });

  it('always preserves the total, never goes negative and stays within one of the exact share', () => {
    let state = 7;
    const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (let trial = 0; trial < 500; trial++) {
      const total = Math.floor(next() * 1000);
      const names = ['a', 'b', 'c', 'd', 'e'].slice(0, 1 + Math.floor(next() * 5));
      const ratios = Object.fromEntries(names.map((n) => [n, next() < 0.2 ? 0 : Math.round(next() * 100) / 10]));
      const sum = Object.values(ratios).reduce((a, b) => a + b, 0);
      if (sum === 0) continue;
      const counts = partitionCounts(total, ratios);
      expect(Object.keys(counts)).toEqual(names);
      expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(total);
      for (const name of names) {
        expect(Number.isInteger(counts[name])).toBe(true);
        expect(counts[name]).toBeGreaterThanOrEqual(0);
        expect(Math.abs(counts[name]! - (total * ratios[name]!) / sum)).toBeLessThan(1);
        if (ratios[name] === 0) expect(counts[name]).toBe(0);
      }
      expect(partitionCounts(total, ratios)).toEqual(counts);
    }
  });

  it('refuses negative totals, negative ratios and all-zero ratios', () => {
    expect(() => partitionCounts(-1, { a: 1 })).toThrow(InvalidInputError);
    expect(() => partitionCounts(3, { a: -1, b: 2 })).toThrow(InvalidInputError);
    expect(() => partitionCounts(3, { a: 0, b: 0 })).toThrow(InvalidInputError);
    expect(() => partitionCounts(3, {})).toThrow(InvalidInputError);
  });
});

describe('partitionSamples', () => {
  const ids = Array.from({ length: 101 }, (_, i) => `dp-${i}`);
  const ratios = { train: 70, test: 20, validation: 10 };

  it('splits every id into exactly one group with the partitionCounts sizes', () => {
    const split = partitionSamples(ids, ratios, 42);
    const counts = partitionCounts(ids.length, ratios);
    expect(Object.keys(split)).toEqual(['train', 'test', 'validation']);
    for (const name of Object.keys(ratios)) expect(split[name]).toHaveLength(counts[name]!);
    expect(Object.values(split).flat().sort()).toEqual([...ids].sort());
  });

  it('is the same for the same seed and shuffled differently for another', () => {
    expect(partitionSamples(ids, ratios, 42)).toEqual(partitionSamples(ids, ratios, 42));
    expect(partitionSamples(ids, ratios, 43).train).not.toEqual(partitionSamples(ids, ratios, 42).train);
    expect(partitionSamples(ids, ratios, 42).train).not.toEqual(ids.slice(0, 71));
  });
});

describe('selectBatch', () => {
  const candidates = Array.from({ length: 40 }, (_, i) => ({ id: `dp-${i}`, group: i % 4 === 0 ? 'test' : 'train' }));
  const ids = (selected: Array<{ item: { id: string } }>) => selected.map(({ item }) => item.id);

  it('draws size distinct samples from the chosen groups, each keeping its group, the same for the same seed', () => {
    const selected = selectBatch(candidates, { size: 12, groups: ['train'], seed: 3 });
    expect(selected).toHaveLength(12);
    expect(new Set(ids(selected)).size).toBe(12);
    expect(selected.every(({ item, group }) => item.group === 'train' && group === 'train')).toBe(true);
    expect(selectBatch(candidates, { size: 12, groups: ['train'], seed: 3 })).toEqual(selected);
    expect(ids(selectBatch(candidates, { size: 12, groups: ['train'], seed: 4 }))).not.toEqual(ids(selected));
    expect(ids(selectBatch(candidates, { size: 5, shuffle: false, seed: 3 }))).toEqual(['dp-0', 'dp-1', 'dp-2', 'dp-3', 'dp-4']);
  });

  it('with a split cuts the drawn order into runs of the partitionCounts sizes, in the order of the ratios', () => {
    const drawn = ids(selectBatch(candidates, { size: 23, seed: 8 }));
    const selected = selectBatch(candidates, { size: 23, seed: 8, split: { fit: 70, check: 20, holdout: 10 } });
    expect(ids(selected)).toEqual(drawn);
    const { fit, check, holdout } = partitionCounts(23, { fit: 70, check: 20, holdout: 10 });
    expect(selected.map(({ group }) => group)).toEqual([
      ...Array<string>(fit!).fill('fit'),
      ...Array<string>(check!).fill('check'),
      ...Array<string>(holdout!).fill('holdout'),
    ]);
  });

  it('refuses a bad size and a selection with nothing in it, naming them', () => {
    expect(() => selectBatch(candidates, { size: 0, seed: 1 })).toThrow('batch size 0 must be a positive integer');
    expect(() => selectBatch(candidates, { groups: ['validation'], seed: 1 })).toThrow('no cached datapoints in group(s) validation');
  });
});
