import type { DetectionLabel } from '../types.js';
import { featureBox } from './window-clip.js';
import type { PixelFeature } from './window-features.js';

/**
 * Per class (class order), one box per feature (file order): the pixel bounds of the feature clipped to the window,
 * [floor(minx), floor(miny), ceil(maxx), ceil(maxy)] from the window's upper-left, where a coordinate within
 * PIXEL_EPSILON of a pixel boundary counts as on it. Boxes with no width or height left are dropped, and so are
 * boxes narrower or shorter than minBoxSize pixels.
 */
export function encodeDetection(
  features: readonly PixelFeature[],
  width: number,
  height: number,
  classCount: number,
  minBoxSize = 0,
): DetectionLabel {
  const label: DetectionLabel = Array.from({ length: classCount }, () => []);
  for (const pixel of features) {
    const box = featureBox(pixel, width, height);
    if (!box || box[2] - box[0] < minBoxSize || box[3] - box[1] < minBoxSize) continue;
    label[pixel.feature.classIndex]!.push(box);
  }
  return label;
}
