import { randomBytes } from 'node:crypto';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

import { InvalidInputError, NotFoundError } from '../errors.js';
import { DTYPES, ML_TYPES } from '../types.js';
import type { Dtype, Label, PixelWindow, Raster, TypedArray } from '../types.js';
import { allocateSamples, bytesPerSample, holdsDtype } from '../imagery/dtypes.js';
import { coalesceWrites, DIRECT_RUN_BYTES } from './coalesced-writes.js';
import { DIRECT_IO_BLOCK, directIoSupported, openDirectWrites } from '../storage/direct-io.js';
import { h5TypeOf } from './dtypes.js';
import { loadH5 } from './h5.js';
import type { H5Dataset, H5File, H5Group, H5Module } from './h5.js';
import { HeapRows } from './heap-rows.js';
import { flattenBoxes, maskDtypeFor, writeMask, writeOneHot } from './label-arrays.js';
import { GROUP_DATASETS, LAYOUT_VERSION, ROOT_ATTRS, isValidGroupName } from './layout.js';
import type { BatchMeta } from './layout.js';
import { WriteBehind } from './write-behind.js';

/** One datapoint on its way into a batch file: its chip, its label and where it came from. */
export interface BatchSample {
  id: string;
  group: string;
  source: string;
  window: PixelWindow;
  image: Raster;
  label: Label;
}

export interface BatchWriterOptions {
  /** gzip level (1-9) for images and masks; 0 (the default) stores them uncompressed, see LAYOUT.md. */
  compression?: number;
  /** Image bytes buffered per group before they are written (default 32 MiB); memory is about groups x this. */
  bufferBytes?: number;
  /**
   * Write the file's whole blocks around the page cache (O_DIRECT, see coalesced-writes.ts) where its filesystem
   * allows (default true): a batch of hundreds of MB then takes no page-cache memory, and readers read it from disk.
   */
  directIo?: boolean;
}

export interface WriteBatchOptions extends BatchWriterOptions {
  /** Called after every sample with the number of samples taken so far, so the caller can heartbeat. */
  onProgress?: (done: number) => void;
  /** Stops the write between samples; the partial file is removed and the target left as it was. */
  signal?: AbortSignal;
}

export interface BatchSummary {
  path: string;
  /** Samples per group, in file order. */
  groups: Record<string, number>;
  samples: number;
  /** Boxes written (object detection; 0 otherwise). */
  boxes: number;
  bytes: number;
}

/**
 * HDF5 rewrites a node of the chunk index after every slice, a write between two runs of chunks: with direct writes
 * it waits for the disk (ext4 serialises a file's extending direct writes with its buffered ones). Slices of 32 MiB
 * against 8: a 1000-sample 852 MB batch 1.72-1.81 s against 1.97-2.06 s.
 */
const DEFAULT_BUFFER_BYTES = 32 * 1024 * 1024;
/** Caps a slice of tiny samples so a write (and its resize) happens at least this often. */
const MAX_SLICE_SAMPLES = 256;
/** Rows per chunk of the small per-sample tables (labels, windows, boxes). */
const TABLE_CHUNK_ROWS = 1024;

type Compression = { compression?: 'gzip'; compression_opts?: number };

interface SampleShape {
  dtype: Dtype;
  bands: number;
  height: number;
  width: number;
}

/**
 * Streams samples into a new HDF5 batch file (layout in LAYOUT.md). Pixels and labels are gathered per group,
 * in h5wasm's heap, into slices of up to `bufferBytes` and each slice is appended with one hyperslab write, so
 * memory stays a few slices whatever the dataset size; only the id and source strings (tens of bytes a sample)
 * are held until commit, because h5wasm cannot append to variable-length string datasets. The file is written
 * under a temporary name, flushed to disk behind the writes, and renamed over `path` on commit: readers see the
 * old file or the complete new one, never a torn one.
 */
