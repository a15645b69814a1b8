/**
 * Labels drawn over a stretched chip, one way per ML type: a mask blended with class colours, box outlines in the
 * class colour, or a legend of coloured squares for the classes a one-hot says are present.
 */
import type { DetectionLabel } from '../types.js';
import { fillRect, type RgbaImage } from './canvas.js';
import type { Rgb } from './class-colours.js';

/** How much of a class colour a masked pixel takes: enough to read the class, little enough to see the image. */
export const MASK_OPACITY = 0.45;

/** A masked pixel's colour: round((1 - MASK_OPACITY) * pixel + MASK_OPACITY * class colour) per channel. */
export function blendChannel(pixel: number, colour: number): number {
  return Math.round((1 - MASK_OPACITY) * pixel + MASK_OPACITY * colour);
}

/** Blends each pixel whose mask value is k > 0 with the colour of class k - 1 (chip-sized image and mask). */
export function blendMask(image: RgbaImage, mask: Uint8Array, colours: readonly Rgb[]): void {
  for (let p = 0; p < mask.length; p++) {
    const value = mask[p]!;
    if (value === 0) continue;
    const colour = colours[value - 1]!;
    const o = 4 * p;
    for (let c = 0; c < 3; c++) image.rgba[o + c] = blendChannel(image.rgba[o + c]!, colour[c]!);
    image.rgba[o + 3] = 255;
  }
}

/** Outline thickness in output pixels: half a chip pixel, at least one. */
export function outlineWidth(scale: number): number {
  return Math.max(1, Math.floor(scale / 2));
}

/**
 * Box outlines on the enlarged image, class by class then box by box (later ones on top). A box [x0, y0, x1, y1]
 * (chip pixel edges) covers output pixels [x0*s, x1*s) x [y0*s, y1*s); its outline is the innermost
 * `outlineWidth(s)` pixels of that area, so it lies on the box's own border pixels.
 */
export function drawBoxes(image: RgbaImage, label: DetectionLabel, colours: readonly Rgb[], scale: number): void {
  const t = outlineWidth(scale);
  label.forEach((boxes, classIndex) => {
    const colour = colours[classIndex]!;
    for (const [bx0, by0, bx1, by1] of boxes) {
      const [x0, y0, x1, y1] = [bx0 * scale, by0 * scale, bx1 * scale, by1 * scale];
      fillRect(image, x0, y0, x1, y0 + t, colour);
      fillRect(image, x0, y1 - t, x1, y1, colour);
      fillRect(image, x0, y0, x0 + t, y1, colour);
      fillRect(image, x1 - t, y0, x1, y1, colour);
    }
  });
}

/** Where legend square i sits on the enlarged image: [x0, y0, x1, y1), a row from the upper-left corner. */
export function legendSquare(i: number, scale: number): [number, number, number, number] {
  const side = Math.max(6, 3 * scale);
  const gap = Math.max(2, scale);
  const x0 = gap + i * (side + gap);
  return [x0, gap, x0 + side, gap + side];
}

/** A square per present class, in class order, each framed in black so it shows on any background. */
export function drawLegend(image: RgbaImage, present: readonly number[], colours: readonly Rgb[], scale: number): void {
  present.forEach((classIndex, i) => {
    const [x0, y0, x1, y1] = legendSquare(i, scale);
    fillRect(image, x0 - 1, y0 - 1, x1 + 1, y1 + 1, [0, 0, 0]);
    fillRect(image, x0, y0, x1, y1, colours[classIndex]!);
  });
}
