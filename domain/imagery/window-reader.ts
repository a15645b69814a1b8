import type { GeoTIFF } from 'geotiff';
import type { BlockIndex } from './block-index.js';
import { InvalidInputError } from '../errors.js';
import type { PixelWindow, Raster, TypedArray } from '../types.js';
import { BlockCache, type Held } from './block-cache.js';
import { compressionName, type BlockLayout } from './block-layout.js';
import { finalBlock, keptBlock, nativeSamples, type DecodedBlock } from './block-samples.js';
import { MAX_WASM_BLOCK_BYTES, stageWindow, type DecodedBytes, type StagedWindow } from './codecs/index.js';
import { gatherRows } from './sample-gather.js';
import type { BlockDecoder, BlockDecoding } from './decoders.js';
import { allocateSamples, bytesPerSample, viewSamples } from './dtypes.js';

/** Bound on one file read of adjacent blocks (a remote read holds it in memory whole). */
const MAX_RUN_BYTES = 16 * 1024 * 1024;

/**
 * Reads windows block by block: fetch and decode each block the window touches (geotiff parses the file and
 * decodes), keep decoded blocks in a bounded cache, then copy rows with typed arrays. geotiff's readRasters reads
 * every sample through a DataView call, which cost more than decompression on large windows.
 */
export class WindowReader {
  private readonly cache: BlockCache<DecodedBlock>;
  private readonly sampleBytes: number;
  private readonly decoder: BlockDecoder;
  /** The layout nativeSamples works to: without the predictor when the decoder undoes it. */
  private readonly decodedLayout: BlockLayout;
  /** Windows are assembled in the codecs' memory: bands of pixel-interleaved blocks kept there are copied there. */
  private readonly gathersInCodecMemory: boolean;

  constructor(
    private readonly source: GeoTIFF['source'],
    private readonly layout: BlockLayout,
    /** Offsets and byte counts of every block, checked against the file by readBlockIndex. */
    private readonly index: BlockIndex,
    /** Decodes a block's bytes, with or without the predictor (nativeSamples undoes it if not). */
    decoding: BlockDecoding,
    private readonly nodata: number | null,
    private readonly uri: string,
    cacheBytes: number,
  ) {
    this.cache = new BlockCache<DecodedBlock>(cacheBytes, (block) => block.dispose?.());
    this.sampleBytes = bytesPerSample(layout.dtype);
    this.decoder = decoding.decode;
    this.decodedLayout = decoding.predictorUndone ? { ...layout, predictor: 1 } : layout;
    this.gathersInCodecMemory = decoding.keeps && layout.planarConfiguration === 1 && layout.bands > 1;
  }

  /** `window` must lie inside the image and `bands` be 1-based band numbers (checked by the caller). */
  async read(window: PixelWindow, bands: number[]): Promise<Raster> {
    const { dtype } = this.layout;
    const { width, height } = window;
    const length = bands.length * width * height;
    // Pixel-interleaved blocks hold every band; band-interleaved images have one plane of blocks per band.
    const planes: PlaneTargets[] =
      this.layout.planarConfiguration === 1
        ? [{ plane: 0, targets: bands.map((band, i) => ({ outBand: i, sampleInBlock: band - 1 })) }]
        : bands.map((band, i) => ({ plane: band - 1, targets: [{ outBand: i, sampleInBlock: 0 }] }));
    const blocks = this.blocksOf(window, planes);
    this.loadRuns(blocks.map((b) => b.index));
    // Bands of pixel-interleaved blocks kept in the codecs' memory are gathered there (see stageWindow); a huge
    // window (a whole scene) is assembled in a buffer of its own, as the codecs' memory never shrinks.
    const bytes = length * this.sampleBytes;
    const staged = this.gathersInCodecMemory && bytes <= MAX_WASM_BLOCK_BYTES;
    const out = staged ? stageWindow(bytes, bands.length) : allocateSamples(dtype, length);
    try {
      // Every copy ends before the window is taken or its room freed, even when one fails.
      const copies = await Promise.allSettled(blocks.map(({ bx, by, plane, targets }) => this.copyBlock(bx, by, plane, targets, window, out)));
      const failed = copies.find((c): c is PromiseRejectedResult => c.status === 'rejected');
      if (failed) throw failed.reason;
      const data = isStaged(out) ? viewSamples(dtype, out.take(), 0, length) : out;
      return { dtype, bands: bands.length, width, height, data };
    } finally {
      if (isStaged(out)) out.free();
    }
  }

  /** Decodes the first stored block, so bytes that are not what the header says fail at open, not mid-run. */
  async checkFirstBlock(): Promise<void> {
    const first = this.index.byteCounts.findIndex((count) => count > 0);
    if (first < 0) return;
    const { blocksAcross, blocksDown } = this.layout;
    const plane = Math.floor(first / (blocksAcross * blocksDown));
    const inPlane = first % (blocksAcross * blocksDown);
    const held = this.block(inPlane % blocksAcross, Math.floor(inPlane / blocksAcross), plane);
    try {
      await held.value;
    } finally {
      held.release();
    }
  }

