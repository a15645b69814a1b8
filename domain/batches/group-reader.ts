import { InvalidInputError } from '../errors.js';
import type { Dtype, MlType, PixelWindow, TypedArray } from '../types.js';
import { allocateSamples } from '../imagery/dtypes.js';
import { dtypeOfH5Type } from './dtypes.js';
import type { H5Dataset, H5Group } from './h5.js';
import { GROUP_DATASETS } from './layout.js';
import type { DetectionTarget } from '../labels/served-label.js';

export type { DetectionTarget, MaskTarget, Target, TargetBox } from '../labels/served-label.js';

/** Samples [from, to) as read from the file: images and fixed-size labels stacked, boxes per sample. */
export interface SampleRange {
  images: TypedArray;
  /** Classification [n, classes] or segmentation [n, h, w]; null for object detection. */
  labels: Uint8Array | Uint16Array | null;
  /** Object detection: the boxes of each sample; null otherwise. */
  boxes: DetectionTarget[] | null;
  ids: string[];
}

export interface SampleInfo {
  id: string;
  source: string;
  window: PixelWindow;
}

/** Reads one group of an open batch file on demand: every call reads just the requested rows. */
export class GroupReader {
  readonly length: number;
  readonly dtype: Dtype;
  /** [bands, height, width] of every image. */
  readonly imageShape: [number, number, number];
  /** Label row shape: [classes] for classification, [height, width] for segmentation, [] for detection. */
  readonly labelShape: readonly number[];
  /** Values in one label row (the product of labelShape). */
  readonly labelLength: number;
  private readonly images: H5Dataset;
  private readonly labels: H5Dataset | null;
  private readonly ids: H5Dataset;
  private readonly sources: H5Dataset;
  private readonly windows: H5Dataset;
  private boxOffsets: Float64Array | null = null;

  constructor(
    /** The batch file, for messages. */
    private readonly path: string,
    private readonly group: H5Group,
    readonly name: string,
    readonly mlType: MlType,
    readonly classCount: number,
    private readonly isOpen: () => boolean,
  ) {
    this.images = this.dataset(GROUP_DATASETS.images);
    const [length, ...imageShape] = this.images.shape ?? [];
    const dtype = dtypeOfH5Type(this.images.dtype);
    if (length === undefined || imageShape.length !== 3 || !dtype) {
      throw this.broken(`images must be [n, bands, height, width] of a veda dtype, got ${this.images.dtype} ${JSON.stringify(this.images.shape)}`);
    }
    this.length = length;
    this.dtype = dtype;
    this.imageShape = imageShape as [number, number, number];
    this.labelShape = mlType === 'classification' ? [classCount] : mlType === 'segmentation' ? imageShape.slice(1) : [];
    this.labelLength = this.labelShape.reduce((a, n) => a * n, 1);
    this.labels = mlType === 'object_detection' ? null : this.dataset(GROUP_DATASETS.labels);
    this.ids = this.dataset(GROUP_DATASETS.ids);
    this.sources = this.dataset(GROUP_DATASETS.sources);
    this.windows = this.dataset(GROUP_DATASETS.windows);
  }

  read(from: number, to: number): SampleRange {
    this.assertOpen();
    const rows: [[number, number]] = [[from, to]];
    const empty = from === to;
    return {
      images: empty ? allocateSamples(this.dtype, 0) : (this.images.slice(rows) as TypedArray),
      labels: this.labels ? (empty ? new Uint8Array(0) : (this.labels.slice(rows) as Uint8Array | Uint16Array)) : null,
      boxes: this.mlType === 'object_detection' ? this.readBoxes(from, to) : null,
      ids: empty ? [] : (this.ids.slice(rows) as string[]),
    };
  }

  info(index: number): SampleInfo {
    this.assertOpen();
    const rows: [[number, number]] = [[index, index + 1]];
    const [x, y, width, height] = this.windows.slice(rows) as Int32Array;
    return {
      id: (this.ids.slice(rows) as string[])[0]!,
      source: (this.sources.slice(rows) as string[])[0]!,
      window: { x: x!, y: y!, width: width!, height: height! },
    };
  }

  private readBoxes(from: number, to: number): DetectionTarget[] {
    const offsets = this.loadBoxOffsets();
    const first = offsets[from]!;
    const last = offsets[to]!;
    const targets: DetectionTarget[] = [];
    if (first === last) return Array.from({ length: to - from }, () => []);
    const rows: [[number, number]] = [[first, last]];
    const boxes = this.dataset(GROUP_DATASETS.boxes).slice(rows) as Float32Array;
    const classes = this.dataset(GROUP_DATASETS.boxClass).slice(rows) as Int32Array;
    for (let i = from; i < to; i++) {
      const target: DetectionTarget = [];
      for (let b = offsets[i]!; b < offsets[i + 1]!; b++) {
        const at = (b - first) * 4;
        target.push({ box: [boxes[at]!, boxes[at + 1]!, boxes[at + 2]!, boxes[at + 3]!], class: classes[b - first]! });
      }
      targets.push(target);
    }
    return targets;
  }

  /** Box rows of sample i are [offsets[i], offsets[i + 1]): `box_offsets`, or counted from the sorted `box_sample`. */
  private loadBoxOffsets(): Float64Array {
    if (this.boxOffsets) return this.boxOffsets;
    const stored = this.group.get(GROUP_DATASETS.boxOffsets);
    this.boxOffsets = stored ? this.storedBoxOffsets(stored as H5Dataset) : this.countedBoxOffsets();
    return this.boxOffsets;
  }

  private storedBoxOffsets(dataset: H5Dataset): Float64Array {
    const values = dataset.value as ArrayLike<number | bigint>;
    if (values.length !== this.length + 1) throw this.broken(`box_offsets has ${values.length} rows, expected ${this.length + 1}`);
    return Float64Array.from(values, Number);
  }

  /** Files written before box_offsets existed: count each sample's rows in box_sample. */
  private countedBoxOffsets(): Float64Array {
    const boxSample = this.dataset(GROUP_DATASETS.boxSample);
    const count = boxSample.shape?.[0] ?? 0;
    const owners = count > 0 ? (boxSample.slice([[0, count]]) as Int32Array) : new Int32Array(0);
    const offsets = new Float64Array(this.length + 1);
    let previous = 0;
    for (const owner of owners) {
      if (owner < previous || owner >= this.length) throw this.broken('box_sample must be sorted sample indices');
      offsets[owner + 1]! += 1;
      previous = owner;
    }
    for (let i = 0; i < this.length; i++) offsets[i + 1]! += offsets[i]!;
    return offsets;
  }

  private dataset(name: string): H5Dataset {
    const entity = this.group.get(name);
    if (!entity || (entity as { type?: string }).type !== 'Dataset') throw this.broken(`has no ${name} dataset`);
    return entity as H5Dataset;
  }

  private broken(problem: string): InvalidInputError {
    return new InvalidInputError(`${this.path}: batch group ${this.name}: ${problem}`);
  }

  private assertOpen(): void {
    if (!this.isOpen()) throw new Error(`${this.path}: batch group ${this.name} is read after its file was closed`);
  }
}
