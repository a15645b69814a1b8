import type { TypedArray } from '../types.js';
import type { KeptBlock } from './codecs/index.js';
import type { BlockLayout } from './block-layout.js';
import { bytesPerSample, viewSamples } from './dtypes.js';
import { undoFloatingPointPredictor, undoHorizontalDifferencing } from './predictor.js';

/** A decoded block's samples, in the machine's (little-endian) order once `rows` has made them final. */
export interface DecodedBlock {
  /** The samples, with rows `from` to `to` (exclusive, counted in the block) final; use them before any await. */
  rows(from: number, to: number): TypedArray;
  /** Gives back memory the block holds outside JavaScript's heap (the block cache calls it). */
  dispose?(): void;
  /** The block in the codecs' memory, its samples final, when it is kept there: windows are gathered from it there. */
  kept?: KeptBlock;
}

/** A block whose samples are final already (a sparse block, or one without predictor 2). */
export function finalBlock(samples: TypedArray): DecodedBlock {
  return { rows: () => samples };
}

/**
 * A block kept in WebAssembly memory, its samples final (no predictor left to undo, native byte order): each `rows`
 * is a fresh view, as the memory may have grown and moved since the last.
 */
export function keptBlock(kept: KeptBlock, layout: BlockLayout, rows: number): DecodedBlock {
  const samples = rows * layout.blockWidth * (layout.planarConfiguration === 1 ? layout.bands : 1);
  return {
    rows() {
      const bytes = kept.bytes();
      return viewSamples(layout.dtype, bytes.buffer as ArrayBuffer, bytes.byteOffset, samples);
    },
    dispose: () => kept.free(),
    kept,
  };
}

/**
 * A decoded block's bytes as samples in native order: the TIFF predictor undone and the byte order fixed, in
 * libtiff's order of operations (swap then accumulate for predictor 2; predictor 3 yields native order by itself).
 * Predictor 2 is undone row by row on first use: a window usually needs part of a tile's rows, and undoing whole
 * tiles was a fifth of a window read's time. geotiff's predictor code allocates per row and assumes little-endian.
 *
 * `rows` is the number of rows the block holds (a last strip is shorter); the bytes may be mutated.
 */
export function nativeSamples(decoded: ArrayBuffer, layout: BlockLayout, rows: number): DecodedBlock {
  const size = bytesPerSample(layout.dtype);
  const rowSamples = layout.blockWidth * (layout.planarConfiguration === 1 ? layout.bands : 1);
  const samples = rows * rowSamples;
  const stride = layout.planarConfiguration === 1 ? layout.bands : 1;
  if (layout.predictor === 3) {
    const bytes = undoFloatingPointPredictor(new Uint8Array(decoded, 0, samples * size), rowSamples, stride, size);
    return finalBlock(viewSamples(layout.dtype, bytes, 0, samples));
  }
  if (!layout.littleEndian && size > 1) swapBytesInPlace(new Uint8Array(decoded, 0, samples * size), size);
  const view = viewSamples(layout.dtype, decoded, 0, samples);
  if (layout.predictor !== 2) return finalBlock(view);
  const pending = new Uint8Array(rows).fill(1);
  return {
    rows(from, to) {
      for (let row = from; row < to; row++) {
        if (!pending[row]) continue;
        let end = row + 1;
        while (end < to && pending[end]) end++;
        undoHorizontalDifferencing(decoded, size, row * rowSamples, end * rowSamples, rowSamples, stride);
        pending.fill(0, row, end);
        row = end;
      }
      return view;
    },
  };
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
