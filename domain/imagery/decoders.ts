import { inflate } from 'node:zlib';
import { promisify } from 'node:util';
import { addDecoder, BaseDecoder, getDecoder } from 'geotiff';
import sharp from 'sharp';
import { decodeLzw } from './lzw.js';
import { decodeLzwSync, inflateZlibSync, MAX_WASM_BLOCK_BYTES, type DecodedBytes, type HorizontalDifferencing } from './codecs/index.js';
import { undoHorizontalDifferencing } from './predictor.js';

/**
 * Block decoders that replace geotiff's JavaScript ones where a native library is faster or closer to GDAL.
 * Importing this module registers them process-wide: Node's zlib for DEFLATE (same bytes as pako, several times
 * faster) and veda's LZW decoder (lzw.ts).
 */

const inflateAsync = promisify(inflate);

/** geotiff does not export this type from its entry point. */
export type BaseDecoderParameters = ConstructorParameters<typeof BaseDecoder>[0];

/** An ArrayBuffer holding exactly the bytes of `view`: a decoder returns a whole buffer, read from byte 0. */
function ownBuffer(view: Uint8Array): ArrayBuffer {
  if (view.byteOffset === 0 && view.byteLength === view.buffer.byteLength && view.buffer instanceof ArrayBuffer) {
    return view.buffer;
  }
  return view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength) as ArrayBuffer;
}

/** Bytes of one decoded block (a whole tile, or a full strip). */
function blockByteSize({ tileWidth, tileHeight, planarConfiguration, bitsPerSample }: BaseDecoderParameters): number {
  const bits = typeof bitsPerSample === 'number' ? [bitsPerSample] : Array.from(bitsPerSample);
  const pixelBits = planarConfiguration === 2 ? (bits[0] ?? 8) : bits.reduce((sum, b) => sum + b, 0);
  return Math.ceil((tileWidth * pixelBits) / 8) * tileHeight;
}

/**
 * Inflates one block on zlib's thread pool into one buffer of the block's size plus a spare byte: zlib's default
 * 16 KiB chunks, concatenated, cost more than the inflation, and a buffer that fills exactly makes Node allocate a
 * second whole block to look for more output (most of the garbage collection in a window read).
 */
function inflateBlock(compressed: Uint8Array, blockBytes: number): Promise<Buffer> {
  return inflateAsync(compressed, { chunkSize: Math.max(blockBytes + 1, 64 * 1024) });
}

/**
 * DEFLATE (TIFF codes 8 and 32946) for geotiff's own reads, with Node's zlib off the main thread (the event loop
 * stays free for heartbeats), as inflateBlock does it.
 */
export class NodeZlibDecoder extends BaseDecoder {
  private readonly blockBytes: number;

  constructor(parameters: BaseDecoderParameters) {
    super(parameters);
    this.blockBytes = blockByteSize(parameters);
  }

  override async decodeBlock(buffer: ArrayBufferLike): Promise<ArrayBuffer> {
    return ownBuffer(await inflateBlock(new Uint8Array(buffer), this.blockBytes));
  }
}

/** LZW (TIFF code 5) with decodeLzw, sized to a whole block like the zlib decoder. */
export class LzwDecoder extends BaseDecoder {
  private readonly blockBytes: number;

  constructor(parameters: BaseDecoderParameters) {
    super(parameters);
    this.blockBytes = blockByteSize(parameters);
  }

  override decodeBlock(buffer: ArrayBufferLike): ArrayBuffer {
    return ownBuffer(decodeLzw(new Uint8Array(buffer), this.blockBytes));
  }
}

addDecoder([8, 32946], async () => NodeZlibDecoder);
addDecoder(5, async () => LzwDecoder);

export interface JpegDecoderParameters extends BaseDecoderParameters {
  /** The TIFF JPEGTables tag: quantization and Huffman tables shared by every block ("abbreviated" streams). */
  JPEGTables?: Uint8Array;
}

/**
 * JPEG blocks decoded by libjpeg-turbo (through sharp), the decoder family GDAL uses: YCbCr blocks come out as
 * RGB with libjpeg's upsampling, exactly as GDAL returns them. geotiff's own decoder returns raw YCbCr and
 * differs from libjpeg by 1 on some pixels. Only for blocks of 1 or 3 components: libvips reads 4 components as
 * CMYK and would convert them.
 */
export class SharpJpegDecoder extends BaseDecoder {
  private readonly tablesPrefix: Buffer | null;
  private readonly components: number;

  constructor(parameters: JpegDecoderParameters) {
    super(parameters);
    const tables = parameters.JPEGTables;
    // JPEGTables is SOI + tables + EOI; a block is SOI + frame + EOI: splice them into one complete stream.
    this.tablesPrefix = tables && tables.length > 4 ? Buffer.from(tables.subarray(0, tables.length - 2)) : null;
    this.components = blockComponents(parameters);
  }

  override async decodeBlock(buffer: ArrayBufferLike): Promise<ArrayBuffer> {
    const block = new Uint8Array(buffer);
    const stream = this.tablesPrefix ? Buffer.concat([this.tablesPrefix, block.subarray(2)]) : block;
    let image = sharp(stream, { failOn: 'error' });
    if (this.components === 1) image = image.toColourspace('b-w');
    const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== this.components) {
      throw new Error(`JPEG block decoded to ${info.channels} channels, expected ${this.components}`);
    }
    return ownBuffer(data);
  }
}

