const CLEAR = 256;
const END = 257;
const FIRST_FREE = 258;
const MAX_CODES = 4096;

/**
 * TIFF LZW (code 5: MSB-first codes of 9 to 12 bits, widened one code early as libtiff does). geotiff's decoder
 * builds every string as a JavaScript array and was 80% of the time reading LZW strips; this one writes each
 * string straight into the output from a prefix table.
 */
export function decodeLzw(input: Uint8Array, expectedBytes: number): Uint8Array {
  const prefix = new Uint16Array(MAX_CODES);
  const suffix = new Uint8Array(MAX_CODES);
  const first = new Uint8Array(MAX_CODES);
  const length = new Uint16Array(MAX_CODES);
  for (let i = 0; i < 256; i++) {
    suffix[i] = i;
    first[i] = i;
    length[i] = 1;
  }
  let out = new Uint8Array(Math.max(expectedBytes, 1024));
  let pos = 0;
  let bitPos = 0;
  const totalBits = input.length * 8;
  let width = 9;
  let next = FIRST_FREE;
  let previous = -1;

  const write = (code: number) => {
    const n = length[code]!;
    if (pos + n > out.length) {
      const grown = new Uint8Array(Math.max(out.length * 2, pos + n));
      grown.set(out);
      out = grown;
    }
    for (let i = pos + n - 1, c = code; i >= pos; i--) {
      out[i] = suffix[c]!;
      c = prefix[c]!;
    }
    pos += n;
  };

  while (bitPos + width <= totalBits) {
    const byte = bitPos >>> 3;
    const bits = (input[byte]! << 16) | ((input[byte + 1] ?? 0) << 8) | (input[byte + 2] ?? 0);
    const code = (bits >>> (24 - (bitPos & 7) - width)) & ((1 << width) - 1);
    bitPos += width;
    if (code === END) break;
    if (code === CLEAR) {
      width = 9;
      next = FIRST_FREE;
      previous = -1;
      continue;
    }
    if (previous === -1) {
      if (code > 255) throw new Error(`corrupt LZW data: code ${code} after a clear code`);
      write(code);
      previous = code;
      continue;
    }
    let firstOfString: number;
    if (code < next) {
      write(code);
      firstOfString = first[code]!;
    } else if (code === next) {
      // The string being defined: the previous string plus its own first byte.
      firstOfString = first[previous]!;
      write(previous);
      write(firstOfString);
    } else {
      throw new Error(`corrupt LZW data: code ${code} before it is defined (next ${next})`);
    }
    if (next < MAX_CODES) {
      prefix[next] = previous;
      suffix[next] = firstOfString;
      first[next] = first[previous]!;
      length[next] = length[previous]! + 1;
      next++;
      if (next + 1 >= 1 << width && width < 12) width++;
    }
    previous = code;
  }
  return out.subarray(0, pos);
}
