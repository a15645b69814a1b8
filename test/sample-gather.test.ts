import { describe, expect, it } from 'vitest';
import { allocateSamples, bytesOf } from '../domain/imagery/dtypes.js';
import { gatherRows, type StridedRows } from '../domain/imagery/sample-gather.js';
import type { Dtype, TypedArray } from '../domain/types.js';

/** gatherRows against a plain loop over the same samples, for every sample width; compared as bytes. */
describe('gatherRows', () => {
  const dtypes: Dtype[] = ['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'float32', 'float64'];

  it.each(dtypes)('%s: one band of pixel-interleaved rows, bit for bit (NaN payloads too)', (dtype) => {
    const bands = 3;
    const blockWidth = 20;
    const block = noise(allocateSamples(dtype, bands * blockWidth * 9));
    const out = noise(allocateSamples(dtype, 2 * 11 * 6), 7);
    // Band 2 of block rows 3-7, columns 4-14, into band 1 (of 2) of an 11 x 6 window, at column 1, row 0.
    const rows = { rows: 5, count: 11 - 1, step: bands, src: 3 * blockWidth * bands + 4 * bands + 2, srcRow: blockWidth * bands, dst: 66 + 1, dstRow: 11 };
    const expected = copyBytewise(out.slice(), block, rows);
    gatherRows(out, block, rows);
    expect(Buffer.from(bytesOf(out))).toEqual(Buffer.from(bytesOf(expected)));
  });
});

/** Fills `samples` with arbitrary bytes (NaNs with payloads among the floats). */
function noise<T extends TypedArray>(samples: T, seed = 1): T {
  const bytes = bytesOf(samples);
  for (let i = 0; i < bytes.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    bytes[i] = seed >>> 24;
  }
  return samples;
}

/** The reference: each sample's bytes copied one by one (a loop over floats may quiet a NaN's payload). */
function copyBytewise(expected: TypedArray, block: TypedArray, rows: StridedRows): TypedArray {
  const size = expected.BYTES_PER_ELEMENT;
  const to = bytesOf(expected);
  const from = bytesOf(block);
  for (let r = 0; r < rows.rows; r++) {
    for (let i = 0; i < rows.count; i++) {
      const src = (rows.src + r * rows.srcRow + i * rows.step) * size;
      to.set(from.subarray(src, src + size), (rows.dst + r * rows.dstRow + i) * size);
    }
  }
  return expected;
}
