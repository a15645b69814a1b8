import sharp from 'sharp';
import type { RgbaImage } from './canvas.js';

/** The image as PNG bytes (lossless, 8-bit RGBA). */
export function encodePng(image: RgbaImage): Promise<Buffer> {
  const { width, height, rgba } = image;
  return sharp(Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength), { raw: { width, height, channels: 4 } }).png().toBuffer();
}
