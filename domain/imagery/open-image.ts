import type { ImageInfo, PixelWindow, Raster } from '../types.js';
import { describeBlocks } from './block-layout.js';
import { blockDecoderFor } from './decoders.js';
import { bytesPerSample } from './dtypes.js';
import { stackBands } from './band-stack.js';
import { readImageInfo } from './image-info.js';
import { isStacItemUri, resolveStacImage } from './stac-item.js';
import { openTiff, type OpenTiffOptions } from './tiff-source.js';
import { readBlockIndex } from './block-index.js';
import { assertWindowInImage, resolveBands } from './window-checks.js';
import { WindowReader } from './window-reader.js';

/** An open image. Open one per chunk of windows and reuse it: opening parses the header, and decoded blocks are cached. */
export interface ImageSource {
  info: ImageInfo;
  /** Pixels of `window` for `bands` (1-based like GDAL, default all), band-sequential, in the source dtype. */
  readWindow(window: PixelWindow, bands?: number[]): Promise<Raster>;
  close(): Promise<void>;
}

export interface OpenImageOptions extends OpenTiffOptions {
  /** Bound on decoded blocks kept for reuse by later windows (default 128 MiB). */
  blockCacheBytes?: number;
}

const DEFAULT_BLOCK_CACHE_BYTES = 128 * 1024 * 1024;

/**
 * Opens an image: a GeoTIFF, or a STAC item whose assets (one file per band, or several multi-band files on one
 * grid) are read as one stacked image (see stac-item.ts for the reference form).
 */
export async function openImage(uri: string, options: OpenImageOptions = {}): Promise<ImageSource> {
  if (!isStacItemUri(uri)) return openGeoTiff(uri, options);
  const { files, scene } = await resolveStacImage(uri);
  // The block cache budget is the image's, shared by its files.
  const cacheBytes = Math.floor((options.blockCacheBytes ?? DEFAULT_BLOCK_CACHE_BYTES) / new Set(files.map((f) => f.href)).size);
  const opened = new Map<string, Promise<ImageSource>>();
  const open = (href: string) => {
    let image = opened.get(href);
    if (!image) opened.set(href, (image = openGeoTiff(href, { ...options, blockCacheBytes: cacheBytes })));
    return image;
  };
  try {
    const members = await Promise.all(
      files.map(async ({ href, band }) => {
        const image = await open(href);
        return { image, bands: band === null ? Array.from({ length: image.info.bands }, (_, i) => i + 1) : [band] };
      }),
    );
    return stackBands(uri, members, { scene });
  } catch (err) {
    await Promise.all([...opened.values()].map((p) => p.then((image) => image.close(), () => {})));
    throw err;
  }
}

/**
 * Opens a GeoTIFF / Cloud-Optimized GeoTIFF from a local path or an http(s) URL (read with range requests).
 * Always the full-resolution image, never an overview. Checks the file's structure before any window is read (see
 * readBlockIndex) and decodes its first block, so a broken file fails at open. Errors: NotFoundError for a missing
 * file or an HTTP 404/410; InvalidInputError for anything else wrong with the input (empty, not a TIFF, truncated,
 * corrupt, unsupported compression or sample type, a TIFF bomb, other HTTP 4xx); network failures, timeouts and
 * HTTP 5xx stay ordinary (retryable) errors.
 */
async function openGeoTiff(uri: string, options: OpenImageOptions = {}): Promise<ImageSource> {
  const { tiff, image, fileSize } = await openTiff(uri, options);
  try {
    const layout = await describeBlocks(image, uri, tiff.littleEndian);
    const index = await readBlockIndex(image, layout, fileSize, uri);
    const info = await readImageInfo(image, uri, layout);
    const jpegTables = await image.getFileDirectory().loadValue('JPEGTables');
    const sampleBytes = bytesPerSample(layout.dtype);
    const pixelSamples = layout.planarConfiguration === 1 ? layout.bands : 1;
    // Big-endian samples are swapped before they are summed (block-samples.ts): only native-order ones go to the codecs.
    const nativeOrder = layout.littleEndian || sampleBytes === 1;
    const differencing =
      layout.predictor === 2 && nativeOrder
        ? { rowBytes: layout.blockWidth * pixelSamples * sampleBytes, sampleBytes, pixelBytes: pixelSamples * sampleBytes }
        : undefined;
    // Kept blocks must be final as decoded: native byte order, predictor 2 undone by the codec (3 is the reader's).
    const keep = nativeOrder && layout.predictor !== 3;
    const parameters = {
      tileWidth: layout.blockWidth,
      tileHeight: layout.blockHeight,
      planarConfiguration: layout.planarConfiguration,
      // One entry per band: describeBlocks has checked that every band has the same sample size.
      bitsPerSample: new Array<number>(layout.bands).fill(8 * sampleBytes),
      predictor: 1, // undone by veda's codecs or the reader (block-samples.ts), not geotiff
      JPEGTables: jpegTables ? Uint8Array.from(jpegTables) : undefined,
    };
    const decoding = await blockDecoderFor(layout.compression, parameters, { differencing, keep });
    const cacheBytes = options.blockCacheBytes ?? DEFAULT_BLOCK_CACHE_BYTES;
    const reader = new WindowReader(tiff.source, layout, index, decoding, info.nodata, uri, cacheBytes);
    await reader.checkFirstBlock();
    let closed = false;
    return {
      info,
      async readWindow(window, bands) {
        if (closed) throw new Error(`${uri}: image source is closed`);
        assertWindowInImage(info, window);
        return reader.read(window, resolveBands(info, bands));
      },
      async close() {
        if (closed) return;
        closed = true;
        reader.clear();
        await tiff.close();
      },
    };
  } catch (err) {
    await tiff.close();
    throw err;
  }
}