  clear(): void {
    this.cache.clear();
  }

  private async copyBlock(
    bx: number,
    by: number,
    plane: number,
    targets: Target[],
    window: PixelWindow,
    out: TypedArray | StagedWindow,
  ): Promise<void> {
    const held = this.block(bx, by, plane);
    try {
      this.copyRows(await held.value, bx, by, targets, window, out);
    } finally {
      held.release();
    }
  }

  /** Copies the rows of one decoded block that lie in `window` to `out`, synchronously (a kept block's view). */
  private copyRows(decoded: DecodedBlock, bx: number, by: number, targets: Target[], window: PixelWindow, out: TypedArray | StagedWindow): void {
    const { width: imageWidth, height: imageHeight, blockWidth, blockHeight, bands } = this.layout;
    const samplesPerBlockPixel = this.layout.planarConfiguration === 1 ? bands : 1;
    const rowStride = blockWidth * samplesPerBlockPixel;
    const blockX = bx * blockWidth;
    const blockY = by * blockHeight;
    const colStart = Math.max(window.x, blockX);
    const colEnd = Math.min(window.x + window.width, blockX + blockWidth, imageWidth);
    const rowStart = Math.max(window.y, blockY);
    const rowEnd = Math.min(window.y + window.height, blockY + blockHeight, imageHeight);
    const rows = rowEnd - rowStart;
    const count = colEnd - colStart;
    const bandSize = window.width * window.height;
    // Per band: its first sample in the block and in the window.
    const firsts = targets.map(({ outBand, sampleInBlock }): [number, number] => [
      (rowStart - blockY) * rowStride + (colStart - blockX) * samplesPerBlockPixel + sampleInBlock,
      outBand * bandSize + (rowStart - window.y) * window.width + (colStart - window.x),
    ]);
    if (isStaged(out) && decoded.kept) {
      const size = this.sampleBytes;
      const bytes = ([src, dst]: [number, number]) => [src * size, dst * size] as const;
      const step = samplesPerBlockPixel * size;
      out.gather(decoded.kept, { rows, count, sampleBytes: size, step, srcRow: rowStride * size, dstRow: window.width * size, targets: firsts.map(bytes) });
      return;
    }
    const block = decoded.rows(rowStart - blockY, rowEnd - blockY);
    const samples = isStaged(out) ? this.samplesOf(out.bytes()) : out;
    for (const [src, dst] of firsts) {
      if (samplesPerBlockPixel === 1) {
        for (let r = 0; r < rows; r++) {
          samples.set(block.subarray(src + r * rowStride, src + r * rowStride + count), dst + r * window.width);
        }
      } else {
        gatherRows(samples, block, { rows, count, step: samplesPerBlockPixel, src, srcRow: rowStride, dst, dstRow: window.width });
      }
    }
  }

  /** The blocks a window touches, in the file's block order for ascending planes. */
  private blocksOf(window: PixelWindow, planes: PlaneTargets[]): Array<PlaneTargets & { index: number; bx: number; by: number }> {
    const { blockWidth, blockHeight, blocksAcross, blocksDown } = this.layout;
    const { x, y, width, height } = window;
    const blocks: Array<PlaneTargets & { index: number; bx: number; by: number }> = [];
    for (const { plane, targets } of planes) {
      for (let by = Math.floor(y / blockHeight); by <= Math.floor((y + height - 1) / blockHeight); by++) {
        for (let bx = Math.floor(x / blockWidth); bx <= Math.floor((x + width - 1) / blockWidth); bx++) {
          // TIFF block order: planes (band-interleaved only), then rows of blocks, then blocks in a row.
          // (Fields named, not spread: a striped window touches hundreds of blocks.)
          blocks.push({ plane, targets, index: (plane * blocksDown + by) * blocksAcross + bx, bx, by });
        }
      }
    }
    return blocks;
  }

  /**
   * Loads the uncached blocks among `indices` (ascending), reading each run of blocks stored back to back in one
   * file read: a striped image's window spans hundreds of one-row strips, and a read plus a promise each cost more
   * than decoding them. With a synchronous decoder (LZW) the run decodes with no further I/O or worker hop.
   */
  private loadRuns(indices: number[]): void {
    const { offsets, byteCounts } = this.index;
    let i = 0;
    while (i < indices.length) {
      const first = indices[i]!;
      if (!this.loadable(first)) {
        i++;
        continue;
      }
      let end = i + 1;
      let last = first;
      while (end < indices.length) {
        const candidate = indices[end]!;
        const adjacent = candidate === last + 1 && offsets[candidate] === offsets[last]! + byteCounts[last]!;
        if (!adjacent || !this.loadable(candidate)) break;
        if (offsets[candidate]! + byteCounts[candidate]! - offsets[first]! > MAX_RUN_BYTES) break;
        last = candidate;
        end++;
      }
      const run = this.source.fetch([{ offset: offsets[first]!, length: offsets[last]! + byteCounts[last]! - offsets[first]! }]);
      for (let index = first; index <= last; index++) {
        const { bytes } = this.blockShape(index);
        const from = offsets[index]! - offsets[first]!;
        // copyBlock reads the same cached promise and reports a failure (or, the entry gone, loads the block again).
        this.cache
          .get(index, bytes, async () => {
            const [buffer] = await run;
            return this.decode(index, new Uint8Array(buffer!, from, byteCounts[index]!));
          })
          .catch(() => {});
      }
      i = end;
    }
  }

