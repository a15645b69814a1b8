import { InvalidInputError } from '../errors.js';
import type { Label, LabelOptions, MlType } from '../types.js';
import { encodeClassification } from './encode-classification.js';
import { encodeDetection } from './encode-detection.js';
import { encodeSegmentation, encodeSegmentationPacked } from './encode-segmentation.js';
import type { PackedRunsLabel } from './rle.js';
import { windowPixelFeatures, type WindowLabelContext } from './window-features.js';

/** The label of one window for an ML type: one-hot, per-class pixel boxes, or an RLE class mask. */
export function encodeLabel(mlType: MlType, ctx: WindowLabelContext, options: LabelOptions = {}): Label {
  return encode(mlType, ctx, options, false);
}

/**
 * The label as the catalog stores it (catalog/stored-label.ts): the same, but a mask's runs already packed, which a
 * compute thread sends as one short string instead of thousands of numbers.
 */
export function encodeStoredLabel(mlType: MlType, ctx: WindowLabelContext, options: LabelOptions = {}): Label | PackedRunsLabel {
  return encode(mlType, ctx, options, true);
}

function encode(mlType: MlType, ctx: WindowLabelContext, options: LabelOptions, packRuns: false): Label;
function encode(mlType: MlType, ctx: WindowLabelContext, options: LabelOptions, packRuns: true): Label | PackedRunsLabel;
function encode(mlType: MlType, ctx: WindowLabelContext, options: LabelOptions, packRuns: boolean): Label | PackedRunsLabel {
  const { minOverlap = 0, minBoxSize = 0, allTouched = false } = options;
  if (!(minOverlap >= 0 && minOverlap <= 1)) throw new InvalidInputError(`minOverlap ${String(minOverlap)} must be between 0 and 1`);
  if (!(minBoxSize >= 0 && Number.isFinite(minBoxSize))) throw new InvalidInputError(`minBoxSize ${String(minBoxSize)} must be a number of pixels >= 0`);
  const { width, height } = ctx.window;
  switch (mlType) {
    case 'classification':
      return encodeClassification(windowPixelFeatures(ctx), width, height, ctx.classCount, minOverlap);
    case 'object_detection':
      return encodeDetection(windowPixelFeatures(ctx), width, height, ctx.classCount, minBoxSize);
    case 'segmentation':
      return packRuns ? encodeSegmentationPacked(ctx, allTouched) : encodeSegmentation(ctx, allTouched);
    default:
      throw new InvalidInputError(`unknown ML type '${String(mlType)}'`);
  }
}
