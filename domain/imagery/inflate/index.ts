/**
 * DEFLATE (zlib-wrapped, TIFF compression 8 and 32946) by libdeflate compiled to WebAssembly (inflate.c; rebuilt by
 * scripts/build-inflate-wasm.sh). On this project's COG tiles it inflates 1.15-1.3x faster than Node's zlib and
 * within about 10% of native libdeflate, which GDAL uses; it runs synchronously on the calling thread (the main
 * thread, or a compute thread), one instance per thread.
 */
import { INFLATE_WASM_BASE64 } from './libdeflate-wasm.js';

interface InflateExports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  scratch(): number;
  zlib_inflate(input: number, inputLength: number, output: number, room: number): number;
}

/**
 * Blocks whose output is larger go to Node's zlib instead: WebAssembly memory only grows, and a thread should not
 * keep a huge single-strip image's worth of it for good.
 */
export const MAX_WASM_INFLATE_BYTES = 64 * 1024 * 1024;

let instance: { exports: InflateExports; scratch: number } | null = null;

/** The part of the WebAssembly API used here (this project's TypeScript libs do not declare it). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const { WebAssembly } = globalThis as unknown as { WebAssembly: WebAssemblyApi };

function inflater(): { exports: InflateExports; scratch: number } {
  if (instance) return instance;
  const module = new WebAssembly.Module(Buffer.from(INFLATE_WASM_BASE64, 'base64'));
  const exports = new WebAssembly.Instance(module, {}).exports as InflateExports;
  const scratch = exports.scratch();
  if (scratch === 0) throw new Error('libdeflate (WebAssembly) could not allocate its decompressor');
  return (instance = { exports, scratch });
}

/**
 * Inflates a zlib stream whose data is at most `room` bytes into a new buffer of its own (byte 0 onwards) and
 * returns it, or null when the data holds more than `room` bytes (the caller decides what that means). Throws on
 * bytes that are not a valid zlib stream, as zlib does (bad header, bad code, truncated, adler32 mismatch).
 */
export function inflateZlibSync(input: Uint8Array, room: number): Uint8Array | null {
  if (room > MAX_WASM_INFLATE_BYTES) throw new RangeError(`inflateZlibSync takes blocks up to ${MAX_WASM_INFLATE_BYTES} bytes, not ${room}`);
  const { exports, scratch } = inflater();
  const inputAt = scratch;
  const outputAt = align(inputAt + input.length);
  const needed = outputAt + room;
  const { memory } = exports;
  if (needed > memory.buffer.byteLength) memory.grow(Math.ceil((needed - memory.buffer.byteLength) / 65536));
  new Uint8Array(memory.buffer, inputAt, input.length).set(input);
  const written = exports.zlib_inflate(inputAt, input.length, outputAt, room);
  if (written === -2) return null;
  if (written < 0) throw new Error('invalid zlib stream (bad header, code or checksum, or cut short)');
  // The block cache keeps the result and the predictor rewrites it in place: a buffer of its own, not zero-filled.
  const out = new Uint8Array(Buffer.allocUnsafeSlow(written).buffer, 0, written);
  out.set(new Uint8Array(memory.buffer, outputAt, written));
  return out;
}

function align(offset: number): number {
  return (offset + 15) & ~15;
}
