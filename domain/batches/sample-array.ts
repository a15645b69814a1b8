import { InvalidInputError } from '../errors.js';
import { allocateSamples } from '../imagery/dtypes.js';
import type { Dtype, Raster, TypedArray } from '../types.js';
import { seededPermutation } from '../random/prng.js';
import { EPOCH_STREAMS, MAX_EPOCHS } from '../random/streams.js';
import type { DetectionTarget, GroupReader, SampleInfo, SampleRange, Target } from './group-reader.js';

/** A sample as training code takes it: the image and its label as arrays. */
export type Sample = [x: Raster, y: Target];

export interface MiniBatchOptions {
  batchSize: number;
  /** Visit samples in a seeded random order, different for every epoch (default false: file order). */
  shuffle?: boolean;
  /** Shuffle seed (default: the seed the batch file was built with). */
  seed?: number;
  /** Epoch number, 0-based: the same seed and epoch always give the same order (default 0). */
  epoch?: number;
  /** Leave out a last batch smaller than batchSize (default false). */
  dropLast?: boolean;
}

export interface MiniBatch {
  /** Images stacked [b, bands, height, width] in the file's dtype. */
  x: TypedArray;
  xShape: [number, number, number, number];
  /** Classification one-hot [b, classes]; segmentation masks [b, height, width]; detection the boxes of each sample. */
  y: Uint8Array | Uint16Array | DetectionTarget[];
  yShape: number[];
  ids: string[];
  /** Positions of the samples in the SampleArray the batch came from. */
  indices: number[];
}

/** Samples read per file access when iterating in order. */
const READ_BLOCK = 64;

/**
 * The samples of one group (or a slice of it), read from the file on demand. Array-like: `length`, `at(i)`
 * (negative counts from the end), `slice(a, b)` half-open like Array.prototype.slice (a view, nothing read),
 * iteration in order, and `miniBatches` for training loops.
 */
export class SampleArray {
  constructor(
    private readonly reader: GroupReader,
    private readonly seed: number,
    private readonly start = 0,
    readonly length = reader.length,
  ) {}

  get name(): string {
    return this.reader.name;
  }

  /** [bands, height, width] of every image. */
  get imageShape(): [number, number, number] {
    return this.reader.imageShape;
  }

  get dtype(): Dtype {
    return this.reader.dtype;
  }

  at(index: number): Sample {
    const i = this.position(index);
    const range = this.reader.read(i, i + 1);
    return [this.raster(range.images), this.target(range, 0)];
  }

  /** Where sample `index` came from: its datapoint id, source image and pixel window. */
  info(index: number): SampleInfo {
    return this.reader.info(this.position(index));
  }

  slice(begin = 0, end = this.length): SampleArray {
    // As Array.prototype.slice: fractions truncate, NaN is 0, negatives count from the end, then clamp.
    const clamp = (value: number) => {
      const i = Math.trunc(value) || 0;
      return Math.min(this.length, Math.max(0, i < 0 ? this.length + i : i));
    };
    const from = clamp(begin);
    const to = Math.max(from, clamp(end));
    return new SampleArray(this.reader, this.seed, this.start + from, to - from);
  }

  *[Symbol.iterator](): Generator<Sample> {
    for (let from = 0; from < this.length; from += READ_BLOCK) {
      const count = Math.min(READ_BLOCK, this.length - from);
      const range = this.reader.read(this.start + from, this.start + from + count);
      const sampleLength = range.images.length / count;
      for (let k = 0; k < count; k++) {
        // Copies, so a sample kept by the caller does not pin the whole block.
        yield [this.raster(range.images.slice(k * sampleLength, (k + 1) * sampleLength)), this.target(range, k, true)];
      }
    }
  }

