/**
 * The one form a label takes when veda hands it to a user: the same in `slice()` pairs, in batch samples and
 * mini-batches, and in `veda slice --json` (typed arrays become plain arrays there). The catalog stores labels in
 * compact forms (per-class box lists, run-length masks); these are the forms training code indexes directly.
 */
import type { Label, MlType } from '../types.js';
import { decodeRle } from './rle.js';

/** A box of an object detection target: [minx, miny, maxx, maxy] in pixels from the window's upper-left. */
export interface TargetBox {
  box: [number, number, number, number];
  /** Class index in the dataset's class order. */
  class: number;
}
/** Object detection: every box of the sample, in class order (torchvision's `boxes` + `labels`, as one list). */
export type DetectionTarget = TargetBox[];
/** Segmentation: a class-index mask (0 = background, i + 1 = class i), row-major, like numpy's `[h, w]`. */
export interface MaskTarget {
  data: Uint8Array | Uint16Array;
  shape: [height: number, width: number];
}
/** Classification: a one-hot (multi-hot) Uint8Array over the classes; detection boxes; segmentation mask. */
export type Target = Uint8Array | MaskTarget | DetectionTarget;

/** A stored label in its served form. */
export function serveLabel(label: Label, mlType: MlType): Target {
  switch (mlType) {
    case 'classification':
      return Uint8Array.from(label as number[]);
    case 'object_detection':
      return (label as Array<Array<[number, number, number, number]>>).flatMap((boxes, classIndex) =>
        boxes.map((box): TargetBox => ({ box: [...box], class: classIndex })),
      );
    case 'segmentation': {
      const rle = label as { width: number; height: number; runs: number[] };
      return { data: decodeRle(rle), shape: [rle.height, rle.width] };
    }
  }
}