export class BatchWriter {
  private readonly groupWriters = new Map<string, GroupWriter>();
  private readonly groupOrder: string[] = [];
  private shape: SampleShape | null = null;
  private samples = 0;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly tmpPath: string,
    private readonly file: H5File,
    private readonly module: H5Module,
    private readonly writeBehind: WriteBehind,
    /** Stops gathering HDF5's writes to the file into larger ones (coalesced-writes.ts), once it is closed. */
    private readonly stopCoalescing: () => void,
    private readonly meta: Required<BatchMeta>,
    private readonly options: Required<BatchWriterOptions>,
  ) {}

  static async create(path: string, meta: BatchMeta, options: BatchWriterOptions = {}): Promise<BatchWriter> {
    const target = resolve(path);
    const checkedMeta = checkMeta(meta);
    const checkedOptions = checkOptions(options);
    const dir = dirname(target);
    const dirStat = await stat(dir).catch(() => null);
    if (!dirStat?.isDirectory()) throw new NotFoundError(`batch directory ${dir} does not exist`);
    const h5 = await loadH5();
    const tmpPath = `${target}.tmp-${randomBytes(6).toString('hex')}`;
    const directIo = checkedOptions.directIo && (await directIoSupported(dir));
    const writeBehind = await WriteBehind.create(tmpPath);
    const module = await h5.ready;
    const openDirect = () => {
      const direct = openDirectWrites(tmpPath, DIRECT_RUN_BYTES + 2 * DIRECT_IO_BLOCK);
      // Next to nothing then goes through the page cache: an early sync would only hold a thread of the pool.
      if (direct) writeBehind.stopBackground();
      return direct;
    };
    const stopCoalescing = coalesceWrites(module, tmpPath, directIo ? { openDirect } : {});
    let file: H5File;
    try {
      // track_order keeps groups in the order they were made (train, test, ...) for h5py users too.
      file = new h5.File(tmpPath, 'w', { track_order: true });
    } catch (err) {
      stopCoalescing();
      await writeBehind.close();
      await unlink(tmpPath).catch(() => undefined);
      throw err;
    }
    const writer = new BatchWriter(target, tmpPath, file, module, writeBehind, stopCoalescing, checkedMeta, checkedOptions);
    try {
      for (const name of checkedMeta.groups) writer.declareGroup(name);
    } catch (err) {
      await writer.abort();
      throw err;
    }
    return writer;
  }

  /** Samples taken so far. */
  get count(): number {
    return this.samples;
  }

  /** Takes one sample; true when it completed a slice, which was then written to the file. */
  add(sample: BatchSample): boolean {
    this.assertOpen();
    const shape = checkSample(sample, this.shape);
    this.shape ??= shape;
    this.declareGroup(sample.group);
    const writer = this.groupWriters.get(sample.group) ?? this.startGroup(sample.group, shape);
    const wroteSlice = writer.add(sample);
    if (wroteSlice) this.writeBehind.kick();
    this.samples += 1;
    return wroteSlice;
  }

  /** Writes what is buffered, the string tables and the attributes, then renames the file into place. */
  async commit(): Promise<BatchSummary> {
    this.assertOpen();
    try {
      const shape = this.shape;
      if (!shape) throw new InvalidInputError(`batch ${this.path}: no samples to write`);
      const groups: Record<string, number> = {};
      let boxes = 0;
      const writers = this.groupOrder.map((name) => [name, this.groupWriters.get(name) ?? this.startGroup(name, shape)] as const);
      for (const [, writer] of writers) writer.flush();
      // The last slices head for the disk while the string tables and attributes are written.
      this.writeBehind.kick();
      for (const [name, writer] of writers) {
        writer.finish();
        groups[name] = writer.count;
        boxes += writer.boxCount;
      }
      this.releaseSlices();
      this.writeRootAttributes();
      this.file.close();
      this.closed = true;
      this.stopCoalescing();
      await this.writeBehind.sync();
      await this.writeBehind.close();
      await rename(this.tmpPath, this.path);
      await syncDirectory(dirname(this.path));
      const { size } = await stat(this.path);
      return { path: this.path, groups, samples: this.samples, boxes, bytes: size };
    } catch (err) {
      await this.abort();
      throw err;
    }
  }

  /** Drops the partial file; the target path is left untouched. Safe to call more than once. */
  async abort(): Promise<void> {
    this.releaseSlices();
    if (!this.closed) {
      this.closed = true;
      try {
        this.file.close();
      } catch {
        // The file is being thrown away; a failing close must not hide the error that led here.
      }
    }
    this.stopCoalescing();
    // After a failed commit the handle may be closed already; the file is thrown away either way.
    await this.writeBehind.close().catch(() => undefined);
    await unlink(this.tmpPath).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  private startGroup(name: string, shape: SampleShape): GroupWriter {
    const writer = new GroupWriter(this.groupHandle(name), shape, this.meta, this.options, this.module);
    this.groupWriters.set(name, writer);
    return writer;
  }

  /** Gives the slices' heap blocks back to h5wasm (the WASM heap outlives the writer). */
  private releaseSlices(): void {
    for (const writer of this.groupWriters.values()) writer.release();
  }

  private declareGroup(name: string): void {
    if (this.groupOrder.includes(name)) return;
    if (!isValidGroupName(name)) {
      throw new InvalidInputError(`group name ${JSON.stringify(name)} is not usable in a batch file (empty, '.' or has '/')`);
    }
    this.file.create_group(name, true);
    this.groupOrder.push(name);
  }

  private groupHandle(name: string): H5Group {
    return this.file.get(name) as H5Group;
  }

  private writeRootAttributes(): void {
    const { meta, file } = this;
    file.create_attribute(ROOT_ATTRS.dataset, JSON.stringify(meta.dataset));
    file.create_attribute(ROOT_ATTRS.classes, JSON.stringify(meta.classes));
    file.create_attribute(ROOT_ATTRS.mlType, meta.mlType);
    file.create_attribute(ROOT_ATTRS.seed, meta.seed, null, '<q');
    file.create_attribute(ROOT_ATTRS.inputs, JSON.stringify(meta.inputs));
    file.create_attribute(ROOT_ATTRS.groups, JSON.stringify(this.groupOrder));
    file.create_attribute(ROOT_ATTRS.layoutVersion, LAYOUT_VERSION, null, '<i');
    file.create_attribute(ROOT_ATTRS.createdAt, meta.createdAt.toISOString());
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`batch writer for ${this.path} is already committed or aborted`);
  }
}