  /**
   * Mini-batches over every sample once, in file order or (shuffle) in the seeded order of `epoch`. Each batch
   * reads runs of consecutive samples with one file access per run.
   */
  *miniBatches(options: MiniBatchOptions): Generator<MiniBatch> {
    const { batchSize, shuffle = false, seed = this.seed, epoch = 0, dropLast = false } = options;
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
      throw new InvalidInputError(`batchSize must be a positive integer, got ${batchSize}`);
    }
    if (!Number.isSafeInteger(epoch) || epoch < 0 || epoch >= MAX_EPOCHS) {
      throw new InvalidInputError(`epoch must be a whole number below ${MAX_EPOCHS}, got ${epoch}`);
    }
    if (!Number.isSafeInteger(seed)) throw new InvalidInputError(`seed must be an integer, got ${seed}`);
    const order = shuffle ? seededPermutation(this.length, seed, EPOCH_STREAMS + epoch) : null;
    const end = dropLast ? this.length - (this.length % batchSize) : this.length;
    for (let from = 0; from < end; from += batchSize) {
      const to = Math.min(end, from + batchSize);
      const indices = Array.from({ length: to - from }, (_, k) => (order ? order[from + k]! : from + k));
      yield this.stack(indices);
    }
  }

  private stack(indices: number[]): MiniBatch {
    const { reader } = this;
    const [bands, height, width] = reader.imageShape;
    const b = indices.length;
    const sampleLength = bands * height * width;
    const { labelLength } = reader;
    const runs = consecutiveRuns(indices);
    let x: TypedArray;
    let labels: Uint8Array | Uint16Array | null = null;
    const boxes: DetectionTarget[] = [];
    const ids: string[] = [];
    if (runs.length === 1) {
      const range = this.reader.read(this.start + runs[0]![0], this.start + runs[0]![1]);
      x = range.images;
      labels = range.labels;
      boxes.push(...(range.boxes ?? []));
      ids.push(...range.ids);
    } else {
      x = allocateSamples(reader.dtype, b * sampleLength);
      let at = 0;
      for (const [from, to] of runs) {
        const range = this.reader.read(this.start + from, this.start + to);
        x.set(range.images, at * sampleLength);
        if (range.labels) {
          labels ??= new (range.labels.constructor as Uint8ArrayConstructor | Uint16ArrayConstructor)(b * labelLength);
          labels.set(range.labels, at * labelLength);
        }
        boxes.push(...(range.boxes ?? []));
        ids.push(...range.ids);
        at += to - from;
      }
    }
    return {
      x,
      xShape: [b, bands, height, width],
      y: reader.mlType === 'object_detection' ? boxes : labels!,
      yShape: [b, ...reader.labelShape],
      ids,
      indices,
    };
  }

  private position(index: number): number {
    const i = Math.trunc(index) < 0 ? this.length + Math.trunc(index) : Math.trunc(index);
    if (!Number.isInteger(index) || i < 0 || i >= this.length) {
      throw new InvalidInputError(`sample index ${index} is out of range for ${this.name} (${this.length} samples)`);
    }
    return this.start + i;
  }

  private raster(data: TypedArray): Raster {
    const [bands, height, width] = this.reader.imageShape;
    return { dtype: this.reader.dtype, bands, height, width, data };
  }

  private target(range: SampleRange, k: number, copy = false): Target {
    if (range.boxes) return range.boxes[k]!;
    const length = this.reader.labelLength;
    const row = copy ? range.labels!.slice(k * length, (k + 1) * length) : range.labels!.subarray(k * length, (k + 1) * length);
    if (this.reader.mlType === 'classification') return row as Uint8Array;
    const [height, width] = this.reader.labelShape as [number, number];
    return { data: row, shape: [height, width] };
  }
}

/** [from, to) runs of indices that follow each other, in the order given. */
function consecutiveRuns(indices: number[]): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  for (const index of indices) {
    const last = runs[runs.length - 1];
    if (last && last[1] === index) last[1] += 1;
    else runs.push([index, index + 1]);
  }
  return runs;
}
