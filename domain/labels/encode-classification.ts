import polygonClipping, { type MultiPolygon } from 'polygon-clipping';
import type { ClassificationLabel } from '../types.js';
import { clipToWindow, featureBox, multiPolygonArea } from './window-clip.js';
import type { PixelFeature } from './window-features.js';

/**
 * One-hot in class order. Without minOverlap (or 0) a class is present when one of its features overlaps the
 * window: the same test that keeps a detection box. With minOverlap > 0, the union of its features inside the
 * window must cover at least that share of the window's area.
 */
export function encodeClassification(
  features: readonly PixelFeature[],
  width: number,
  height: number,
  classCount: number,
  minOverlap = 0,
): ClassificationLabel {
  const label: number[] = new Array<number>(classCount).fill(0);
  if (minOverlap === 0) {
    for (const pixel of features) {
      const c = pixel.feature.classIndex;
      if (label[c] === 0 && featureBox(pixel, width, height) !== null) label[c] = 1;
    }
    return label;
  }
  const pieces: MultiPolygon[][] = Array.from({ length: classCount }, () => []);
  for (const pixel of features) {
    const clipped = clipToWindow(pixel, width, height);
    if (clipped.length > 0) pieces[pixel.feature.classIndex]!.push(clipped);
  }
  pieces.forEach((parts, c) => {
    if (parts.length === 0) return;
    const covered = parts.length === 1 ? parts[0]! : polygonClipping.union(parts[0]!, ...parts.slice(1));
    // A hair of tolerance so a share of exactly minOverlap is not lost to floating point.
    if (multiPolygonArea(covered) / (width * height) >= minOverlap - 1e-9) label[c] = 1;
  });
  return label;
}
