/**
 * A chip and its label as one picture, so a user can see whether they line up: chosen bands stretched per band,
 * enlarged (nearest neighbour, so chip pixels stay square and labels land on whole pixels), the label on top.
 * Pure: pixels and label in, RGBA out.
 */
import { InvalidInputError } from '../errors.js';
import { isDetectionLabel, isOneHot, isPixelBox, isSegmentationLabel } from '../labels/label-shape.js';
import { decodeRle } from '../labels/rle.js';
import type { ClassificationLabel, DetectionLabel, Label, MlType, Raster } from '../types.js';
import { upscale, type RgbaImage } from './canvas.js';
import { classColour, hexColour } from './class-colours.js';
import { blendMask, drawBoxes, drawLegend } from './label-overlay.js';
import { DEFAULT_PERCENTILES, stretchBand } from './stretch.js';

export const DEFAULT_SCALE = 4;
export const MAX_SCALE = 64;
/** Longest side of a preview: larger is a mistake (a huge --scale), not a picture anyone opens. */
export const MAX_PREVIEW_SIDE = 8192;

export interface PreviewOptions {
  /** 1-based bands of the chip shown as red, green, blue, or one band as grey. Default: the first three (or band 1). */
  bands?: number[];
  /** Whole-number enlargement, default 4 (a 64 x 64 chip becomes 256 x 256). */
  scale?: number;
  /** Percentiles of each band that map to 0 and 255, default 2nd and 98th. */
  percentiles?: [number, number];
}

export interface LegendEntry {
  classIndex: number;
  name: string;
  /** '#rrggbb'. */
  colour: string;
  /** The label holds this class (a one-hot 1, a box, or mask pixels). */
  present: boolean;
}

export interface RenderedPreview extends RgbaImage {
  bands: number[];
  scale: number;
  /** Every class with its colour, in class order. */
  legend: LegendEntry[];
}

export function renderPreview(
  raster: Raster,
  label: Label,
  mlType: MlType,
  classes: readonly string[],
  options: PreviewOptions = {},
): RenderedPreview {
  const bands = previewBands(raster, options.bands);
  const scale = options.scale ?? DEFAULT_SCALE;
  if (!Number.isInteger(scale) || scale < 1 || scale > MAX_SCALE) {
    throw new InvalidInputError(`preview scale ${String(scale)} must be a whole number from 1 to ${MAX_SCALE}`);
  }
  if (Math.max(raster.width, raster.height) * scale > MAX_PREVIEW_SIDE) {
    throw new InvalidInputError(
      `a ${raster.width}x${raster.height} chip at scale ${scale} is more than ${MAX_PREVIEW_SIDE} pixels on a side; use a smaller scale`,
    );
  }
  const percentiles = options.percentiles ?? DEFAULT_PERCENTILES;
  const [low, high] = percentiles;
  if (!(low >= 0 && low <= high && high <= 100)) {
    throw new InvalidInputError(`stretch percentiles [${low}, ${high}] must satisfy 0 <= low <= high <= 100`);
  }
  const colours = classes.map((_, i) => classColour(i));
  const present = new Set<number>();

  const chip = stretchedChip(raster, bands, percentiles);
  let overlay: ((image: RgbaImage) => void) | null = null;
  switch (mlType) {
    case 'classification': {
      const oneHot = checkClassification(label, classes.length);
      oneHot.forEach((v, i) => v === 1 && present.add(i));
      overlay = (image) => drawLegend(image, [...present], colours, scale);
      break;
    }
    case 'object_detection': {
      const boxes = checkDetection(label, classes.length);
      boxes.forEach((list, i) => list.length > 0 && present.add(i));
      overlay = (image) => drawBoxes(image, boxes, colours, scale);
      break;
    }
    case 'segmentation': {
      const mask = checkedMask(label, raster, classes.length);
      for (const v of mask) if (v > 0) present.add(v - 1);
      blendMask(chip, mask, colours); // on the chip before enlarging: the same as blending every enlarged pixel
      break;
    }
    default:
      throw new InvalidInputError(`unknown ML type '${String(mlType)}'`);
  }
  const image = scale === 1 ? chip : upscale(chip, scale);
  overlay?.(image);
  const legend = classes.map((name, i) => ({ classIndex: i, name, colour: hexColour(colours[i]!), present: present.has(i) }));
  return { ...image, bands, scale, legend };
}

function previewBands(raster: Raster, bands: number[] | undefined): number[] {
  const chosen = bands ?? (raster.bands >= 3 ? [1, 2, 3] : [1]);
  if (chosen.length !== 1 && chosen.length !== 3) {
    throw new InvalidInputError(`a preview shows 3 bands (red, green, blue) or 1 (grey), not ${chosen.length} (${chosen.join(',')})`);
  }
  for (const b of chosen) {
    if (!Number.isInteger(b) || b < 1 || b > raster.bands) {
      throw new InvalidInputError(`band ${b} does not exist in the chip (it has ${raster.bands} bands)`);
    }
  }
  return [...chosen];
}

/** The chosen bands stretched into a chip-sized RGBA image; a pixel that is NaN in any chosen band is transparent. */
function stretchedChip(raster: Raster, bands: number[], percentiles: [number, number]): RgbaImage {
  const { width, height } = raster;
  const pixels = width * height;
  const missing = new Uint8Array(pixels);
  const channels = bands.map((b) => stretchBand(raster, b, percentiles, missing));
  const [r, g, b] = channels.length === 3 ? channels : [channels[0]!, channels[0]!, channels[0]!];
  const rgba = new Uint8Array(4 * pixels);
  for (let p = 0; p < pixels; p++) {
    rgba[4 * p] = r![p]!;
    rgba[4 * p + 1] = g![p]!;
    rgba[4 * p + 2] = b![p]!;
    rgba[4 * p + 3] = missing[p] ? 0 : 255;
  }
  return { width, height, rgba };
}

function checkClassification(label: Label, classCount: number): ClassificationLabel {
  if (!isOneHot(label, classCount)) {
    throw new InvalidInputError(`a classification label is a one-hot of ${classCount} zeros and ones, not ${JSON.stringify(label).slice(0, 80)}`);
  }
  return label;
}

function checkDetection(label: Label, classCount: number): DetectionLabel {
  const ok = isDetectionLabel(label, classCount) && label.every((boxes) => boxes.every((box) => isPixelBox(box) && box.every(Number.isInteger)));
  if (!ok) {
    throw new InvalidInputError(`a detection label is ${classCount} lists of integer [minx, miny, maxx, maxy] boxes, not ${JSON.stringify(label).slice(0, 80)}`);
  }
  return label;
}

function checkedMask(label: Label, raster: Raster, classCount: number): Uint8Array {
  if (!isSegmentationLabel(label) || label.width !== raster.width || label.height !== raster.height) {
    throw new InvalidInputError(`a segmentation label for a ${raster.width}x${raster.height} chip is a mask of that size`);
  }
  const mask = decodeRle(label);
  for (const v of mask) {
    if (v > classCount) throw new InvalidInputError(`mask value ${v} names no class (there are ${classCount})`);
  }
  return mask;
}