/**
 * Writes every sample of `samples` into a batch file at `path` (atomically, see BatchWriter). On any error,
 * including an abort through `signal`, the partial file is removed and the error rethrown.
 */
export async function writeBatch(
  path: string,
  meta: BatchMeta,
  samples: AsyncIterable<BatchSample> | Iterable<BatchSample>,
  options: WriteBatchOptions = {},
): Promise<BatchSummary> {
  const { onProgress, signal, ...writerOptions } = options;
  signal?.throwIfAborted();
  const writer = await BatchWriter.create(path, meta, writerOptions);
  try {
    for await (const sample of samples) {
      signal?.throwIfAborted();
      // A turn of the event loop after each slice lets heartbeats, aborts and the finished background syncs
      // through even when the samples come from an array.
      if (writer.add(sample)) await new Promise(setImmediate);
      onProgress?.(writer.count);
    }
    signal?.throwIfAborted();
  } catch (err) {
    await writer.abort();
    throw err;
  }
  return writer.commit();
}

/** The datasets of one group, filled a slice at a time. */
class GroupWriter {
  private readonly images: HeapRows;
  private readonly windows: HeapRows;
  /** Classification and segmentation: one fixed-size label row per sample. */
  private readonly labels: HeapRows | null;
  private readonly detection: { boxes: H5Dataset; boxSample: H5Dataset; boxClass: H5Dataset } | null;
  private boxBlock: { boxes: number[]; sample: number[]; classes: number[] } = { boxes: [], sample: [], classes: [] };
  private readonly ids: string[] = [];
  private readonly sources: string[] = [];
  /** Detection: boxes of sample i are rows [boxOffsets[i], boxOffsets[i + 1]) of boxes / box_class. */
  private readonly boxOffsets: number[] = [0];
  private buffered = 0;
  private written = 0;
  private boxesWritten = 0;
  private released = false;

  constructor(
    private readonly group: H5Group,
    private readonly shape: SampleShape,
    private readonly meta: Required<BatchMeta>,
    options: Required<BatchWriterOptions>,
    module: H5Module,
  ) {
    const { bands, height, width, dtype } = shape;
    const sampleLength = bands * height * width;
    const capacity = Math.max(1, Math.min(MAX_SLICE_SAMPLES, Math.floor(options.bufferBytes / (sampleLength * bytesPerSample(dtype)))));
    const compression = options.compression > 0 ? { compression: 'gzip' as const, compression_opts: options.compression } : {};
    const rows = (dataset: H5Dataset, rowDtype: Dtype, rowLength: number) => new HeapRows(module, dataset, rowDtype, rowLength, capacity);

    const images = growable(group, GROUP_DATASETS.images, dtype, [bands, height, width], [1, bands, height, width], compression);
    const windows = growable(group, GROUP_DATASETS.windows, 'int32', [4], [TABLE_CHUNK_ROWS, 4]);
    const labels = labelDataset(group, meta, shape, compression);
    this.detection =
      meta.mlType === 'object_detection'
        ? {
            boxes: growable(group, GROUP_DATASETS.boxes, 'float32', [4], [TABLE_CHUNK_ROWS, 4]),
            boxSample: growable(group, GROUP_DATASETS.boxSample, 'int32', [], [TABLE_CHUNK_ROWS * 4]),
            boxClass: growable(group, GROUP_DATASETS.boxClass, 'int32', [], [TABLE_CHUNK_ROWS * 4]),
          }
        : null;
    // Heap blocks last, once every dataset exists, so a dataset HDF5 refuses leaves no block behind unfreed.
    this.images = rows(images, dtype, sampleLength);
    this.windows = rows(windows, 'int32', 4);
    this.labels = labels && rows(labels.dataset, labels.dtype, labels.rowLength);
  }

