/**
 * Undoing TIFF predictors on decoded block bytes. Each sample width gets its own kernel so every typed-array
 * access site sees one array type: a loop shared across Uint8/16/32Array runs 2-3x slower in V8, and predictor 2
 * on DEFLATE tiles was a fifth of a window read's time.
 */

type BandKernel<A> = (a: A, first: number, end: number, stride: number) => void;

// A running sum per band, wrapped to the sample width: no reload of the previous sample.
const sum8: BandKernel<Uint8Array> = (a, first, end, stride) => {
  for (let i = first + stride, sum = a[first]!; i < end; i += stride) a[i] = sum = (sum + a[i]!) & 0xff;
};
const sum16: BandKernel<Uint16Array> = (a, first, end, stride) => {
  for (let i = first + stride, sum = a[first]!; i < end; i += stride) a[i] = sum = (sum + a[i]!) & 0xffff;
};
const sum32: BandKernel<Uint32Array> = (a, first, end, stride) => {
  for (let i = first + stride, sum = a[first]! | 0; i < end; i += stride) a[i] = sum = (sum + a[i]!) | 0;
};
const sum64: BandKernel<BigUint64Array> = (a, first, end, stride) => {
  for (let i = first + stride; i < end; i += stride) a[i] = a[i]! + a[i - stride]!;
};

function eachBandOfEachRow<A extends { length: number }>(a: A, from: number, rowSamples: number, stride: number, kernel: BandKernel<A>): void {
  for (let start = from; start < a.length; start += rowSamples) {
    for (let band = start; band < start + stride; band++) kernel(a, band, start + rowSamples, stride);
  }
}

/**
 * Predictor 2 (horizontal differencing), in place on the rows of native-order samples `from` to `to` (sample
 * indices at row starts) of `bytes`: each sample was stored as the difference from the same band's previous
 * sample in its row (`stride` samples back). Differencing wraps the same way for signed and unsigned samples, so
 * only the width matters.
 */
export function undoHorizontalDifferencing(bytes: ArrayBuffer, size: number, from: number, to: number, rowSamples: number, stride: number): void {
  if (size === 1) eachBandOfEachRow(new Uint8Array(bytes, 0, to), from, rowSamples, stride, sum8);
  else if (size === 2) eachBandOfEachRow(new Uint16Array(bytes, 0, to), from, rowSamples, stride, sum16);
  else if (size === 4) eachBandOfEachRow(new Uint32Array(bytes, 0, to), from, rowSamples, stride, sum32);
  else eachBandOfEachRow(new BigUint64Array(bytes, 0, to), from, rowSamples, stride, sum64);
}

/**
 * Predictor 3 (floating point): each row holds the samples' bytes split into planes, most significant byte
 * first, then byte-wise differenced with the pixel stride. Returns little-endian samples in a new buffer.
 */
export function undoFloatingPointPredictor(bytes: Uint8Array, rowSamples: number, stride: number, size: number): ArrayBuffer {
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
