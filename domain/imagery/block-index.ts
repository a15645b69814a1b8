import type { GeoTIFFImage } from 'geotiff';
import { InvalidInputError } from '../errors.js';
import type { BlockLayout } from './block-layout.js';
import { bytesPerSample } from './dtypes.js';

/** Where every block of the image lies in the file: byte offset and byte count, in TIFF block order. */
export interface BlockIndex {
  offsets: Float64Array;
  byteCounts: Float64Array;
}

/**
 * Bounds that tell a real image from a TIFF bomb (a few bytes that declare an enormous image). A 100,000 x 100,000
 * COG in 256 x 256 tiles has 153k blocks; GDAL's own default block cache is far below the block size cap.
 */
export const MAX_BLOCKS = 4 * 1024 * 1024;
export const MAX_BLOCK_BYTES = 256 * 1024 * 1024;
/** Declared pixel bytes per byte of file: DEFLATE tops out near 1000:1; sparse files keep their blocks' index. */
export const MAX_EXPANSION = 1_000_000;

/** Blocks in the image: planes (band-interleaved only) x rows of blocks x blocks in a row. */
export function blockCount(layout: BlockLayout): number {
  return layout.blocksAcross * layout.blocksDown * (layout.planarConfiguration === 2 ? layout.bands : 1);
}

/** Decoded bytes of one block (a whole tile, or a full-height strip). */
export function blockBytes(layout: BlockLayout): number {
  const samples = layout.blockWidth * layout.blockHeight * (layout.planarConfiguration === 1 ? layout.bands : 1);
  return samples * bytesPerSample(layout.dtype);
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 3 : 0)} MiB`;

/**
 * Reads the block offsets and byte counts and checks them against the file before any pixel is read, so a broken
 * file fails when an ingest is planned, not after its datapoints are posted: the IFD is sane (sizes, one offset per
 * block), the image is not absurdly large for its file (a TIFF bomb), and every block lies inside the file (a
 * truncated download or copy). Throws InvalidInputError naming the file and the problem.
 */
export async function readBlockIndex(image: GeoTIFFImage, layout: BlockLayout, fileSize: number, uri: string): Promise<BlockIndex> {
  const { width, height, bands, blockWidth, blockHeight, tiled } = layout;
  const sane = (n: number) => Number.isSafeInteger(n) && n >= 1;
  if (![width, height, bands].every(sane)) {
    throw new InvalidInputError(`${uri}: corrupt TIFF header: the image is ${width} x ${height} pixels with ${bands} bands`);
  }
  if (![blockWidth, blockHeight].every(sane)) {
    throw new InvalidInputError(`${uri}: corrupt TIFF header: ${tiled ? 'tiles' : 'strips'} of ${blockWidth} x ${blockHeight} pixels`);
  }
  const blocks = blockCount(layout);
  if (blocks > MAX_BLOCKS) {
    throw new InvalidInputError(
      `${uri}: absurd ${tiled ? 'tile' : 'strip'} count: ${width} x ${height} pixels in ${blockWidth} x ${blockHeight} blocks ` +
        `make ${blocks} blocks (veda reads at most ${MAX_BLOCKS}); the file is corrupt or a TIFF bomb`,
    );
  }
  if (blockBytes(layout) > MAX_BLOCK_BYTES) {
    throw new InvalidInputError(
      `${uri}: one ${blockWidth} x ${blockHeight} block decodes to ${mib(blockBytes(layout))} (veda reads blocks up to ` +
        `${mib(MAX_BLOCK_BYTES)}); rewrite it tiled: gdal_translate -co TILED=YES`,
    );
  }
  const declared = width * height * bands * bytesPerSample(layout.dtype);
  if (declared > MAX_EXPANSION * fileSize) {
    throw new InvalidInputError(
      `${uri}: declares ${width} x ${height} x ${bands} pixels (${mib(declared)}) in a file of ${fileSize} bytes: ` +
        'a TIFF bomb or a corrupt header',
    );
  }
  const fd = image.getFileDirectory();
  const tags = tiled ? (['TileOffsets', 'TileByteCounts'] as const) : (['StripOffsets', 'StripByteCounts'] as const);
  for (const tag of tags) {
    // A local read past the end returns zeros, which would make every block look sparse: check where it lies.
    const end = deferredArrayEnd(image, tag);
    if (end !== null && end > fileSize) {
      throw new InvalidInputError(
        `${uri}: truncated: the ${tag} table ends at byte ${end}, past the end of the file (${fileSize} bytes); ` +
          'the download or copy is incomplete',
      );
    }
  }
  const [offsets, byteCounts] = await Promise.all(tags.map((tag) => fd.loadValue(tag)));
  const index = { offsets: Float64Array.from(offsets ?? [], Number), byteCounts: Float64Array.from(byteCounts ?? [], Number) };
  if (index.offsets.length !== blocks || index.byteCounts.length !== blocks) {
    throw new InvalidInputError(
      `${uri}: corrupt TIFF directory: ${blocks} blocks need ${blocks} offsets and byte counts, it holds ` +
        `${index.offsets.length} and ${index.byteCounts.length}`,
    );
  }
  for (let i = 0; i < blocks; i++) {
    const offset = index.offsets[i]!;
    const count = index.byteCounts[i]!;
    if (count === 0) continue; // sparse: never written, read as nodata (as GDAL does)
    if (offset + count > fileSize) {
      throw new InvalidInputError(
        `${uri}: truncated: block ${i} of ${blocks} (bytes ${offset}-${offset + count - 1}) lies past the end of the ` +
          `file (${fileSize} bytes); the download or copy is incomplete`,
      );
    }
    if (offset < 8) throw new InvalidInputError(`${uri}: corrupt TIFF directory: block ${i} starts at byte ${offset}, inside the header`);
  }
  return index;
}

const TAG_IDS = { TileOffsets: 324, TileByteCounts: 325, StripOffsets: 273, StripByteCounts: 279 } as const;

/** Where a large tag array (read lazily by geotiff) ends in the file; null when geotiff already holds its values. */
function deferredArrayEnd(image: GeoTIFFImage, tag: keyof typeof TAG_IDS): number | null {
  // geotiff keeps the location of arrays it has not read yet on the directory; it does not export the type.
  const deferred = (image.getFileDirectory() as unknown as {
    deferredArrays?: Map<number, { arrayOffset: number; itemSize: number; data: ArrayLike<unknown> }>;
  }).deferredArrays?.get(TAG_IDS[tag]);
  return deferred ? deferred.arrayOffset + deferred.data.length * deferred.itemSize : null;
}