  get count(): number {
    return this.written + this.buffered;
  }

  get boxCount(): number {
    return this.boxesWritten + this.boxBlock.classes.length;
  }

  /** Stages the sample; true when that filled the slice and it was written to the file. */
  add(sample: BatchSample): boolean {
    const slot = this.buffered;
    const classCount = this.meta.classes.length;
    // Labels first: a bad label must not leave half a sample in the slice.
    if (this.meta.mlType === 'classification') {
      writeOneHot(sample.label, classCount, sample.id, this.labelRow(slot), 0);
    } else if (this.meta.mlType === 'segmentation') {
      writeMask(sample.label, this.shape, classCount, sample.id, this.labelRow(slot), 0);
    } else {
      this.addBoxes(sample);
    }
    this.images.set(slot, sample.image.data);
    const { x, y, width, height } = sample.window;
    this.windows.set(slot, [x, y, width, height]);
    this.ids.push(sample.id);
    this.sources.push(sample.source);
    this.buffered += 1;
    if (this.buffered < this.images.capacity) return false;
    this.flush();
    return true;
  }

  /** Appends the staged slice to the file. */
  flush(): void {
    if (this.buffered > 0) {
      for (const rows of [this.images, this.windows, this.labels]) rows?.append(this.written, this.buffered);
      this.written += this.buffered;
      this.buffered = 0;
    }
    const block = this.boxBlock;
    if (this.detection && block.classes.length > 0) {
      const from = this.boxesWritten;
      const to = from + block.classes.length;
      append(this.detection.boxes, from, to, Float32Array.from(block.boxes));
      append(this.detection.boxSample, from, to, Int32Array.from(block.sample));
      append(this.detection.boxClass, from, to, Int32Array.from(block.classes));
      this.boxesWritten = to;
      this.boxBlock = { boxes: [], sample: [], classes: [] };
    }
  }

  /** Writes the string tables, which h5wasm can only write whole; flush() first. */
  finish(): void {
    this.group.create_dataset({ name: GROUP_DATASETS.ids, data: this.ids, shape: [this.ids.length], dtype: 'S' });
    this.group.create_dataset({ name: GROUP_DATASETS.sources, data: this.sources, shape: [this.sources.length], dtype: 'S' });
    if (this.detection) {
      // int64: a group's box count may outgrow int32 long before its sample count does.
      const offsets = BigInt64Array.from(this.boxOffsets, BigInt);
      this.group.create_dataset({ name: GROUP_DATASETS.boxOffsets, data: offsets, shape: [offsets.length], dtype: '<q' });
    }
  }

  /** Frees the heap blocks; safe to call more than once. */
  release(): void {
    if (this.released) return;
    this.released = true;
    for (const rows of [this.images, this.windows, this.labels]) rows?.free();
  }

  /** Labels are uint8 rows: one-hot, or masks (maskDtypeFor). */
  private labelRow(slot: number): Uint8Array {
    return this.labels!.row(slot) as Uint8Array;
  }

  private addBoxes(sample: BatchSample): void {
    const { boxes, classes } = flattenBoxes(sample.label, this.meta.classes.length, sample.id);
    this.boxBlock.boxes.push(...boxes);
    this.boxBlock.classes.push(...classes);
    for (let i = 0; i < classes.length; i++) this.boxBlock.sample.push(this.count);
    this.boxOffsets.push(this.boxOffsets.at(-1)! + classes.length);
  }
}

/** Classification: one-hot rows; segmentation: masks chunked per sample; detection stores boxes instead (null). */
function labelDataset(
  group: H5Group,
  meta: Required<BatchMeta>,
  { height, width }: SampleShape,
  compression: Compression,
): { dataset: H5Dataset; dtype: Dtype; rowLength: number } | null {
  const classCount = meta.classes.length;
  if (meta.mlType === 'classification') {
    const dataset = growable(group, GROUP_DATASETS.labels, 'uint8', [classCount], [TABLE_CHUNK_ROWS, classCount]);
    return { dataset, dtype: 'uint8', rowLength: classCount };
  }
  if (meta.mlType === 'segmentation') {
    const dtype = maskDtypeFor(classCount);
    const dataset = growable(group, GROUP_DATASETS.labels, dtype, [height, width], [1, height, width], compression);
    return { dataset, dtype, rowLength: height * width };
  }
  return null;
}