/** Samples per pixel in one block: every band when pixel-interleaved, one when band-interleaved. */
function blockComponents({ planarConfiguration, bitsPerSample }: BaseDecoderParameters): number {
  if (planarConfiguration === 2) return 1;
  return typeof bitsPerSample === 'number' ? 1 : bitsPerSample.length;
}

export const JPEG_COMPRESSION = 7;
const LZW_COMPRESSION = 5;

/**
 * Decodes one block's stored bytes; synchronous where the codec allows. The result starts at byte 0 of a buffer the
 * caller may keep and mutate (the buffer may be longer than the result), or, when the decoder was asked to keep
 * blocks, may be a block kept in WebAssembly memory (read-only to the caller, who frees it).
 */
export type BlockDecoder = (compressed: Uint8Array) => DecodedBytes | Promise<Uint8Array>;

export interface BlockDecoderOptions {
  /** Predictor 2 on little-endian samples, for the codecs that can undo it as they decode (LZW, DEFLATE). */
  differencing?: HorizontalDifferencing;
  /**
   * Leave blocks those codecs decode in WebAssembly memory (no copy out, no new buffer per block) while the thread's
   * limit allows: only for blocks nothing rewrites afterwards (no predictor left to undo, no byte swap).
   */
  keep?: boolean;
}

/** A block decoder, whether what it returns has predictor 2 undone already, and whether it may keep blocks. */
export interface BlockDecoding {
  decode: BlockDecoder;
  predictorUndone: boolean;
  keeps: boolean;
}

/**
 * decoderFor as a BlockDecoder. LZW and DEFLATE go to veda's WebAssembly codecs (codecs/), synchronously: going
 * through geotiff's async BaseDecoder.decode costs a promise per block (a striped image has a block per row), and
 * libdeflate inflates about 1.1x as fast as Node's zlib with no hop to its thread pool and back. Blocks too large
 * for them, or holding more data than the block (or corrupt LZW, for decodeLzw's message), go to Node's zlib and
 * veda's JavaScript LZW decoder. Given `differencing` (predictor 2 on little-endian samples), these two undo it on
 * the whole block, in WebAssembly while the block is still there (SIMD: a fraction of the JavaScript's time);
 * other codecs leave it to the caller.
 */
export async function blockDecoderFor(
  compression: number,
  parameters: JpegDecoderParameters,
  { differencing, keep = false }: BlockDecoderOptions = {},
): Promise<BlockDecoding> {
  const blockBytes = blockByteSize(parameters);
  const wasm = blockBytes <= MAX_WASM_BLOCK_BYTES;
  const predicted = (bytes: Uint8Array) => (differencing ? undoWholeRows(bytes, differencing) : bytes);
  if (compression === LZW_COMPRESSION) {
    return {
      decode: (compressed) =>
        (wasm ? decodeLzwSync(compressed, blockBytes, differencing, keep) : null) ?? predicted(atByteZero(decodeLzw(compressed, blockBytes))),
      predictorUndone: differencing !== undefined,
      keeps: wasm && keep,
    };
  }
  if (compression === 8 || compression === 32946) {
    const inflated = (compressed: Uint8Array) => inflateBlock(compressed, blockBytes).then((bytes) => predicted(atByteZero(bytes)));
    return {
      decode: wasm ? (compressed) => inflateZlibSync(compressed, blockBytes, differencing, keep) ?? inflated(compressed) : inflated,
      predictorUndone: differencing !== undefined,
      keeps: wasm && keep,
    };
  }
  const decoder = await decoderFor(compression, parameters);
  // geotiff's decoders read a whole ArrayBuffer from byte 0.
  return { decode: async (compressed) => new Uint8Array(await decoder.decode(ownBuffer(compressed))), predictorUndone: false, keeps: false };
}

/** Predictor 2 undone in JavaScript on every whole row of `bytes` (at byte 0 of its buffer), as the codecs do it. */
function undoWholeRows(bytes: Uint8Array, { rowBytes, sampleBytes, pixelBytes }: HorizontalDifferencing): Uint8Array {
  const rowSamples = rowBytes / sampleBytes;
  const samples = Math.floor(bytes.byteLength / rowBytes) * rowSamples;
  undoHorizontalDifferencing(bytes.buffer as ArrayBuffer, sampleBytes, 0, samples, rowSamples, pixelBytes / sampleBytes);
  return bytes;
}

/** `view`, or a copy of it when it does not start at byte 0 of its buffer (pooled small Buffers do not). */
function atByteZero(view: Uint8Array): Uint8Array {
  return view.byteOffset === 0 && view.buffer instanceof ArrayBuffer ? view : new Uint8Array(view);
}

/**
 * The decoder for one image's blocks. JPEG blocks of 1 or 3 components go to libjpeg (sharp); everything else
 * (including JPEG with 2 or 4 interleaved components) to geotiff's registry.
 */
export async function decoderFor(compression: number, parameters: JpegDecoderParameters): Promise<BaseDecoder> {
  if (compression === JPEG_COMPRESSION) {
    const components = blockComponents(parameters);
    if (components === 1 || components === 3) return new SharpJpegDecoder(parameters);
  }
  return getDecoder(compression, parameters);
}
