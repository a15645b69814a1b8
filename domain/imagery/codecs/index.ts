/**
 * Block codecs compiled to WebAssembly with SIMD (codecs.c; rebuilt by scripts/build-codecs-wasm.sh): DEFLATE
 * (zlib-wrapped, TIFF compression 8 and 32946) by libdeflate with a SIMD Adler-32, about 1.1x Node's synchronous
 * zlib per COG tile, and TIFF LZW (code 5), 2-2.5x veda's JavaScript decoder (lzw.ts) on GDAL's strips. Either can
 * undo predictor 2 and leave the block in WebAssembly memory, where the window reader copies from it: no copy out
 * and no new buffer per block. They run synchronously on the calling thread (the main thread, or a compute thread),
 * one instance per thread.
 */
import { Arena } from './arena.js';
import { CODECS_WASM_BASE64 } from './codecs-wasm.js';
import { takeSpareBuffer } from '../spare-buffers.js';

interface CodecExports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  scratch(): number;
  zlib_inflate(input: number, inputLength: number, output: number, room: number): number;
  lzw_decode(input: number, inputLength: number, output: number, room: number): number;
  undo_predictor2(at: number, rows: number, rowBytes: number, sampleBytes: number, pixelBytes: number): void;
  gather_rows(
    out: number,
    block: number,
    rows: number,
    count: number,
    sampleBytes: number,
    step: number,
    srcRow: number,
    dstRow: number,
    targets: number,
    targetCount: number,
  ): void;
}

/** TIFF predictor 2 over a block's rows of little-endian samples, for a codec to undo on what it decodes. */
export interface HorizontalDifferencing {
  /** Bytes per row of the block (every row is whole). */
  rowBytes: number;
  /** 1, 2, 4 or 8. */
  sampleBytes: number;
  /** Bytes per pixel: the distance to the same band's previous sample. */
  pixelBytes: number;
}

/** Room the predictor's 16-byte stores may touch past a block. */
const PREDICTOR_SLACK = 16;

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

/**
 * Decoded blocks a thread keeps in WebAssembly memory (never copied out) at most, for all its images together;
 * blocks past it are copied out to buffers of their own. Enough for the block caches of a few large scenes' tiles
 * (a 4188 x 4224 x 6 uint16 COG decodes to 212 MB). The memory stays reserved by the thread once used: for kept
 * blocks, at most 1.5 times this (see Arena).
 */
export const MAX_KEPT_BYTES = 256 * 1024 * 1024;

let instance: { exports: CodecExports; arena: Arena } | null = null;

function codecs(): { exports: CodecExports; arena: Arena } {
  if (instance) return instance;
  const module = new WebAssembly.Module(Buffer.from(CODECS_WASM_BASE64, 'base64'));
  const exports = new WebAssembly.Instance(module, {}).exports as CodecExports;
  const scratch = exports.scratch();
  if (scratch === 0) throw new Error('veda codecs (WebAssembly) could not allocate the DEFLATE decompressor');
  return (instance = { exports, arena: new Arena(exports.memory, scratch, MAX_KEPT_BYTES) });
}

/**
 * A decoded block left in WebAssembly memory: read it through `bytes()` (a fresh view each time: the memory may
 * grow, which detaches views taken before), and `free()` it once no reader needs it.
 */
export interface KeptBlock {
  bytes(): Uint8Array;
  free(): void;
  /** Where the block starts in the thread's codec memory (for stageWindow's gather). */
  readonly at: number;
}

/**
 * Runs one codec on `input` with room for `room` bytes of output, then undoes `predictor` on its whole rows. The
 * output stays in WebAssembly memory when `keep` is set and the thread's limit allows; otherwise it is copied to a
 * buffer of its own (byte 0 onwards, not zero-filled: the block cache keeps it and a JavaScript predictor may
 * rewrite it in place). A negative number is the codec's answer for bad or oversized data.
 */
function run(
  codec: 'zlib_inflate' | 'lzw_decode',
  input: Uint8Array,
  room: number,
  predictor: HorizontalDifferencing | undefined,
  keep: boolean,
): Uint8Array | KeptBlock | number {
  if (room > MAX_WASM_BLOCK_BYTES) throw new RangeError(`WebAssembly codecs take blocks up to ${MAX_WASM_BLOCK_BYTES} bytes, not ${room}`);
  const { exports, arena } = codecs();
  const outputBytes = room + PREDICTOR_SLACK;
  const keptAt = keep ? arena.allocKept(outputBytes) : null;
  const outputAt = keptAt ?? arena.alloc(outputBytes);
  const inputBytes = Arena.inputSize(input.length);
  const inputAt = arena.alloc(inputBytes);
  new Uint8Array(exports.memory.buffer, inputAt, input.length).set(input);
  const written = exports[codec](inputAt, input.length, outputAt, room);
  arena.release(inputAt);
  if (written >= 0 && predictor) {
    const { rowBytes, sampleBytes, pixelBytes } = predictor;
    exports.undo_predictor2(outputAt, Math.floor(written / rowBytes), rowBytes, sampleBytes, pixelBytes);
  }
  if (written >= 0 && keptAt !== null) {
    let freed = false;
    return {
      at: keptAt,
      bytes: () => new Uint8Array(exports.memory.buffer, keptAt, written),
      free() {
        if (freed) return;
        freed = true;
        arena.releaseKept(keptAt);
      },
    };
  }
  let result: Uint8Array | number = written;
  if (written >= 0) {
    result = new Uint8Array(Buffer.allocUnsafeSlow(written).buffer, 0, written);
    result.set(new Uint8Array(exports.memory.buffer, outputAt, written));
  }
  if (keptAt !== null) arena.releaseKept(keptAt);
  else arena.release(outputAt);
  return result;
}

