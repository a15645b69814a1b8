export { encodeLabel, encodeStoredLabel } from './encode-label.js';
export { encodeClassification } from './encode-classification.js';
export { encodeDetection } from './encode-detection.js';
export { encodeSegmentation, segmentationMask } from './encode-segmentation.js';
export {
  featureAnchors,
  loadLabelSource,
  type LabelFeature,
  type LabelSource,
  type LabelSourceOptions,
  type SkippedFeatures,
} from './label-source.js';
export { openLabelWindows, readWindowLabelContext, type LabelWindows } from './label-windows.js';
export { PIXEL_EPSILON } from './rasterize.js';
export { decodeRle, encodeRle, encodeRlePacked, packRuns, unpackRuns, type PackedRunsLabel } from './rle.js';
export { windowLabelContext, windowPixelFeatures, type PixelFeature, type WindowLabelContext } from './window-features.js';
export { isDetectionLabel, isOneHot, isPixelBox, isSegmentationLabel } from './label-shape.js';
export { serveLabel, type DetectionTarget, type MaskTarget, type Target, type TargetBox } from './served-label.js';
