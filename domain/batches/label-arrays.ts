import { InvalidInputError } from '../errors.js';
import { isDetectionLabel, isOneHot, isPixelBox, isSegmentationLabel } from '../labels/label-shape.js';
import { MAX_CLASSES, type Label } from '../types.js';

/**
 * Labels as the arrays a batch file stores: one-hot rows, class-index masks, flat box lists. Each encoder
 * checks the label against the dataset's classes and names the sample when it does not fit, because a bad
 * label found here would otherwise surface as a silently wrong training file.
 */

export type MaskDtype = 'uint8';

/** Mask values are 0 (background) and i + 1 for class i: a dataset's classes (at most MAX_CLASSES) fit a byte. */
export function maskDtypeFor(classCount: number): MaskDtype {
  if (classCount <= MAX_CLASSES) return 'uint8';
  throw new InvalidInputError(`segmentation masks hold at most ${MAX_CLASSES} classes, the dataset has ${classCount}`);
}

export function writeOneHot(
  label: Label,
  classCount: number,
  sampleId: string,
  out: Uint8Array | Uint16Array,
  offset: number,
): void {
  if (!isOneHot(label, classCount)) {
    throw new InvalidInputError(
      `sample ${sampleId}: a classification label must be ${classCount} values of 0 or 1, got ${JSON.stringify(label)}`,
    );
  }
  out.set(label, offset);
}

/** Decodes the run-length mask into `out` at `offset` (width * height values). */
export function writeMask(
  label: Label,
  size: { width: number; height: number },
  classCount: number,
  sampleId: string,
  out: Uint8Array | Uint16Array,
  offset: number,
): void {
  const bad = (problem: string) => new InvalidInputError(`sample ${sampleId}: segmentation label ${problem}`);
  if (!isSegmentationLabel(label)) throw bad('must be { width, height, runs }');
  if (label.width !== size.width || label.height !== size.height) {
    throw bad(`is ${label.width} x ${label.height}, the image is ${size.width} x ${size.height}`);
  }
  const { runs } = label;
  if (runs.length % 2 !== 0) throw bad('runs must alternate value and length');
  const total = size.width * size.height;
  let at = 0;
  for (let r = 0; r < runs.length; r += 2) {
    const value = runs[r]!;
    const length = runs[r + 1]!;
    if (!Number.isInteger(value) || value < 0 || value > classCount) {
      throw bad(`has value ${value}; values are 0 (background) to ${classCount}`);
    }
    if (!Number.isInteger(length) || length < 0) throw bad(`has run length ${length}; lengths are whole numbers`);
    if (at + length > total) throw bad(`runs cover more than ${total} pixels`);
    out.fill(value, offset + at, offset + at + length);
    at += length;
  }
  if (at !== total) throw bad(`runs cover ${at} of ${total} pixels`);
}

/** Boxes in class order, flattened: boxes [minx, miny, maxx, maxy, ...] and the class index of each. */
export function flattenBoxes(
  label: Label,
  classCount: number,
  sampleId: string,
): { boxes: number[]; classes: number[] } {
  const bad = (problem: string) => new InvalidInputError(`sample ${sampleId}: detection label ${problem}`);
  if (!isDetectionLabel(label, classCount)) {
    throw bad(`must be one list of boxes per class (${classCount}), got ${JSON.stringify(label)}`);
  }
  const boxes: number[] = [];
  const classes: number[] = [];
  label.forEach((classBoxes, classIndex) => {
    for (const box of classBoxes) {
      if (!isPixelBox(box)) {
        throw bad(`has box ${JSON.stringify(box)}; a box is [minx, miny, maxx, maxy]`);
      }
      boxes.push(...box);
      classes.push(classIndex);
    }
  });
  return { boxes, classes };
}
