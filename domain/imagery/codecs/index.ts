/**
 * Block codecs compiled to WebAssembly (codecs.c; rebuilt by scripts/build-codecs-wasm.sh): DEFLATE (zlib-wrapped,
 * TIFF compression 8 and 32946) by libdeflate, 1.15-1.3x Node's zlib on this project's COG tiles and within about
 * 10% of native libdeflate (which GDAL uses), and TIFF LZW (code 5), 2-2.5x veda's JavaScript decoder (lzw.ts) on
 * GDAL's strips. They run synchronously on the calling thread (the main thread, or a compute thread), one instance
 * per thread.
 */
import { CODECS_WASM_BASE64 } from './codecs-wasm.js';

interface CodecExports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  scratch(): number;
  zlib_inflate(input: number, inputLength: number, output: number, room: number): number;
  lzw_decode(input: number, inputLength: number, output: number, room: number): number;
}

/** The part of the WebAssembly API used here (this project's TypeScript libs do not declare it). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const { WebAssembly } = globalThis as unknown as { WebAssembly: WebAssemblyApi };

/**
 * Blocks whose output is larger go to the JavaScript decoders instead: WebAssembly memory only grows, and a thread
 * should not keep a huge single-strip image's worth of it for good.
 */
export const MAX_WASM_BLOCK_BYTES = 64 * 1024 * 1024;

let instance: { exports: CodecExports; scratch: number } | null = null;

function codecs(): { exports: CodecExports; scratch: number } {
  if (instance) return instance;
  const module = new WebAssembly.Module(Buffer.from(CODECS_WASM_BASE64, 'base64'));
  const exports = new WebAssembly.Instance(module, {}).exports as CodecExports;
  const scratch = exports.scratch();
  if (scratch === 0) throw new Error('veda codecs (WebAssembly) could not allocate the DEFLATE decompressor');
  return (instance = { exports, scratch });
}

/**
 * Runs one codec on `input` with room for `room` bytes of output: the output in a buffer of its own (byte 0
 * onwards, not zero-filled: the block cache keeps it and the predictor rewrites it in place), or the codec's
 * negative answer.
 */
function run(codec: 'zlib_inflate' | 'lzw_decode', input: Uint8Array, room: number): Uint8Array | number {
  if (room > MAX_WASM_BLOCK_BYTES) throw new RangeError(`WebAssembly codecs take blocks up to ${MAX_WASM_BLOCK_BYTES} bytes, not ${room}`);
  const { exports, scratch } = codecs();
  const inputAt = scratch;
  const outputAt = align(inputAt + input.length);
  const needed = outputAt + room;
  const { memory } = exports;
  if (needed > memory.buffer.byteLength) memory.grow(Math.ceil((needed - memory.buffer.byteLength) / 65536));
  new Uint8Array(memory.buffer, inputAt, input.length).set(input);
  const written = exports[codec](inputAt, input.length, outputAt, room);
  if (written < 0) return written;
  const out = new Uint8Array(Buffer.allocUnsafeSlow(written).buffer, 0, written);
  out.set(new Uint8Array(memory.buffer, outputAt, written));
  return out;
}

/**
 * Inflates a zlib stream whose data is at most `room` bytes, or returns null when it holds more (the caller decides
 * what that means). Throws on bytes that are not a valid zlib stream, as zlib does (bad header, bad code, cut
 * short, adler32 mismatch).
 */
export function inflateZlibSync(input: Uint8Array, room: number): Uint8Array | null {
  const out = run('zlib_inflate', input, room);
  if (out === -2) return null;
  if (typeof out === 'number') throw new Error('invalid zlib stream (bad header, code or checksum, or cut short)');
  return out;
}

/**
 * Decodes TIFF LZW whose data is at most `room` bytes, as decodeLzw (lzw.ts) does; null when the data is corrupt or
 * holds more, for the caller to hand to decodeLzw, which grows its output and names what is wrong.
 */
export function decodeLzwSync(input: Uint8Array, room: number): Uint8Array | null {
  const out = run('lzw_decode', input, room);
  return typeof out === 'number' ? null : out;
}

function align(offset: number): number {
  return (offset + 15) & ~15;
}
