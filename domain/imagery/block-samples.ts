import type { TypedArray } from '../types.js';
import type { BlockLayout } from './block-layout.js';
import { bytesPerSample, viewSamples } from './dtypes.js';

/**
 * A decoded block's bytes as samples in the machine's (little-endian) order: the TIFF predictor undone and the
 * byte order fixed, in libtiff's order of operations (swap then accumulate for predictor 2; predictor 3 yields
 * native order by itself). geotiff's predictor code allocates per row and assumes little-endian files.
 *
 * `rows` is the number of rows the block holds (a last strip is shorter); the bytes may be mutated.
 */
export function nativeSamples(decoded: ArrayBuffer, layout: BlockLayout, rows: number): TypedArray {
  const size = bytesPerSample(layout.dtype);
  const rowSamples = layout.blockWidth * (layout.planarConfiguration === 1 ? layout.bands : 1);
  const samples = rows * rowSamples;
  const stride = layout.planarConfiguration === 1 ? layout.bands : 1;
  let bytes = decoded;
  if (layout.predictor === 3) {
    bytes = undoFloatingPointPredictor(new Uint8Array(decoded, 0, samples * size), rowSamples, stride, size);
  } else {
    if (!layout.littleEndian && size > 1) swapBytesInPlace(new Uint8Array(decoded, 0, samples * size), size);
    if (layout.predictor === 2) undoHorizontalDifferencing(unsignedView(decoded, size, samples), rowSamples, stride);
  }
  return viewSamples(layout.dtype, bytes, 0, samples);
}

type UnsignedSamples = Uint8Array | Uint16Array | Uint32Array | BigUint64Array;

/** Unsigned integers of the sample size: differencing wraps around the same way whatever the dtype. */
function unsignedView(bytes: ArrayBuffer, size: number, samples: number): UnsignedSamples {
  if (size === 1) return new Uint8Array(bytes, 0, samples);
  if (size === 2) return new Uint16Array(bytes, 0, samples);
  if (size === 4) return new Uint32Array(bytes, 0, samples);
  return new BigUint64Array(bytes, 0, samples);
}

/** Predictor 2: each sample was stored as the difference from the same band's previous sample in the row. */
function undoHorizontalDifferencing(a: UnsignedSamples, rowSamples: number, stride: number): void {
  if (a instanceof BigUint64Array) {
    for (let start = 0; start < a.length; start += rowSamples) {
      for (let i = start + stride; i < start + rowSamples; i++) a[i] = a[i]! + a[i - stride]!;
    }
    return;
  }
  for (let start = 0; start < a.length; start += rowSamples) {
    const end = start + rowSamples;
    for (let i = start + stride; i < end; i++) a[i] = a[i]! + a[i - stride]!;
  }
}

/**
 * Predictor 3 (floating point): each row holds the samples' bytes split into planes, most significant byte
 * first, then byte-wise differenced with the pixel stride. Returns little-endian samples in a new buffer.
 */
function undoFloatingPointPredictor(bytes: Uint8Array, rowSamples: number, stride: number, size: number): ArrayBuffer {
  const out = new Uint8Array(bytes.length);
  const rowBytes = rowSamples * size;
  for (let start = 0; start < bytes.length; start += rowBytes) {
    const end = start + rowBytes;
    for (let i = start + stride; i < end; i++) bytes[i] = bytes[i]! + bytes[i - stride]!;
    for (let b = 0; b < size; b++) {
      const plane = start + (size - 1 - b) * rowSamples;
      for (let k = 0; k < rowSamples; k++) out[start + k * size + b] = bytes[plane + k]!;
    }
  }
  return out.buffer;
}

function swapBytesInPlace(bytes: Uint8Array, size: number): void {
  for (let i = 0; i + size <= bytes.length; i += size) {
    for (let lo = i, hi = i + size - 1; lo < hi; lo++, hi--) {
      const t = bytes[lo]!;
      bytes[lo] = bytes[hi]!;
      bytes[hi] = t;
    }
  }
}
