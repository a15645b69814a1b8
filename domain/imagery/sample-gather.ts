import type { TypedArray } from '../types.js';

/**
 * Copying every `step`-th sample (one band out of pixel-interleaved block rows) into a window. Samples move as
 * unsigned integers of their width, one kernel per width, so each loop sees a single array type (a loop over the
 * TypedArray union runs several times slower in V8) and float bits go through unchanged.
 */

type Gather<A> = (out: A, dst: number, block: A, src: number, count: number, step: number) => void;

const gather8: Gather<Uint8Array> = (out, dst, block, src, count, step) => {
  for (let i = 0; i < count; i++, src += step) out[dst + i] = block[src]!;
};
const gather16: Gather<Uint16Array> = (out, dst, block, src, count, step) => {
  for (let i = 0; i < count; i++, src += step) out[dst + i] = block[src]!;
};
const gather32: Gather<Uint32Array> = (out, dst, block, src, count, step) => {
  for (let i = 0; i < count; i++, src += step) out[dst + i] = block[src]!;
};
// Two 32-bit words per 64-bit sample: Float64Array would canonicalize NaN payloads on some platforms.
const gather64: Gather<Uint32Array> = (out, dst, block, src, count, step) => {
  for (let i = 0; i < count; i++, src += step) {
    out[2 * (dst + i)] = block[2 * src]!;
    out[2 * (dst + i) + 1] = block[2 * src + 1]!;
  }
};

/** Rows of one band: row r copies `count` samples from `src + r * srcRow` (every `step`-th) to `dst + r * dstRow`. */
export interface StridedRows {
  rows: number;
  count: number;
  step: number;
  src: number;
  srcRow: number;
  dst: number;
  dstRow: number;
}

/** Copies `rows` of `block` into `out`; both hold samples of one dtype. */
export function gatherRows(out: TypedArray, block: TypedArray, rows: StridedRows): void {
  const size = out.BYTES_PER_ELEMENT;
  if (size === 1) eachRow(rows, gather8, asWords(out, Uint8Array), asWords(block, Uint8Array));
  else if (size === 2) eachRow(rows, gather16, asWords(out, Uint16Array), asWords(block, Uint16Array));
  else if (size === 4) eachRow(rows, gather32, asWords(out, Uint32Array), asWords(block, Uint32Array));
  else eachRow(rows, gather64, asWords(out, Uint32Array), asWords(block, Uint32Array));
}

function eachRow<A>({ rows, count, step, src, srcRow, dst, dstRow }: StridedRows, gather: Gather<A>, out: A, block: A): void {
  for (let r = 0; r < rows; r++) gather(out, dst + r * dstRow, block, src + r * srcRow, count, step);
}

interface WordArray<A> {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): A;
  readonly BYTES_PER_ELEMENT: number;
}

function asWords<A>(samples: TypedArray, Words: WordArray<A>): A {
  return new Words(samples.buffer, samples.byteOffset, samples.byteLength / Words.BYTES_PER_ELEMENT);
}
