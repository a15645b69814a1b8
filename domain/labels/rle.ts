/** Run-length encoding of class-index masks (row-major): runs alternate value and length, [v0, n0, v1, n1, ...]. */
import { InvalidInputError } from '../errors.js';
import type { SegmentationLabel } from '../types.js';

export function encodeRle(mask: Uint8Array, width: number, height: number): SegmentationLabel {
  const count = scanRuns(mask, width, height);
  // A loop, not Array.from of the typed array, which made whole masks' encoding 17% slower.
  const runs = new Array<number>(count);
  for (let i = 0; i < count; i++) runs[i] = scanned[i]!;
  return { width, height, runs };
}

/**
 * The runs of encodeRle packed as the catalog stores them (packRuns), found without an array of numbers: a
 * compute thread sends a window's label as one short string, not thousands of numbers to copy and collect.
 */
export function encodeRlePacked(mask: Uint8Array, width: number, height: number): PackedRunsLabel {
  const count = scanRuns(mask, width, height); // first: it may replace `scanned` with a larger array
  return { width, height, packedRuns: packRuns(scanned, count)! };
}

/** A segmentation label whose runs are packed (see packRuns). */
export interface PackedRunsLabel {
  width: number;
  height: number;
  packedRuns: string;
}

/** The runs of the last scan, [v0, n0, v1, n1, ...]; grown on demand (a mask of n pixels has at most n runs). */
let scanned = new Int32Array(0);

/** Finds the mask's runs into `scanned`; returns how many numbers (twice the runs) it wrote. */
function scanRuns(mask: Uint8Array, width: number, height: number): number {
  if (mask.length !== width * height) {
    throw new InvalidInputError(`mask of ${mask.length} values does not match ${width}x${height}`);
  }
  if (scanned.length < 2 * mask.length) scanned = new Int32Array(2 * mask.length);
  // Runs of a label mask span many pixels: compared four at a time over the mask's aligned words, they are found in
  // a quarter of the steps (0.22 -> 0.16 ms a 256 x 256 mask of the bench's scene).
  const words = mask.byteOffset % 4 === 0 ? new Uint32Array(mask.buffer, mask.byteOffset, mask.length >> 2) : null;
  const n = mask.length;
  let count = 0;
  let i = 0;
  while (i < n) {
    const value = mask[i]!;
    let j = i + 1;
    if (words) {
      while (j < n && (j & 3) !== 0 && mask[j] === value) j++;
      if ((j & 3) === 0) {
        const word = value * 0x01010101;
        let w = j >> 2;
        while (w < words.length && words[w] === word) w++;
        j = w << 2;
      }
    }
    while (j < n && mask[j] === value) j++;
    scanned[count++] = value;
    scanned[count++] = j - i;
    i = j;
  }
  return count;
}

/** Lengths up to 2^35 fit in five varint bytes; a window is far smaller (at most 2^32 pixels). */
const MAX_RUN_LENGTH = 2 ** 32;

/**
 * The first `count` runs numbers packed in one string, as the catalog stores them: each run a value byte and the
 * run's length as an unsigned LEB128 varint, base64. Null when one is not a (byte value, positive whole length) pair.
 */
export function packRuns(runs: ArrayLike<number>, count = runs.length): string | null {
  if (count % 2 !== 0) return null;
  let out = new Uint8Array(count * 3 + 16);
  let at = 0;
  for (let i = 0; i < count; i += 2) {
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

export function decodeRle(label: SegmentationLabel): Uint8Array {
  const mask = new Uint8Array(label.width * label.height);
  decodeRleInto(label, mask, 0);
  return mask;
}

/**
 * Decodes the runs into `out` from `offset` (width * height values; a batch's label rows take them in place) and
 * returns the largest value, so callers check values against their classes without reading the mask again.
 */
export function decodeRleInto(label: SegmentationLabel, out: Uint8Array | Uint16Array, offset: number): number {
  const { width, height, runs } = label;
  const size = width * height;
  let at = 0;
  let largest = 0;
  for (let i = 0; i + 1 < runs.length; i += 2) {
    const value = runs[i]!;
    const length = runs[i + 1]!;
    if (!Number.isInteger(value) || value < 0 || value > 255 || !Number.isInteger(length) || length < 1 || at + length > size) {
      throw new InvalidInputError(`segmentation runs are invalid at run ${i / 2} (value ${value}, length ${length}) for ${width}x${height}`);
    }
    // Most runs are short: a loop beats a call to fill below a few dozen values.
    if (length < 32) for (let k = offset + at, end = k + length; k < end; k++) out[k] = value;
    else out.fill(value, offset + at, offset + at + length);
    if (value > largest) largest = value;
    at += length;
  }
  if (runs.length % 2 !== 0 || at !== size) {
    throw new InvalidInputError(`segmentation runs cover ${at} pixels, but the mask is ${width}x${height}`);
  }
  return largest;
}

/** The runs of a packRuns string. */
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
