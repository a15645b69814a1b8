import type { PixelWindow } from '../types.js';

/** The windows a strategy makes, addressable by index so a chunk computes only its own slice. */
export interface WindowSequence {
  size: number;
  at(index: number): PixelWindow;
}

export interface ImageSize {
  width: number;
  height: number;
}

/** A feature's place in pixel coordinates of the image (e.g. its bounding-box centre), for `features` plans. */
export interface FeatureAnchor {
  x: number;
  y: number;
}
