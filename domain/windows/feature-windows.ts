import { seededPermutation, uniformInt } from '../random/prng.js';
import { FEATURE_JITTER_X_STREAM, FEATURE_JITTER_Y_STREAM, FEATURE_ORDER_STREAM } from '../random/streams.js';
import type { FeatureAnchor, ImageSize, WindowSequence } from './window-sequence.js';

/**
 * Windows centred on feature anchors, visited in a seeded order (cycled when `count` exceeds the anchors), each
 * moved by a seeded jitter of up to `jitter` pixels per axis, then clamped inside the image.
 */
export function featureWindows(
  image: ImageSize,
  tile: [number, number],
  anchors: readonly FeatureAnchor[],
  count: number,
  seed: number,
  jitter: number,
): WindowSequence {
  const [width, height] = tile;
  const order = seededPermutation(anchors.length, seed, FEATURE_ORDER_STREAM);
  const clamp = (value: number, max: number) => Math.min(Math.max(value, 0), max);
  return {
    size: count,
    at: (i) => {
      const anchor = anchors[order[i % anchors.length]!]!;
      const dx = uniformInt(seed, i, FEATURE_JITTER_X_STREAM, 2 * jitter) - jitter;
      const dy = uniformInt(seed, i, FEATURE_JITTER_Y_STREAM, 2 * jitter) - jitter;
      return {
        x: clamp(Math.round(anchor.x - width / 2) + dx, image.width - width),
        y: clamp(Math.round(anchor.y - height / 2) + dy, image.height - height),
        width,
        height,
      };
    },
  };
}
