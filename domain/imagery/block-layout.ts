import type { GeoTIFFImage } from 'geotiff';
import { InvalidInputError } from '../errors.js';
import type { Dtype } from '../types.js';
import { JPEG_COMPRESSION } from './decoders.js';

/** How an image's pixels sit in its TIFF blocks (tiles, or strips as full-width blocks). */
export interface BlockLayout {
  width: number;
  height: number;
  bands: number;
  dtype: Dtype;
  tiled: boolean;
  /** Tile size, or (image width, rows per strip) for strips. */
  blockWidth: number;
  blockHeight: number;
  blocksAcross: number;
  blocksDown: number;
  /** 1: pixel-interleaved (one block holds every band), 2: band-interleaved (one block per band). */
  planarConfiguration: 1 | 2;
  compression: number;
  predictor: number;
  littleEndian: boolean;
}

const COMPRESSION_NAMES: Record<number, string> = {
  1: 'none',
  2: 'CCITT RLE',
  3: 'CCITT Group 3',
  4: 'CCITT Group 4',
  5: 'LZW',
  6: 'old-style JPEG',
  7: 'JPEG',
  8: 'DEFLATE',
  32773: 'PACKBITS',
  32946: 'DEFLATE',
  34676: 'SGILOG',
  34677: 'SGILOG24',
  34712: 'JPEG 2000',
  34887: 'LERC',
  34925: 'LZMA',
  50000: 'ZSTD',
  50001: 'WEBP',
  50002: 'JPEG XL',
  52546: 'JPEG XL',
};

/** What veda reads, each checked against GDAL in test/imagery.test.ts. */
const SUPPORTED_COMPRESSIONS = new Set([1, 5, JPEG_COMPRESSION, 8, 32773, 32946, 50000]);

const PREDICTED_COMPRESSIONS = new Set([5, 8, 32946, 50000]);

export function compressionName(code: number): string {
  return COMPRESSION_NAMES[code] ?? `unknown (code ${code})`;
}

const PHOTOMETRIC_YCBCR = 6;

const SAMPLE_FORMAT_NAMES: Record<number, string> = {
  1: 'unsigned integer',
  2: 'signed integer',
  3: 'floating point',
  4: 'undefined',
  5: 'complex integer',
  6: 'complex floating point',
};

/** veda dtypes by TIFF "SampleFormat:BitsPerSample". */
const DTYPE_OF_SAMPLE: Record<string, Dtype> = {
  '1:8': 'uint8',
  '1:16': 'uint16',
  '1:32': 'uint32',
  '2:8': 'int8',
  '2:16': 'int16',
  '2:32': 'int32',
  '3:32': 'float32',
  '3:64': 'float64',
};

/** Reads the block structure of `image` and rejects what veda cannot read exactly, naming the feature. */
export async function describeBlocks(image: GeoTIFFImage, uri: string, littleEndian: boolean): Promise<BlockLayout> {
  const fd = image.getFileDirectory();
  const width = image.getWidth();
  const height = image.getHeight();
  const bands = image.getSamplesPerPixel();
  const compression = Number((await fd.loadValue('Compression')) ?? 1);
  // libtiff applies the predictor only with these codecs and ignores the tag otherwise; so does veda.
  const predictor = PREDICTED_COMPRESSIONS.has(compression) ? Number((await fd.loadValue('Predictor')) ?? 1) : 1;
  const photometric = Number(await fd.loadValue('PhotometricInterpretation'));
  const planar = Number((await fd.loadValue('PlanarConfiguration')) ?? 1);
  const bitsPerSample = Array.from((await fd.loadValue('BitsPerSample')) ?? [1]).map(Number);
  const sampleFormats = Array.from((await fd.loadValue('SampleFormat')) ?? [1]).map(Number);

  if (!SUPPORTED_COMPRESSIONS.has(compression)) {
    throw new InvalidInputError(`${uri}: unsupported TIFF compression ${compressionName(compression)}`);
  }
  if (photometric === PHOTOMETRIC_YCBCR && compression !== JPEG_COMPRESSION) {
    throw new InvalidInputError(`${uri}: unsupported YCbCr photometric interpretation without JPEG compression`);
  }
  if (planar !== 1 && planar !== 2) {
    throw new InvalidInputError(`${uri}: invalid TIFF PlanarConfiguration ${planar}`);
  }
  const format = sampleFormats[0] ?? 1;
  const bits = bitsPerSample[0] ?? 1;
  if (format === 0 || bits === 0) {
    // Tag values that lie past the end of a truncated file are read as zeros.
    throw new InvalidInputError(`${uri}: corrupt TIFF directory (BitsPerSample ${bits}, SampleFormat ${format}): the file is truncated or damaged`);
  }
  const mixed = bitsPerSample.some((b) => b !== bits) || sampleFormats.some((f) => f !== format);
  if (mixed) {
    throw new InvalidInputError(`${uri}: bands with different sample types are not supported`);
  }
  const dtype = DTYPE_OF_SAMPLE[`${format}:${bits}`];
  if (dtype === undefined) {
    const formatName = SAMPLE_FORMAT_NAMES[format] ?? `SampleFormat ${format}`;
    throw new InvalidInputError(`${uri}: unsupported sample type ${bits}-bit ${formatName}`);
  }
  if (predictor !== 1 && predictor !== 2 && predictor !== 3) {
    throw new InvalidInputError(`${uri}: unsupported TIFF predictor ${predictor}`);
  }
  if (predictor === 3 && format !== 3) {
    throw new InvalidInputError(`${uri}: invalid TIFF predictor 3 (floating point) on integer samples`);
  }
  const tiled = image.isTiled;
  const blockWidth = image.getTileWidth();
  const blockHeight = image.getTileHeight();
  return {
    width,
    height,
    bands,
    dtype,
    tiled,
    blockWidth,
    blockHeight,
    blocksAcross: Math.ceil(width / blockWidth),
    blocksDown: Math.ceil(height / blockHeight),
    planarConfiguration: planar,
    compression,
    predictor,
    littleEndian,
  };
}
