import type { Label, SegmentationLabel } from '../types.js';
import { packRuns, unpackRuns, type PackedRunsLabel } from '../labels/rle.js';

/**
 * How the catalog stores labels. A segmentation label's runs are thousands of numbers (8,500 for a 256 x 256
 * window of a busy land-cover map), and PostgreSQL parses each number of a jsonb array into a `numeric`: inserting
 * 64 such labels took 125 ms of PostgreSQL's time, under the dataset's lock, and reading them back cost as much
 * again. So the runs are stored packed in one string (each run a value byte and the run's length as an unsigned
 * LEB128 varint, base64): about as long as the JSON, parsed as one string. Callers only ever see `runs` arrays;
 * rows stored before packing (`runs` in the jsonb) are read as they are.
 */
export type PackedSegmentationLabel = PackedRunsLabel;

/** The label as the catalog stores it: packed runs for a segmentation label whose runs are all packable. */
export function storedLabel(label: Label | PackedSegmentationLabel): Label | PackedSegmentationLabel {
  if (isPacked(label) || !isPlainSegmentation(label)) return label;
  const packed = packRuns(label.runs);
  return packed === null ? label : { width: label.width, height: label.height, packedRuns: packed };
}

/** The label a stored one stands for (packed runs unpacked; anything else as stored). */
export function loadedLabel(stored: Label | PackedSegmentationLabel): Label {
  if (!isPacked(stored)) return stored;
  return { width: stored.width, height: stored.height, runs: unpackRuns(stored.packedRuns) };
}

/** Exactly `{ width, height, runs }`: anything more (or less) is stored as given, so nothing is lost. */
function isPlainSegmentation(label: Label): label is SegmentationLabel {
  if (typeof label !== 'object' || label === null || Array.isArray(label)) return false;
  const keys = Object.keys(label);
  return keys.length === 3 && 'width' in label && 'height' in label && Array.isArray((label as SegmentationLabel).runs);
}

function isPacked(label: Label | PackedSegmentationLabel): label is PackedSegmentationLabel {
  return typeof label === 'object' && label !== null && !Array.isArray(label) && typeof (label as PackedSegmentationLabel).packedRuns === 'string';
}
