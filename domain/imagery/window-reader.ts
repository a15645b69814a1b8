import type { BaseDecoder, GeoTIFF } from 'geotiff';
import type { BlockIndex } from './block-index.js';
import { InvalidInputError } from '../errors.js';
import type { PixelWindow, Raster, TypedArray } from '../types.js';
import { BlockCache } from './block-cache.js';
import { compressionName, type BlockLayout } from './block-layout.js';
import { nativeSamples } from './block-samples.js';
import { allocateSamples, bytesPerSample } from './dtypes.js';

/**
 * Reads windows block by block: fetch and decode each block the window touches (geotiff parses the file and
 * decodes), keep decoded blocks in a bounded cache, then copy rows with typed arrays. geotiff's readRasters reads
 * every sample through a DataView call, which cost more than decompression on large windows.
 */
export class WindowReader {
  private readonly cache: BlockCache<TypedArray>;
  private readonly sampleBytes: number;

  constructor(
    private readonly source: GeoTIFF['source'],
    private readonly layout: BlockLayout,
    /** Offsets and byte counts of every block, checked against the file by readBlockIndex. */
    private readonly index: BlockIndex,
    /** Decodes a block's bytes; built without the predictor, which nativeSamples undoes. */
    private readonly decoder: BaseDecoder,
    private readonly nodata: number | null,
    private readonly uri: string,
    cacheBytes: number,
  ) {
    this.cache = new BlockCache(cacheBytes);
    this.sampleBytes = bytesPerSample(layout.dtype);
  }

  /** `window` must lie inside the image and `bands` be 1-based band numbers (checked by the caller). */
  async read(window: PixelWindow, bands: number[]): Promise<Raster> {
    const { dtype, blockWidth, blockHeight } = this.layout;
    const { x, y, width, height } = window;
    const out = allocateSamples(dtype, bands.length * width * height);
    // Pixel-interleaved blocks hold every band; band-interleaved images have one plane of blocks per band.
    const planes =
      this.layout.planarConfiguration === 1
        ? [{ plane: 0, targets: bands.map((band, i) => ({ outBand: i, sampleInBlock: band - 1 })) }]
        : bands.map((band, i) => ({ plane: band - 1, targets: [{ outBand: i, sampleInBlock: 0 }] }));
    const copies: Promise<void>[] = [];
    for (let by = Math.floor(y / blockHeight); by <= Math.floor((y + height - 1) / blockHeight); by++) {
      for (let bx = Math.floor(x / blockWidth); bx <= Math.floor((x + width - 1) / blockWidth); bx++) {
        for (const { plane, targets } of planes) copies.push(this.copyBlock(bx, by, plane, targets, window, out));
      }
    }
    await Promise.all(copies);
    return { dtype, bands: bands.length, width, height, data: out };
  }

  /** Decodes the first stored block, so bytes that are not what the header says fail at open, not mid-run. */
  async checkFirstBlock(): Promise<void> {
    const first = this.index.byteCounts.findIndex((count) => count > 0);
    if (first < 0) return;
    const { blocksAcross, blocksDown } = this.layout;
    const plane = Math.floor(first / (blocksAcross * blocksDown));
    const inPlane = first % (blocksAcross * blocksDown);
    await this.block(inPlane % blocksAcross, Math.floor(inPlane / blocksAcross), plane);
  }

  clear(): void {
    this.cache.clear();
  }

  private async copyBlock(
    bx: number,
    by: number,
    plane: number,
    targets: Array<{ outBand: number; sampleInBlock: number }>,
    window: PixelWindow,
    out: TypedArray,
  ): Promise<void> {
    const { width: imageWidth, height: imageHeight, blockWidth, blockHeight, bands } = this.layout;
    const samplesPerBlockPixel = this.layout.planarConfiguration === 1 ? bands : 1;
    const block = await this.block(bx, by, plane);
    const rowStride = blockWidth * samplesPerBlockPixel;
    const blockX = bx * blockWidth;
    const blockY = by * blockHeight;
    const colStart = Math.max(window.x, blockX);
    const colEnd = Math.min(window.x + window.width, blockX + blockWidth, imageWidth);
    const rowStart = Math.max(window.y, blockY);
    const rowEnd = Math.min(window.y + window.height, blockY + blockHeight, imageHeight);
    const count = colEnd - colStart;
    const bandSize = window.width * window.height;
    for (const { outBand, sampleInBlock } of targets) {
      for (let row = rowStart; row < rowEnd; row++) {
        const src = (row - blockY) * rowStride + (colStart - blockX) * samplesPerBlockPixel + sampleInBlock;
        const dst = outBand * bandSize + (row - window.y) * window.width + (colStart - window.x);
        if (samplesPerBlockPixel === 1) {
          out.set(block.subarray(src, src + count), dst);
        } else {
          for (let i = 0; i < count; i++) out[dst + i] = block[src + i * samplesPerBlockPixel]!;
        }
      }
    }
  }

  /** The samples of one block, native byte order, at least as many rows as the image has there. */
  private block(bx: number, by: number, plane: number): Promise<TypedArray> {
    const { blocksAcross, blocksDown, blockWidth, blockHeight, height, bands, planarConfiguration, tiled } = this.layout;
    const rows = tiled ? blockHeight : Math.min(blockHeight, height - by * blockHeight);
    const samples = rows * blockWidth * (planarConfiguration === 1 ? bands : 1);
    // TIFF block order: planes (band-interleaved only), then rows of blocks, then blocks in a row.
    const index = (plane * blocksDown + by) * blocksAcross + bx;
    return this.cache.get(index, samples * this.sampleBytes, async () => {
      const offset = this.index.offsets[index]!;
      const byteCount = this.index.byteCounts[index]!;
      if (byteCount === 0) {
        // A sparse block (never written): GDAL reads it as nodata, or 0 without one.
        return allocateSamples(this.layout.dtype, samples).fill(this.nodata ?? 0);
      }
      const [compressed] = await this.source.fetch([{ offset, length: byteCount }]);
      let decoded: ArrayBuffer;
      try {
        decoded = (await this.decoder.decode(compressed!)) as ArrayBuffer;
      } catch (err) {
        // The same bytes fail the same way every time: not worth a retry.
        throw new InvalidInputError(
          `${this.uri}: corrupt block: block ${index} (bytes ${offset}-${offset + byteCount - 1}) is not valid ` +
            `${compressionName(this.layout.compression)} data (${(err as Error).message})`,
        );
      }
      if (decoded.byteLength < samples * this.sampleBytes) {
        throw new InvalidInputError(
          `${this.uri}: block ${index} decodes to ${decoded.byteLength} bytes, expected ` +
            `${samples * this.sampleBytes}: corrupt block`,
        );
      }
      return nativeSamples(decoded, this.layout, rows);
    });
  }
}