  /**
   * A block loadRuns may read ahead: not cached yet, stored (not sparse), and small enough for the cache to keep
   * until copyBlock takes it; the others block() loads alone.
   */
  private loadable(index: number): boolean {
    return !this.cache.has(index) && this.index.byteCounts[index] !== 0 && this.cache.fits(this.blockShape(index).bytes);
  }

  /** Samples in block `index` and their bytes: a last strip holds only the image's remaining rows. */
  private blockShape(index: number): { rows: number; samples: number; bytes: number } {
    const { blocksAcross, blocksDown, blockWidth, blockHeight, height, bands, planarConfiguration, tiled } = this.layout;
    const by = Math.floor(index / blocksAcross) % blocksDown;
    const rows = tiled ? blockHeight : Math.min(blockHeight, height - by * blockHeight);
    const samples = rows * blockWidth * (planarConfiguration === 1 ? bands : 1);
    return { rows, samples, bytes: samples * this.sampleBytes };
  }

  /** One decoded block, at least as many rows as the image has there, held until released. */
  private block(bx: number, by: number, plane: number): Held<DecodedBlock> {
    const { blocksAcross, blocksDown } = this.layout;
    const index = (plane * blocksDown + by) * blocksAcross + bx;
    const { samples, bytes } = this.blockShape(index);
    return this.cache.acquire(index, bytes, async () => {
      if (this.index.byteCounts[index] === 0) {
        // A sparse block (never written): GDAL reads it as nodata, or 0 without one.
        return finalBlock(allocateSamples(this.layout.dtype, samples).fill(this.nodata ?? 0));
      }
      const offset = this.index.offsets[index]!;
      const [compressed] = await this.source.fetch([{ offset, length: this.index.byteCounts[index]! }]);
      return this.decode(index, new Uint8Array(compressed!));
    });
  }

  /** Decodes one block's stored bytes to native samples; synchronous when the decoder is. */
  private decode(index: number, compressed: Uint8Array): DecodedBlock | Promise<DecodedBlock> {
    const fail = (err: unknown) => {
      const offset = this.index.offsets[index]!;
      // The same bytes fail the same way every time: not worth a retry.
      return new InvalidInputError(
        `${this.uri}: corrupt block: block ${index} (bytes ${offset}-${offset + compressed.length - 1}) is not valid ` +
          `${compressionName(this.layout.compression)} data (${(err as Error).message})`,
      );
    };
    let decoded: DecodedBytes | Promise<Uint8Array>;
    try {
      decoded = this.decoder(compressed);
    } catch (err) {
      // Memory the decoder could not get says nothing about the block: left as it is (retryable).
      if (isOutOfMemory(err)) throw err;
      throw fail(err);
    }
    if (!(decoded instanceof Promise)) return this.blockSamples(index, decoded);
    return decoded.then(
      (buffer) => this.blockSamples(index, buffer),
      (err: unknown) => {
        throw fail(err);
      },
    );
  }

  /** A staged window's bytes as samples. */
  private samplesOf(bytes: Uint8Array): TypedArray {
    return viewSamples(this.layout.dtype, bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength / this.sampleBytes);
  }

  private blockSamples(index: number, decoded: DecodedBytes): DecodedBlock {
    const { rows, bytes } = this.blockShape(index);
    const length = decoded instanceof Uint8Array ? decoded.byteLength : decoded.bytes().byteLength;
    if (length < bytes) {
      if (!(decoded instanceof Uint8Array)) decoded.free();
      throw new InvalidInputError(`${this.uri}: block ${index} decodes to ${length} bytes, expected ${bytes}: corrupt block`);
    }
    if (!(decoded instanceof Uint8Array)) return keptBlock(decoded, this.decodedLayout, rows);
    return nativeSamples(decoded.buffer as ArrayBuffer, this.decodedLayout, rows);
  }
}

/** A band of the window and the sample of a block pixel it comes from. */
interface Target {
  outBand: number;
  sampleInBlock: number;
}

/** A plane of blocks (0 for pixel-interleaved images, the band's for band-interleaved ones) and what it fills. */
interface PlaneTargets {
  plane: number;
  targets: Target[];
}

function isStaged(out: TypedArray | StagedWindow): out is StagedWindow {
  return !ArrayBuffer.isView(out);
}

/** V8's errors for memory it could not allocate: a WebAssembly memory that cannot grow, an ArrayBuffer too large. */
function isOutOfMemory(err: unknown): boolean {
  return err instanceof RangeError && /WebAssembly\.Memory|allocation failed/.test(err.message);
}
