import { InvalidInputError } from '../errors.js';
import { isDetectionLabel, isOneHot, isPixelBox, isSegmentationLabel } from '../labels/label-shape.js';
import { decodeRleInto } from '../labels/rle.js';
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
  // One reading of RLE (domain/labels/rle.ts) for feeding, serving and batches: the same runs are valid everywhere.
  let largest: number;
  try {
    largest = decodeRleInto(label, out, offset);
  } catch (err) {
    throw bad(`is not a valid mask: ${(err as Error).message}`);
  }
  if (largest > classCount) throw bad(`has value ${largest}; values are 0 (background) to ${classCount}`);
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
