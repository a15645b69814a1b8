/**
 * Checks labels a user feeds directly (explicit pairs) against the dataset's ML type and classes, turning them into
 * the compact forms the catalog stores (per-class box lists, RLE masks). Every form `slice()` serves is accepted back.
 */
import { InvalidInputError } from '../domain/errors.js';
import { isDetectionLabel, isOneHot, isSegmentationLabel } from '../domain/labels/label-shape.js';
import { decodeRle, encodeRle } from '../domain/labels/rle.js';
import type { DetectionTarget, MaskTarget, Target } from '../domain/labels/served-label.js';
import type { DetectionLabel, Label, MlType } from '../domain/types.js';

/**
 * A label as served (`Target`: one-hot Uint8Array, `[{ box, class }]`, `{ data, shape }`) or as stored: a one-hot
 * array, per-class box lists, a class-index mask (row-major, width x height values) or its RLE.
 */
export type FedLabel = Label | Target | number[];

/** `[{ box, class }]` back to one list of boxes per class, or null when it is not that form. */
function perClassBoxes(label: unknown, nclasses: number): DetectionLabel | null {
  if (!Array.isArray(label) || !label.every((b) => typeof b === 'object' && b !== null && !Array.isArray(b) && 'box' in b)) return null;
  const perClass: DetectionLabel = Array.from({ length: nclasses }, () => []);
  for (const { box, class: c } of label as DetectionTarget) {
    if (!Number.isInteger(c) || c < 0 || c >= nclasses) return null;
    perClass[c]!.push(box);
  }
  return perClass;
}

/** `{ data, shape }`, its data a typed array or, as JSON brings it (the HTTP API), a plain array. */
function isMaskTarget(label: unknown): label is MaskTarget {
  const data = (label as MaskTarget | null)?.data;
  return typeof label === 'object' && label !== null && (ArrayBuffer.isView(data) || Array.isArray(data)) && Array.isArray((label as MaskTarget).shape);
}

export function normalizeFedLabel(mlType: MlType, nclasses: number, tile: [number, number], label: FedLabel, where: string): Label {
  const [width, height] = tile;
  switch (mlType) {
    case 'classification': {
      if (label instanceof Uint8Array) label = Array.from(label);
      if (!isOneHot(label, nclasses)) throw new InvalidInputError(`${where}: a classification label is a one-hot array of ${nclasses} zeros and ones`);
      return [...label];
    }
    case 'object_detection': {
      // An empty list is both forms; as per-class lists it would have the wrong length.
      if (Array.isArray(label) && label.length > 0) label = perClassBoxes(label, nclasses) ?? label;
      else if (Array.isArray(label) && nclasses > 0) label = Array.from({ length: nclasses }, () => []);
      if (!isDetectionLabel(label, nclasses, { width, height })) {
        throw new InvalidInputError(
          `${where}: a detection label is, for each of the ${nclasses} classes, a list of pixel boxes ` +
            `[minx, miny, maxx, maxy] inside the ${width}x${height} window`,
        );
      }
      return label.map((perClass) => perClass.map((b) => [...b] as [number, number, number, number]));
    }
    case 'segmentation': {
      if (isMaskTarget(label)) {
        if (label.shape[0] !== height || label.shape[1] !== width) {
          throw new InvalidInputError(`${where}: a segmentation mask of shape [${label.shape.join(', ')}] does not fit the ${width}x${height} window ([${height}, ${width}])`);
        }
        label = Array.from(label.data);
      }
      // Checked before any conversion to bytes, which would turn 256 into 0 and 1.7 into 1.
      const values: ArrayLike<unknown> | null = label instanceof Uint8Array || Array.isArray(label) ? (label as ArrayLike<unknown>) : null;
      if (values) {
        const isClass = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= nclasses;
        if (values.length !== width * height || !Array.prototype.every.call(values, isClass)) {
          throw new InvalidInputError(`${where}: a segmentation mask has ${width * height} whole values from 0 (background) to ${nclasses}`);
        }
        return encodeRle(Uint8Array.from(values as ArrayLike<number>), width, height);
      }
      if (!isSegmentationLabel(label) || label.width !== width || label.height !== height) {
        throw new InvalidInputError(`${where}: a segmentation label is a ${width}x${height} mask or its RLE { width, height, runs }`);
      }
      // Decoding checks the runs cover the mask exactly; then the values must be classes.
      if (decodeRle(label).some((v) => v > nclasses)) {
        throw new InvalidInputError(`${where}: segmentation values run from 0 (background) to ${nclasses}`);
      }
      return { width, height, runs: [...label.runs] };
    }
  }
}