/** An empty dataset that grows along its first axis. */
function growable(
  group: H5Group,
  name: string,
  dtype: Dtype,
  rowShape: number[],
  chunks: number[],
  compression: Compression = {},
): H5Dataset {
  return group.create_dataset({
    name,
    data: allocateSamples(dtype, 0),
    shape: [0, ...rowShape],
    maxshape: [null, ...rowShape],
    chunks,
    dtype: h5TypeOf(dtype),
    ...compression,
  });
}

function append(dataset: H5Dataset, from: number, to: number, data: TypedArray): void {
  const [, ...rowShape] = dataset.shape!;
  dataset.resize([to, ...rowShape]);
  dataset.write_slice([[from, to]], data);
}

function checkMeta(meta: BatchMeta): Required<BatchMeta> {
  if (!ML_TYPES.includes(meta.mlType)) {
    throw new InvalidInputError(`batch ml type ${JSON.stringify(meta.mlType)} is not one of ${ML_TYPES.join(', ')}`);
  }
  if (!Array.isArray(meta.classes) || meta.classes.length === 0 || !meta.classes.every((c) => typeof c === 'string')) {
    throw new InvalidInputError(`batch classes must be a non-empty list of names, got ${JSON.stringify(meta.classes)}`);
  }
  if (!Number.isSafeInteger(meta.seed)) throw new InvalidInputError(`batch seed must be an integer, got ${meta.seed}`);
  for (const key of ['dataset', 'inputs'] as const) {
    if (JSON.stringify(meta[key]) === undefined) throw new InvalidInputError(`batch ${key} must be JSON-serialisable`);
  }
  return { ...meta, groups: meta.groups ?? [], createdAt: meta.createdAt ?? new Date() };
}

function checkOptions(options: BatchWriterOptions): Required<BatchWriterOptions> {
  const compression = options.compression ?? 0;
  if (!Number.isInteger(compression) || compression < 0 || compression > 9) {
    throw new InvalidInputError(`batch compression must be a gzip level 0-9, got ${compression}`);
  }
  const bufferBytes = options.bufferBytes ?? DEFAULT_BUFFER_BYTES;
  if (!(bufferBytes > 0)) throw new InvalidInputError(`batch bufferBytes must be positive, got ${bufferBytes}`);
  return { compression, bufferBytes, directIo: options.directIo ?? true };
}

/** Checks one sample and returns its shape; every sample of a batch has the shape and dtype of the first. */
function checkSample(sample: BatchSample, expected: SampleShape | null): SampleShape {
  const bad = (problem: string) => new InvalidInputError(`sample ${sample.id}: ${problem}`);
  if (typeof sample.id !== 'string' || typeof sample.source !== 'string') throw bad('id and source must be strings');
  const { window, image } = sample;
  if (![window.x, window.y, window.width, window.height].every(Number.isInteger)) {
    throw bad(`window ${JSON.stringify(window)} must have integer x, y, width, height`);
  }
  const { dtype, bands, height, width, data } = image;
  if (!DTYPES.includes(dtype)) throw bad(`image dtype ${JSON.stringify(dtype)} is not one of ${DTYPES.join(', ')}`);
  if (![bands, height, width].every((n) => Number.isInteger(n) && n > 0)) {
    throw bad(`image shape ${bands} x ${height} x ${width} must be positive integers`);
  }
  if (!holdsDtype(data, dtype) || data.length !== bands * height * width) {
    throw bad(`image data must be a ${dtype} array of ${bands * height * width} values, got ${data.constructor.name}(${data.length})`);
  }
  const shape = { dtype, bands, height, width };
  if (expected && (expected.dtype !== dtype || expected.bands !== bands || expected.height !== height || expected.width !== width)) {
    throw bad(`image is ${describe(shape)}, earlier samples are ${describe(expected)}; a batch holds one shape and dtype`);
  }
  return shape;
}

function describe(shape: SampleShape): string {
  return `${shape.dtype} ${shape.bands} x ${shape.height} x ${shape.width}`;
}

async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes the rename durable; some filesystems refuse fsync on a directory, which only costs durability. */
async function syncDirectory(dir: string): Promise<void> {
  await syncFile(dir).catch(() => undefined);
}
