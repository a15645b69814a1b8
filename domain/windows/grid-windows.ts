import type { ImageSize, WindowSequence } from './window-sequence.js';

/** Row-major windows every `stride` pixels from the upper-left corner; only whole windows inside the image. */
export function gridWindows(image: ImageSize, tile: [number, number], stride: [number, number]): WindowSequence {
  const [width, height] = tile;
  const columns = Math.floor((image.width - width) / stride[0]) + 1;
  const rows = Math.floor((image.height - height) / stride[1]) + 1;
  return {
    size: columns * rows,
    at: (i) => ({ x: (i % columns) * stride[0], y: Math.floor(i / columns) * stride[1], width, height }),
  };
}
