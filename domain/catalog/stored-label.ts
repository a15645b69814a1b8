import type { Label, SegmentationLabel } from '../types.js';

/**
 * How the catalog stores labels. A segmentation label's runs are thousands of numbers (8,500 for a 256 x 256
 * window of a busy land-cover map), and PostgreSQL parses each number of a jsonb array into a `numeric`: inserting
 * 64 such labels took 125 ms of PostgreSQL's time, under the dataset's lock, and reading them back cost as much
 * again. So the runs are stored packed in one string (each run a value byte and the run's length as an unsigned
 * LEB128 varint, base64): about as long as the JSON, parsed as one string. Callers only ever see `runs` arrays;
 * rows stored before packing (`runs` in the jsonb) are read as they are.
 */
export interface PackedSegmentationLabel {
  width: number;
  height: number;
  packedRuns: string;
}

/** Lengths up to 2^35 fit in five varint bytes; a window is far smaller (at most 2^32 pixels). */
const MAX_RUN_LENGTH = 2 ** 32;

/** The label as the catalog stores it: packed runs for a segmentation label whose runs are all packable. */
export function storedLabel(label: Label): Label | PackedSegmentationLabel {
  if (!isPlainSegmentation(label)) return label;
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

/** The runs packed, or null when one is not a (byte value, positive whole length) pair: those stay JSON. */
export function packRuns(runs: number[]): string | null {
  if (runs.length % 2 !== 0) return null;
  let out = new Uint8Array(runs.length * 3 + 16);
  let at = 0;
  for (let i = 0; i < runs.length; i += 2) {
    const value = runs[i]!;
    let length = runs[i + 1]!;
    if (!Number.isInteger(value) || value < 0 || value > 255) return null;
    if (!Number.isInteger(length) || length < 1 || length > MAX_RUN_LENGTH) return null;
    if (at + 6 > out.length) {
      const grown = new Uint8Array(out.length * 2);
      grown.set(out);
      out = grown;
    }
    out[at++] = value;
    while (length >= 0x80) {
      out[at++] = (length % 0x80) | 0x80;
      length = Math.floor(length / 0x80);
    }
    out[at++] = length;
  }
  return Buffer.from(out.buffer, out.byteOffset, at).toString('base64');
}

export function unpackRuns(packed: string): number[] {
  const bytes = Buffer.from(packed, 'base64');
  const runs: number[] = [];
  let at = 0;
  while (at < bytes.length) {
    runs.push(bytes[at++]!);
    let length = 0;
    let scale = 1;
    for (;;) {
      if (at >= bytes.length) throw new Error('stored segmentation runs are truncated (a run length is cut off)');
      const byte = bytes[at++]!;
      length += (byte & 0x7f) * scale;
      if (byte < 0x80) break;
      scale *= 0x80;
    }
    runs.push(length);
  }
  return runs;
}
