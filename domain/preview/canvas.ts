import type { Rgb } from './class-colours.js';

/** An 8-bit RGBA image, row-major: rgba[4 * (y * width + x) + channel]. */
export interface RgbaImage {
  width: number;
  height: number;
  rgba: Uint8Array;
}

function setPixel(image: RgbaImage, x: number, y: number, [r, g, b]: Rgb): void {
  const o = 4 * (y * image.width + x);
  image.rgba[o] = r;
  image.rgba[o + 1] = g;
  image.rgba[o + 2] = b;
  image.rgba[o + 3] = 255;
}

/** Fills the half-open rectangle [x0, x1) x [y0, y1), clipped to the image. */
export function fillRect(image: RgbaImage, x0: number, y0: number, x1: number, y1: number, colour: Rgb): void {
  for (let y = Math.max(0, y0); y < Math.min(image.height, y1); y++) {
    for (let x = Math.max(0, x0); x < Math.min(image.width, x1); x++) setPixel(image, x, y, colour);
  }
}

/** Nearest-neighbour enlargement by a whole factor: chip pixel (x, y) becomes the block [x*s, (x+1)*s) x [y*s, (y+1)*s). */
export function upscale(image: RgbaImage, scale: number): RgbaImage {
  const width = image.width * scale;
  const height = image.height * scale;
  const src = new Uint32Array(image.rgba.buffer, image.rgba.byteOffset, image.width * image.height);
  const out = new Uint32Array(width * height);
  for (let y = 0; y < height; y++) {
    const row = Math.floor(y / scale) * image.width;
    for (let x = 0; x < width; x++) out[y * width + x] = src[row + Math.floor(x / scale)]!;
  }
  return { width, height, rgba: new Uint8Array(out.buffer) };
}