/** What a codec gives back: the bytes in a buffer of their own, or kept in WebAssembly memory. */
export type DecodedBytes = Uint8Array | KeptBlock;

/**
 * Inflates a zlib stream whose data is at most `room` bytes (and undoes `predictor` on it), or returns null when it
 * holds more (the caller decides what that means). Throws on bytes that are not a valid zlib stream, as zlib does
 * (bad header, bad code, cut short, adler32 mismatch).
 */
export function inflateZlibSync(input: Uint8Array, room: number, predictor?: HorizontalDifferencing): Uint8Array | null;
export function inflateZlibSync(input: Uint8Array, room: number, predictor: HorizontalDifferencing | undefined, keep: boolean): DecodedBytes | null;
export function inflateZlibSync(input: Uint8Array, room: number, predictor?: HorizontalDifferencing, keep = false): DecodedBytes | null {
  const out = run('zlib_inflate', input, room, predictor, keep);
  if (out === -2) return null;
  if (typeof out === 'number') throw new Error('invalid zlib stream (bad header, code or checksum, or cut short)');
  return out;
}

/**
 * Decodes TIFF LZW whose data is at most `room` bytes, as decodeLzw (lzw.ts) does (and undoes `predictor` on it);
 * null when the data is corrupt or holds more, for the caller to hand to decodeLzw, which grows its output and
 * names what is wrong.
 */
export function decodeLzwSync(input: Uint8Array, room: number, predictor?: HorizontalDifferencing): Uint8Array | null;
export function decodeLzwSync(input: Uint8Array, room: number, predictor: HorizontalDifferencing | undefined, keep: boolean): DecodedBytes | null;
export function decodeLzwSync(input: Uint8Array, room: number, predictor?: HorizontalDifferencing, keep = false): DecodedBytes | null {
  const out = run('lzw_decode', input, room, predictor, keep);
  return typeof out === 'number' ? null : out;
}

/** Rows of bands to copy from a kept block into a staged window; every offset and distance in bytes. */
export interface StagedRows {
  rows: number;
  /** Samples per row and band. */
  count: number;
  /** 1, 2, 4 or 8. */
  sampleBytes: number;
  /** Between one pixel's sample of a band and the next pixel's. */
  step: number;
  /** Between rows, in the block and in the window. */
  srcRow: number;
  dstRow: number;
  /** Per band: its first sample in the block and where that goes in the window. */
  targets: ReadonlyArray<readonly [number, number]>;
}

/**
 * Room in the thread's codec memory where a window is assembled from kept blocks by gather_rows (codecs.c), then
 * taken out in one copy. JavaScript's own copy of bands out of pixel-interleaved blocks ran at about half the speed
 * once the thread had detached any buffer (V8 then checks every typed-array access), and every worker thread does.
 */
export interface StagedWindow {
  /** Copies `rows` of kept `block` into the window. */
  gather(block: KeptBlock, rows: StagedRows): void;
  /** The window's bytes, as a fresh view (the memory may grow and move between uses). */
  bytes(): Uint8Array;
  /** The window's bytes, copied to a buffer of their own: a spare one of their size when the thread has one. */
  take(): ArrayBuffer;
  /** Gives the room back; the window must not be used after. */
  free(): void;
}

/** Room for a window of `byteLength` bytes whose gathers copy at most `maxTargets` bands at a time. */
export function stageWindow(byteLength: number, maxTargets: number): StagedWindow {
  const { exports, arena } = codecs();
  // The band offsets follow the window, 8-byte aligned (the room starts at a whole 4 KiB unit).
  const targetsAt = Math.ceil(byteLength / 8) * 8;
  const at = arena.alloc(targetsAt + 8 * maxTargets);
  let freed = false;
  const live = () => {
    if (freed) throw new Error('a staged window was used after it was freed');
  };
  return {
    gather(block, { rows, count, sampleBytes, step, srcRow, dstRow, targets }) {
      live();
      if (targets.length > maxTargets) throw new RangeError(`a staged window gathers at most ${maxTargets} bands at a time, not ${targets.length}`);
      const pairs = new Uint32Array(exports.memory.buffer, at + targetsAt, 2 * targets.length);
      targets.forEach(([src, dst], i) => {
        pairs[2 * i] = src;
        pairs[2 * i + 1] = dst;
      });
      exports.gather_rows(at, block.at, rows, count, sampleBytes, step, srcRow, dstRow, at + targetsAt, targets.length);
    },
    bytes() {
      live();
      return new Uint8Array(exports.memory.buffer, at, byteLength);
    },
    take() {
      live();
      const spare = takeSpareBuffer(byteLength);
      if (!spare) return exports.memory.buffer.slice(at, at + byteLength);
      new Uint8Array(spare).set(new Uint8Array(exports.memory.buffer, at, byteLength));
      return spare;
    },
    free() {
      if (freed) return;
      freed = true;
      arena.release(at);
    },
  };
}
