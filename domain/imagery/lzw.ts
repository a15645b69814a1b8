const CLEAR = 256;
const END = 257;
const FIRST_FREE = 258;
const MAX_CODES = 4096;

/** Tables reused across calls (decoding is synchronous): a strip of one row is too small to pay for allocating them. */
const start = new Int32Array(MAX_CODES);
const length = new Uint16Array(MAX_CODES);

/**
 * TIFF LZW (code 5: MSB-first codes of 9 to 12 bits, widened one code early as libtiff does). Every string a code
 * stands for is the previous code's string plus one byte, and both already lie in the output: so the table keeps,
 * per code, where its string starts in the output and how long it is, and decoding a code is a forward copy within
 * the output (LZ77-style). No per-code allocation, no walking a prefix chain backwards.
 *
 * Decodes up to the end-of-information code or the last whole code in `input`; the output grows past
 * `expectedBytes` if the data holds more.
 */
export function decodeLzw(input: Uint8Array, expectedBytes: number): Uint8Array {
  let out = new Uint8Array(Math.max(expectedBytes, 1024));
  let pos = 0;
  let inPos = 0;
  const inLength = input.length;
  // Bits read from the input but not yet used: the low `held` bits of `acc`.
  let acc = 0;
  let held = 0;
  let width = 9;
  let next = FIRST_FREE;
  // Where the previous code's string starts in the output, and its length; -1: none since a clear code.
  let prevStart = -1;
  let prevLength = 0;

  for (;;) {
    while (held < width) {
      if (inPos >= inLength) return out.subarray(0, pos); // a strip ending without EOI, or mid-code
      acc = ((acc << 8) | input[inPos++]!) & 0xffffff;
      held += 8;
    }
    held -= width;
    const code = (acc >>> held) & ((1 << width) - 1);
    if (code === END) break;
    if (code === CLEAR) {
      width = 9;
      next = FIRST_FREE;
      prevStart = -1;
      continue;
    }
    let n: number;
    if (code < 256) {
      n = 1;
    } else if (prevStart < 0) {
      throw new Error(`corrupt LZW data: code ${code} after a clear code`);
    } else if (code < next) {
      n = length[code]!;
    } else if (code === next) {
      // The string being defined: the previous string plus its own first byte.
      n = prevLength + 1;
    } else {
      throw new Error(`corrupt LZW data: code ${code} before it is defined (next ${next})`);
    }
    if (pos + n > out.length) {
      const grown = new Uint8Array(Math.max(out.length * 2, pos + n));
      grown.set(out.subarray(0, pos));
      out = grown;
    }
    if (code < 256) {
      out[pos] = code;
    } else {
      // Forward byte copy: for code === next the source runs into the bytes being written, which is what makes
      // its last byte the previous string's first. Strings are short; copyWithin costs more below ~64 bytes.
      const from = code === next ? prevStart : start[code]!;
      if (n > 64 && code !== next) out.copyWithin(pos, from, from + n);
      else for (let i = 0; i < n; i++) out[pos + i] = out[from + i]!;
    }
    if (prevStart >= 0 && next < MAX_CODES) {
      // New code: the previous string plus this string's first byte, which directly follows it in the output.
      start[next] = prevStart;
      length[next] = prevLength + 1;
      next++;
      if (next + 1 >= 1 << width && width < 12) width++;
    }
    prevStart = pos;
    prevLength = n;
    pos += n;
  }
  return out.subarray(0, pos);
}
