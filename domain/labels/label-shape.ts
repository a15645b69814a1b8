/**
 * What a well-formed label of each ML type looks like, checked wherever labels arrive from outside the encoders
 * (fed pairs, batch writing, previews). Each caller words its own error; the rules live here once.
 */
import type { ClassificationLabel, DetectionLabel, SegmentationLabel } from '../types.js';

/** `classCount` zeros and ones. */
export function isOneHot(label: unknown, classCount: number): label is ClassificationLabel {
  return Array.isArray(label) && label.length === classCount && label.every((v) => v === 0 || v === 1);
}

/** A finite [minx, miny, maxx, maxy] box, optionally non-empty and inside a width x height window. */
export function isPixelBox(box: unknown, window?: { width: number; height: number }): box is [number, number, number, number] {
  if (!Array.isArray(box) || box.length !== 4 || !box.every(Number.isFinite)) return false;
  if (!window) return true;
  const [x0, y0, x1, y1] = box as number[];
  return x0! >= 0 && y0! >= 0 && x0! < x1! && y0! < y1! && x1! <= window.width && y1! <= window.height;
}

/** One list of boxes per class (boxes checked with isPixelBox when `window` is given). */
export function isDetectionLabel(label: unknown, classCount: number, window?: { width: number; height: number }): label is DetectionLabel {
  return (
    Array.isArray(label) &&
    label.length === classCount &&
    label.every((boxes) => Array.isArray(boxes) && (!window || boxes.every((b) => isPixelBox(b, window))))
  );
}

/** The RLE object form { width, height, runs } (its runs are checked when decoded). */
export function isSegmentationLabel(label: unknown): label is SegmentationLabel {
  return typeof label === 'object' && label !== null && !Array.isArray(label) && Array.isArray((label as SegmentationLabel).runs);
}
