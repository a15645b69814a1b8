import { createReadStream } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError, NotFoundError, isVedaError } from '../domain/errors.js';
import { bytesOf } from '../domain/imagery/dtypes.js';
import {
  RemoteReadError,
  nodataShare,
  openImage,
  type ImageSource,
} from '../domain/imagery/index.js';
import { windowBounds, windowGeoTransform } from '../domain/geo/index.js';
import type { Dtype, PixelWindow, Raster, TypedArray } from '../domain/types.js';
import {
  dtypeCreationOptions,
  corruptBlock,
  gdalBlockLocation,
  gdalGeoTransform,
  gdalInfo,
  gdalOverviewCount,
  gdalTranslate,
  makeTempDir,
  readGdalWindows,
  removeTempDir,
  writeRasterVrt,
  type GdalWindowRequest,
} from './support/gdal.js';

const L7 = new URL('../examples/data/L7_ETMs.tif', import.meta.url).pathname;

/** Base rasters: sizes that are not multiples of the block sizes used, so edge blocks are partial. */
const WIDTH = 300;
const HEIGHT = 217;

let dir: string;

beforeAll(async () => {
  dir = await makeTempDir('veda-imagery-');
});

afterAll(async () => {
  await removeTempDir(dir);
});

/** A deterministic raster covering the dtype's range (floats include NaN, infinities, -0 and subnormals). */
function baseRaster(dtype: Dtype, bands: number, width = WIDTH, height = HEIGHT, seed = 1): Raster {
  let state = seed >>> 0;
  const next = () => {
    // mulberry32
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const n = bands * width * height;
  let data: TypedArray;
  if (dtype === 'float32' || dtype === 'float64') {
    data = dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
    for (let i = 0; i < n; i++) {
      // Smooth plus noise, so predictors and compressors see image-like data.
      const col = i % width;
      data[i] = Math.sin(col / 17) * 1000 + (next() - 0.5) * 10;
    }
    const specials = [Number.NaN, Infinity, -Infinity, -0, 1e-40, dtype === 'float32' ? 3.4e38 : 1.7e308];
    specials.forEach((v, k) => (data[k * 997 + 5] = v));
  } else {
    const bytes = new Uint8Array(n * { uint8: 1, int8: 1, uint16: 2, int16: 2, uint32: 4, int32: 4 }[dtype]);
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(next() * 256);
    const Ctor = { uint8: Uint8Array, int8: Int8Array, uint16: Uint16Array, int16: Int16Array, uint32: Uint32Array, int32: Int32Array }[dtype];
    data = new Ctor(bytes.buffer);
  }
  return { dtype, bands, width, height, data };
}

const baseVrts = new Map<string, Promise<string>>();
/** The VRT of a base raster, written once per (dtype, bands). */
function baseVrt(dtype: Dtype, bands: number): Promise<string> {
  const name = `base-${dtype}-${bands}`;
  if (!baseVrts.has(name)) {
    baseVrts.set(
      name,
      writeRasterVrt(dir, name, baseRaster(dtype, bands), {
        geoTransform: [500000, 10, 0, 9000000, 0, -10],
        srs: 'EPSG:32725',
      }),
    );
  }
  return baseVrts.get(name)!;
}

/** Windows that hit every edge case of a w x h image: whole image, single pixels, last row/column, block crossings. */
function testWindows(w: number, h: number): PixelWindow[] {
  return [
    { x: 0, y: 0, width: w, height: h },
    { x: 0, y: 0, width: 1, height: 1 },
    { x: w - 1, y: h - 1, width: 1, height: 1 },
    { x: w - 1, y: 0, width: 1, height: h },
    { x: 0, y: h - 1, width: w, height: 1 },
    { x: 37, y: 50, width: 128, height: 100 },
    { x: 64, y: 64, width: 64, height: 64 },
    { x: w - 70, y: h - 45, width: 70, height: 45 },
  ];
}

/** Describes the first byte where `a` and `b` differ, or null when they are equal. */
function firstDifference(a: Uint8Array, b: Uint8Array): string | null {
  if (a.length !== b.length) return `lengths ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `byte ${i}: ${a[i]} vs ${b[i]}`;
  return null;
}

function maxAbsDiff(a: Uint8Array, b: Uint8Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/**
 * Reads every test window (all bands, then a band selection) with veda and with GDAL and compares.
 * `tolerance` 0 means byte-identical.
 */
async function expectSameAsGdal(path: string, tolerance = 0): Promise<ImageSource> {
  const image = await openImage(path);
  const { width, height, bands } = image.info;
  const selection = bands > 1 ? [bands, 1] : [1];
  const requests: GdalWindowRequest[] = testWindows(width, height).flatMap((window) => [
    { window },
    { window, bands: selection },
  ]);
  const reference = await readGdalWindows(path, requests);
  for (const [i, request] of requests.entries()) {
    const raster = await image.readWindow(request.window, request.bands);
    const expectedBands = request.bands?.length ?? bands;
    expect(raster).toMatchObject({ dtype: image.info.dtype, bands: expectedBands, width: request.window.width, height: request.window.height });
    expect(raster.data.length).toBe(expectedBands * request.window.width * request.window.height);
    const what = `${path} window ${JSON.stringify(request)}`;
    if (tolerance === 0) {
      expect(firstDifference(bytesOf(raster.data), reference[i]!), what).toBeNull();
    } else {
      expect(maxAbsDiff(bytesOf(raster.data), reference[i]!), what).toBeLessThanOrEqual(tolerance);
    }
  }
  return image;
}

interface LayoutCase {
  name: string;
  dtype: Dtype;
  bands: number;
  /** gdal_translate arguments (creation options). */
  args: string[];
  /** What gdalinfo must report, so a silently ignored creation option fails the test instead of weakening it. */
  compression: string;
  interleave: 'PIXEL' | 'BAND';
  predictor?: '2' | '3';
  tiled: boolean;
  /** Build from the Landsat scene instead of a base raster (JPEG wants image-like uint8). */
  fromL7?: string[];
  /** Max abs difference from GDAL (JPEG only, see below). */
  tolerance?: number;
}

const tiled = (size = 64) => ['-co', 'TILED=YES', '-co', `BLOCKXSIZE=${size}`, '-co', `BLOCKYSIZE=${size}`];
const strips = (rows: number) => ['-co', `BLOCKYSIZE=${rows}`];
const pixel = ['-co', 'INTERLEAVE=PIXEL'];
const band = ['-co', 'INTERLEAVE=BAND'];
const compress = (c: string, predictor?: number) => [
  '-co',
  `COMPRESS=${c}`,
  ...(predictor ? ['-co', `PREDICTOR=${predictor}`] : []),
];

/**
 * Every dtype, compression, predictor, block layout and interleave appears; not the full product (which would
 * be hundreds of files) but each compression meets several dtypes and both layouts.
 */
const LAYOUTS: LayoutCase[] = [
  { name: 'uint8 uncompressed strips, pixel-interleaved', dtype: 'uint8', bands: 3, args: [...compress('NONE'), ...strips(10), ...pixel], compression: 'NONE', interleave: 'PIXEL', tiled: false },
  { name: 'uint8 LZW + predictor 2 tiles, band-interleaved', dtype: 'uint8', bands: 3, args: [...compress('LZW', 2), ...tiled(), ...band], compression: 'LZW', predictor: '2', interleave: 'BAND', tiled: true },
  { name: 'int8 DEFLATE + predictor 2 strips, pixel-interleaved', dtype: 'int8', bands: 2, args: [...compress('DEFLATE', 2), ...strips(16), ...pixel], compression: 'DEFLATE', predictor: '2', interleave: 'PIXEL', tiled: false },
  { name: 'int8 PACKBITS tiles, band-interleaved', dtype: 'int8', bands: 1, args: [...compress('PACKBITS'), ...tiled(32)], compression: 'PACKBITS', interleave: 'BAND', tiled: true },
  { name: 'int16 ZSTD + predictor 2 tiles, pixel-interleaved', dtype: 'int16', bands: 4, args: [...compress('ZSTD', 2), ...tiled(), ...pixel], compression: 'ZSTD', predictor: '2', interleave: 'PIXEL', tiled: true },
  { name: 'int16 uncompressed tiles, band-interleaved', dtype: 'int16', bands: 2, args: [...compress('NONE'), ...tiled(), ...band], compression: 'NONE', interleave: 'BAND', tiled: true },
  { name: 'uint16 DEFLATE + predictor 2 tiles, pixel-interleaved', dtype: 'uint16', bands: 4, args: [...compress('DEFLATE', 2), ...tiled(), ...pixel], compression: 'DEFLATE', predictor: '2', interleave: 'PIXEL', tiled: true },
  { name: 'uint16 PACKBITS strips, band-interleaved', dtype: 'uint16', bands: 3, args: [...compress('PACKBITS'), ...strips(10), ...band], compression: 'PACKBITS', interleave: 'BAND', tiled: false },
  { name: 'int32 LZW + predictor 2 strips, pixel-interleaved', dtype: 'int32', bands: 3, args: [...compress('LZW', 2), ...strips(10), ...pixel], compression: 'LZW', predictor: '2', interleave: 'PIXEL', tiled: false },
  { name: 'uint32 ZSTD tiles, band-interleaved', dtype: 'uint32', bands: 2, args: [...compress('ZSTD'), ...tiled(), ...band], compression: 'ZSTD', interleave: 'BAND', tiled: true },
  { name: 'uint32 DEFLATE + predictor 2 strips, band-interleaved', dtype: 'uint32', bands: 2, args: [...compress('DEFLATE', 2), ...strips(10), ...band], compression: 'DEFLATE', predictor: '2', interleave: 'BAND', tiled: false },
  { name: 'float32 DEFLATE + predictor 3 tiles, pixel-interleaved', dtype: 'float32', bands: 3, args: [...compress('DEFLATE', 3), ...tiled(), ...pixel], compression: 'DEFLATE', predictor: '3', interleave: 'PIXEL', tiled: true },
  { name: 'float32 LZW + predictor 3 strips, band-interleaved', dtype: 'float32', bands: 2, args: [...compress('LZW', 3), ...strips(10), ...band], compression: 'LZW', predictor: '3', interleave: 'BAND', tiled: false },
  { name: 'float32 PACKBITS tiles, pixel-interleaved', dtype: 'float32', bands: 2, args: [...compress('PACKBITS'), ...tiled(), ...pixel], compression: 'PACKBITS', interleave: 'PIXEL', tiled: true },
  { name: 'float64 ZSTD + predictor 3 tiles, band-interleaved', dtype: 'float64', bands: 2, args: [...compress('ZSTD', 3), ...tiled(), ...band], compression: 'ZSTD', predictor: '3', interleave: 'BAND', tiled: true },
  { name: 'float64 uncompressed strips, pixel-interleaved', dtype: 'float64', bands: 3, args: [...compress('NONE'), ...strips(10), ...pixel], compression: 'NONE', interleave: 'PIXEL', tiled: false },
  // JPEG (lossy): GDAL decodes with libjpeg(-turbo); veda decodes 1- and 3-component blocks with libjpeg-turbo too
  // (through sharp), which gives GDAL's pixels exactly on this machine, and 4-component blocks with geotiff's
  // JavaScript decoder, whose integer IDCT rounds differently from libjpeg's by at most 1. A GDAL built on another
  // libjpeg may round differently as well, so JPEG is held to |veda - GDAL| <= 1.
  { name: 'uint8 JPEG RGB tiles, pixel-interleaved', dtype: 'uint8', bands: 3, fromL7: ['-b', '3', '-b', '2', '-b', '1'], args: [...compress('JPEG'), ...tiled(), ...pixel], compression: 'JPEG', interleave: 'PIXEL', tiled: true, tolerance: 1 },
  { name: 'uint8 JPEG YCbCr strips, pixel-interleaved', dtype: 'uint8', bands: 3, fromL7: ['-b', '3', '-b', '2', '-b', '1', '-srcwin', '0', '0', '349', '347'], args: [...compress('JPEG'), '-co', 'PHOTOMETRIC=YCBCR', ...strips(16)], compression: 'YCbCr JPEG', interleave: 'PIXEL', tiled: false, tolerance: 1 },
  { name: 'uint8 JPEG tiles, band-interleaved', dtype: 'uint8', bands: 3, fromL7: ['-b', '4', '-b', '5', '-b', '6'], args: [...compress('JPEG'), ...tiled(), ...band], compression: 'JPEG', interleave: 'BAND', tiled: true, tolerance: 1 },
  { name: 'uint8 JPEG single band strips', dtype: 'uint8', bands: 1, fromL7: ['-b', '4', '-srcwin', '0', '0', '349', '347'], args: [...compress('JPEG'), ...strips(16)], compression: 'JPEG', interleave: 'BAND', tiled: false, tolerance: 1 },
  { name: 'uint8 JPEG 4 bands, pixel-interleaved', dtype: 'uint8', bands: 4, fromL7: ['-b', '1', '-b', '2', '-b', '3', '-b', '4'], args: [...compress('JPEG'), ...tiled(), ...pixel], compression: 'JPEG', interleave: 'PIXEL', tiled: true, tolerance: 1 },
];

describe('reading windows matches GDAL', () => {
  it.each(LAYOUTS)('a $name GeoTIFF', async (c) => {
    const path = join(dir, `${c.name.replace(/[^a-z0-9]+/gi, '-')}.tif`);
    const src = c.fromL7 ? L7 : await baseVrt(c.dtype, c.bands);
    await gdalTranslate(src, path, [...(c.fromL7 ?? []), ...dtypeCreationOptions(c.dtype), ...c.args]);

    const gdal = await gdalInfo(path);
    const structure = gdal.metadata?.IMAGE_STRUCTURE ?? {};
    expect(structure.COMPRESSION ?? 'NONE').toBe(c.compression);
    if (c.bands > 1) expect(structure.INTERLEAVE).toBe(c.interleave);
    expect(structure.PREDICTOR).toBe(c.predictor);
    const [blockWidth] = gdal.bands[0]!.block;
    expect(blockWidth === gdal.size[0]).toBe(!c.tiled);

    const image = await expectSameAsGdal(path, c.tolerance ?? 0);
    expect(image.info).toMatchObject({ dtype: c.dtype, bands: c.bands, width: gdal.size[0], height: gdal.size[1] });
    await image.close();
  });

  it('reads the Landsat example as shipped (DEFLATE, pixel-interleaved, 6 bands)', async () => {
    const image = await expectSameAsGdal(L7);
    await image.close();
  });

  it('reads a Cloud-Optimized GeoTIFF at full resolution, never an overview', async () => {
    const path = join(dir, 'cog.tif');
    await gdalTranslate(await baseVrt('uint16', 4), path, [
      '-of', 'COG', '-co', 'COMPRESS=DEFLATE', '-co', 'PREDICTOR=YES', '-co', 'BLOCKSIZE=64', '-co', 'OVERVIEWS=AUTO',
    ]);
    expect(await gdalOverviewCount(path)).toBeGreaterThan(0);
    const image = await expectSameAsGdal(path);
    expect(image.info).toMatchObject({ width: WIDTH, height: HEIGHT });
    await image.close();
  });

  it('reads a BigTIFF', async () => {
    const path = join(dir, 'big.tif');
    await gdalTranslate(await baseVrt('int16', 2), path, ['-co', 'BIGTIFF=YES', ...tiled(), ...compress('DEFLATE', 2)]);
    await (await expectSameAsGdal(path)).close();
  });

  it.each([
    { what: 'float32, no predictor', dtype: 'float32', args: [...compress('DEFLATE')] },
    { what: 'uint16, predictor 2', dtype: 'uint16', args: [...compress('LZW', 2), ...band] },
    { what: 'float64, predictor 3', dtype: 'float64', args: [...compress('ZSTD', 3), ...pixel] },
  ] as const)('reads a big-endian TIFF ($what)', async ({ dtype, args }) => {
    const path = join(dir, `big-endian-${dtype}.tif`);
    await gdalTranslate(await baseVrt(dtype, 2), path, ['-co', 'ENDIANNESS=BIG', ...tiled(), ...args]);
    await (await expectSameAsGdal(path)).close();
  });

  it('reads predictor 2 on 64-bit samples', async () => {
    const path = join(dir, 'float64-predictor-2.tif');
    await gdalTranslate(await baseVrt('float64', 2), path, [...compress('LZW', 2), ...strips(10), ...pixel]);
    expect((await gdalInfo(path)).metadata?.IMAGE_STRUCTURE?.PREDICTOR).toBe('2');
    await (await expectSameAsGdal(path)).close();
  });

  it('reads sparse blocks (never written) as nodata, like GDAL', async () => {
    // A base raster whose upper-left 128 x 128 pixels are nodata: GDAL skips writing those four tiles.
    const raster = baseRaster('int16', 2);
    for (let b = 0; b < 2; b++) {
      for (let y = 0; y < 128; y++) raster.data.fill(-7, b * WIDTH * HEIGHT + y * WIDTH, b * WIDTH * HEIGHT + y * WIDTH + 128);
    }
    const vrt = await writeRasterVrt(dir, 'sparse-base', raster, { nodata: -7 });
    const path = await gdalTranslate(vrt, join(dir, 'sparse.tif'), ['-co', 'SPARSE_OK=TRUE', ...tiled(), ...compress('DEFLATE')]);
    expect((await gdalBlockLocation(path, 0, 0)).size).toBe(0);
    expect((await gdalBlockLocation(path, 4, 3)).size).toBeGreaterThan(0);
    const image = await expectSameAsGdal(path);
    expect(image.info.nodata).toBe(-7);
    await image.close();
  });

  it('reads windows concurrently from one open image', async () => {
    const image = await openImage(L7);
    const windows = testWindows(image.info.width, image.info.height);
    const reference = await readGdalWindows(L7, windows.map((window) => ({ window })));
    const rasters = await Promise.all(windows.map((w) => image.readWindow(w)));
    rasters.forEach((r, i) => expect(firstDifference(bytesOf(r.data), reference[i]!)).toBeNull());
    await image.close();
  });

  it('reads windows concurrently through a cache of two blocks as GDAL does (kept blocks evicted, their WebAssembly memory reused)', async () => {
    for (const [name, args] of [
      ['deflate-p2', [...tiled(), ...compress('DEFLATE', 2), ...pixel]],
      ['lzw-strips', [...strips(8), ...compress('LZW'), ...pixel]],
    ] as const) {
      const path = await gdalTranslate(await baseVrt('uint16', 4), join(dir, `two-blocks-${name}.tif`), [...args]);
      const blockBytes = name === 'deflate-p2' ? 64 * 64 * 4 * 2 : WIDTH * 8 * 4 * 2;
      const image = await openImage(path, { blockCacheBytes: 2 * blockBytes });
      let seed = 42;
      const next = (n: number) => (seed = (seed * 1103515245 + 12345) >>> 0) % n;
      const windows = Array.from({ length: 40 }, () => {
        const width = 1 + next(150);
        const height = 1 + next(150);
        return { x: next(WIDTH - width), y: next(HEIGHT - height), width, height };
      });
      const reference = await readGdalWindows(path, windows.map((window) => ({ window })));
      for (let pass = 0; pass < 2; pass++) {
        const rasters = await Promise.all(windows.map((w) => image.readWindow(w)));
        rasters.forEach((r, i) => expect(firstDifference(bytesOf(r.data), reference[i]!), `${name} window ${i}`).toBeNull());
      }
      await image.close();
    }
  });
});

describe('image metadata matches gdalinfo', () => {
  async function expectInfoLikeGdal(path: string) {
    const image = await openImage(path);
    const gdal = await gdalInfo(path);
    expect(image.info).toMatchObject({
      uri: path,
      width: gdal.size[0],
      height: gdal.size[1],
      bands: gdal.bands.length,
      epsg: gdal.stac?.['proj:epsg'] ?? null,
    });
    expect(image.info.geoTransform).toEqual(await gdalGeoTransform(path));
    await image.close();
    return { info: image.info, gdal };
  }

  it('the Landsat example: size, geotransform, EPSG:31985, no nodata', async () => {
    const { info, gdal } = await expectInfoLikeGdal(L7);
    expect(gdal.stac?.['proj:epsg']).toBe(31985);
    expect(info.nodata).toBeNull();
    expect(info.dtype).toBe('uint8');
  });

  it('a geographic CRS gives its EPSG code', async () => {
    const path = await gdalTranslate(L7, join(dir, 'geographic.tif'), ['-a_srs', 'EPSG:4326', '-a_ullr', '-35', '-7.9', '-34.8', '-8.1']);
    const { info } = await expectInfoLikeGdal(path);
    expect(info.epsg).toBe(4326);
  });

  it('a user-defined projection has no EPSG code (not its base geographic CRS)', async () => {
    const srs = '+proj=aea +lat_1=-5 +lat_2=-12 +lat_0=-8 +lon_0=-35 +datum=WGS84 +units=m +no_defs';
    const path = await gdalTranslate(L7, join(dir, 'custom-crs.tif'), ['-a_srs', srs]);
    const { info } = await expectInfoLikeGdal(path);
    expect(info.epsg).toBeNull();
  });

  it('an image without georeferencing has pixel coordinates and no EPSG code', async () => {
    const vrt = await writeRasterVrt(dir, 'plain', baseRaster('uint8', 1, 40, 30));
    const path = await gdalTranslate(vrt, join(dir, 'plain.tif'));
    const { info } = await expectInfoLikeGdal(path);
    expect(info.epsg).toBeNull();
    expect(info.geoTransform).toEqual([0, 1, 0, 0, 0, 1]);
  });

  it('a PixelIsPoint image reports the corner-based geotransform GDAL does', async () => {
    const path = await gdalTranslate(L7, join(dir, 'point.tif'), ['-mo', 'AREA_OR_POINT=Point']);
    const gdal = await gdalInfo(path);
    expect(gdal.metadata?.['']?.AREA_OR_POINT).toBe('Point');
    await expectInfoLikeGdal(path);
  });

  it('a rotated geotransform (ModelTransformation) matches GDAL', async () => {
    const vrt = await writeRasterVrt(dir, 'rotated', baseRaster('uint16', 1, 50, 40), {
      geoTransform: [1000, 8.5, 1.5, 5000, 2.5, -9.25],
      srs: 'EPSG:32725',
    });
    const path = await gdalTranslate(vrt, join(dir, 'rotated.tif'));
    const { info } = await expectInfoLikeGdal(path);
    expect(info.geoTransform).toEqual([1000, 8.5, 1.5, 5000, 2.5, -9.25]);
  });

  it('nodata values from GDAL_NODATA: integer, negative and NaN', async () => {
    const int16 = await gdalTranslate(await baseVrt('int16', 2), join(dir, 'nodata-int16.tif'), ['-a_nodata', '-9999']);
    const float = await gdalTranslate(await baseVrt('float32', 1), join(dir, 'nodata-nan.tif'), ['-a_nodata', 'nan']);
    const uint8 = await gdalTranslate(L7, join(dir, 'nodata-uint8.tif'), ['-a_nodata', '0']);
    for (const [path, expected] of [[int16, -9999], [float, Number.NaN], [uint8, 0]] as const) {
      const { info, gdal } = await expectInfoLikeGdal(path);
      expect(info.nodata).toEqual(expected);
      const fromGdal = gdal.bands[0]!.noDataValue;
      expect(info.nodata).toEqual(typeof fromGdal === 'string' ? Number(fromGdal) : fromGdal);
    }
  });

  it('windowGeoTransform and windowBounds equal the georeferencing of gdal_translate -srcwin', async () => {
    const rotated = await gdalTranslate(
      await writeRasterVrt(dir, 'rotated-2', baseRaster('uint8', 1, 60, 50), { geoTransform: [100, 3, 0.5, 900, 0.25, -4] }),
      join(dir, 'rotated-2.tif'),
    );
    for (const path of [L7, rotated]) {
      const image = await openImage(path);
      for (const w of [{ x: 0, y: 0, width: 20, height: 10 }, { x: 17, y: 23, width: 31, height: 19 }]) {
        const clip = await gdalTranslate(path, join(dir, `srcwin-${w.x}.tif`), ['-srcwin', `${w.x}`, `${w.y}`, `${w.width}`, `${w.height}`]);
        const gdal = await gdalInfo(clip);
        expect(windowGeoTransform(image.info.geoTransform, w)).toEqual(await gdalGeoTransform(clip));
        const corners = Object.values(gdal.cornerCoordinates as Record<string, [number, number]>);
        const bounds = windowBounds(image.info.geoTransform, w);
        const gdalBounds = [
          Math.min(...corners.map((c) => c[0])),
          Math.min(...corners.map((c) => c[1])),
          Math.max(...corners.map((c) => c[0])),
          Math.max(...corners.map((c) => c[1])),
        ];
        // gdalinfo prints corner coordinates rounded to its display precision.
        bounds.forEach((v, i) => expect(v).toBeCloseTo(gdalBounds[i]!, 3));
      }
      await image.close();
    }
  });
});

describe('nodataShare', () => {
  it('counts pixels whose every band is nodata', () => {
    const raster: Raster = { dtype: 'int16', bands: 2, width: 2, height: 2, data: new Int16Array([-1, -1, 5, -1, -1, 7, -1, 8]) };
    // pixel 0: (-1, -1) nodata; pixel 1: (-1, 7) no; pixel 2: (5, -1) no; pixel 3: (-1, 8) no.
    expect(nodataShare(raster, -1)).toBe(0.25);
    expect(nodataShare(raster, null)).toBe(0);
  });

  it('treats NaN nodata as matching NaN pixels', () => {
    const raster: Raster = { dtype: 'float32', bands: 1, width: 3, height: 1, data: new Float32Array([NaN, 1, NaN]) };
    expect(nodataShare(raster, Number.NaN)).toBeCloseTo(2 / 3);
  });
});

describe('reading over HTTP', () => {
  interface Served {
    url: string;
    range: string | undefined;
    status: number;
    bytes: number;
  }
  let server: Server;
  let base: string;
  const log: Served[] = [];

  /** Serves files of the temp dir with single-range support; /norange/ ignores Range; /status/<code> fails. */
  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const url = req.url ?? '/';
      const entry: Served = { url, range: req.headers.range, status: 200, bytes: 0 };
      log.push(entry);
      const failing = /^\/status\/(\d+)/.exec(url);
      if (failing) {
        entry.status = Number(failing[1]);
        res.writeHead(entry.status).end();
        return;
      }
      const ignoreRange = url.startsWith('/norange/');
      const path = join(dir, url.replace(/^\/norange\//, '/'));
      const size = await stat(path).then((s) => s.size, () => -1);
      if (size < 0) {
        entry.status = 404;
        res.writeHead(404).end();
        return;
      }
      const match = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      if (!match || ignoreRange) {
        entry.bytes = size;
        res.writeHead(200, { 'content-length': size, 'accept-ranges': 'none' });
        createReadStream(path).pipe(res);
        return;
      }
      const start = Number(match[1]);
      const end = Math.min(Number(match[2]), size - 1);
      entry.status = 206;
      entry.bytes = end - start + 1;
      res.writeHead(206, {
        'content-length': entry.bytes,
        'content-range': `bytes ${start}-${end}/${size}`,
        'content-type': 'image/tiff',
      });
      createReadStream(path, { start, end }).pipe(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('reads a remote COG with range requests, equal to reading it locally', async () => {
    // 4 bands of random uint16 in 256 x 256 tiles: about 5 MB that barely compresses.
    const vrt = await writeRasterVrt(dir, 'remote-base', baseRaster('uint16', 4, 800, 800, 7), {
      geoTransform: [0, 1, 0, 0, 0, -1],
      srs: 'EPSG:32725',
    });
    const path = await gdalTranslate(vrt, join(dir, 'remote.tif'), ['-of', 'COG', '-co', 'COMPRESS=DEFLATE', '-co', 'BLOCKSIZE=256']);
    const fileSize = (await stat(path)).size;
    log.length = 0;

    const remote = await openImage(`${base}/remote.tif`);
    const local = await openImage(path);
    expect(remote.info).toEqual({ ...local.info, uri: `${base}/remote.tif` });
    const window = { x: 10, y: 20, width: 100, height: 90 };
    const fromRemote = await remote.readWindow(window, [2, 4]);
    expect(firstDifference(bytesOf(fromRemote.data), bytesOf((await local.readWindow(window, [2, 4])).data))).toBeNull();

    expect(log.length).toBeGreaterThan(0);
    expect(log.every((r) => r.range !== undefined && r.status === 206)).toBe(true);
    const served = log.reduce((sum, r) => sum + r.bytes, 0);
    // One 256 x 256 x 4 x 2-byte tile is about 512 KB of the file; the header and tile index a few blocks more.
    expect(served).toBeLessThan(fileSize / 4);

    for (const w of testWindows(800, 800)) {
      const [a, b] = await Promise.all([remote.readWindow(w), local.readWindow(w)]);
      expect(firstDifference(bytesOf(a.data), bytesOf(b.data)), JSON.stringify(w)).toBeNull();
    }
    await Promise.all([remote.close(), local.close()]);
  });

  it('a missing URL is NotFoundError naming the URL', async () => {
    const url = `${base}/nothing-here.tif`;
    await expect(openImage(url)).rejects.toThrow(NotFoundError);
    await expect(openImage(url)).rejects.toThrow(url);
  });

  it('a forbidden URL is InvalidInputError; a server error stays retryable', async () => {
    await expect(openImage(`${base}/status/403`)).rejects.toThrow(InvalidInputError);
    const err = await openImage(`${base}/status/503`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteReadError);
    expect(isVedaError(err)).toBe(false);
  });

  it('a server that ignores Range is InvalidInputError, not a full download per block', async () => {
    await expect(openImage(`${base}/norange/remote.tif`)).rejects.toThrow(/Range/);
    await expect(openImage(`${base}/norange/remote.tif`)).rejects.toThrow(InvalidInputError);
  });
});

describe('errors a user can act on', () => {
  it('a missing file is NotFoundError naming the path', async () => {
    const path = join(dir, 'missing.tif');
    await expect(openImage(path)).rejects.toThrow(NotFoundError);
    await expect(openImage(path)).rejects.toThrow(path);
  });

  it('a directory, a text file and a PNG are InvalidInputError', async () => {
    const folder = join(dir, 'a-folder');
    await mkdir(folder, { recursive: true });
    await expect(openImage(folder)).rejects.toThrow(InvalidInputError);
    const text = join(dir, 'notes.txt');
    await writeFile(text, 'not an image at all\n');
    await expect(openImage(text)).rejects.toThrow(/not a TIFF/);
    const png = await gdalTranslate(L7, join(dir, 'image.png'), ['-of', 'PNG', '-b', '1']);
    await expect(openImage(png)).rejects.toThrow(InvalidInputError);
    await expect(openImage(png)).rejects.toThrow(/not a TIFF/);
    await expect(openImage('')).rejects.toThrow(InvalidInputError);
  });

  it('an unsupported location scheme is InvalidInputError', async () => {
    await expect(openImage('s3://bucket/image.tif')).rejects.toThrow(InvalidInputError);
  });

  it.each([
    { what: 'LZMA compression', args: ['-co', 'COMPRESS=LZMA'], message: /unsupported TIFF compression LZMA/ },
    { what: '1-bit samples', args: ['-b', '1', '-co', 'NBITS=1'], message: /unsupported sample type 1-bit unsigned integer/ },
    { what: 'float16 samples', args: ['-b', '1', '-ot', 'Float32', '-co', 'NBITS=16'], message: /unsupported sample type 16-bit floating point/ },
    { what: 'complex samples', args: ['-b', '1', '-ot', 'CInt16'], message: /unsupported sample type 32-bit complex integer/ },
    {
      what: 'georeferencing by ground control points only',
      args: ['-a_srs', 'EPSG:4326', '-gcp', '0', '0', '-35', '-7.9', '-gcp', '349', '0', '-34.8', '-7.9', '-gcp', '0', '352', '-35', '-8.1'],
      message: /ground control points/,
    },
  ])('$what is InvalidInputError naming it', async ({ what, args, message }) => {
    const path = await gdalTranslate(L7, join(dir, `${what.replace(/\W+/g, '-')}.tif`), args);
    const err = await openImage(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toContain(path);
  });

  it('a corrupt block is InvalidInputError naming the file; other blocks still read', async () => {
    const path = await gdalTranslate(L7, join(dir, 'corrupt.tif'), [...tiled(), ...compress('DEFLATE')]);
    await corruptBlock(path, 1, 1);
    const image = await openImage(path);
    const err = await image.readWindow({ x: 70, y: 70, width: 8, height: 8 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as Error).message).toContain(path);
    expect((err as Error).message).toMatch(/corrupt block: block 7 .* is not valid DEFLATE data/);
    const clean = { x: 200, y: 200, width: 20, height: 20 };
    const [reference] = await readGdalWindows(path, [{ window: clean }]);
    expect(firstDifference(bytesOf((await image.readWindow(clean)).data), reference!)).toBeNull();
    await image.close();
  });

  it('a corrupt block larger than the block cache fails its read once, and leaves no unhandled rejection', async () => {
    const path = await gdalTranslate(L7, join(dir, 'corrupt-uncached.tif'), [...tiled(), ...compress('DEFLATE')]);
    await corruptBlock(path, 1, 1);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      // A cache smaller than one block keeps nothing: each block is loaded for its reader alone.
      const image = await openImage(path, { blockCacheBytes: 1024 });
      const err = await image.readWindow({ x: 70, y: 70, width: 8, height: 8 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidInputError);
      expect((err as Error).message).toMatch(/corrupt block: block 7 .* is not valid DEFLATE data/);
      const clean = { x: 200, y: 200, width: 20, height: 20 };
      const [reference] = await readGdalWindows(path, [{ window: clean }]);
      expect(firstDifference(bytesOf((await image.readWindow(clean)).data), reference!)).toBeNull();
      await image.close();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a corrupt first block fails at open, before any window is planned', async () => {
    const path = await gdalTranslate(L7, join(dir, 'corrupt-first.tif'), [...tiled(), ...compress('DEFLATE')]);
    await corruptBlock(path, 0, 0);
    const err = await openImage(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as Error).message).toContain(`${path}: corrupt block: block 0`);
  });

  it('a window outside the image or bad band numbers are InvalidInputError', async () => {
    const image = await openImage(L7);
    const { width, height } = image.info;
    for (const w of [
      { x: -1, y: 0, width: 10, height: 10 },
      { x: 0, y: 0, width: width + 1, height: 10 },
      { x: width - 5, y: height - 5, width: 10, height: 5 },
      { x: 0, y: 0, width: 0, height: 10 },
      { x: 0.5, y: 0, width: 10, height: 10 },
    ]) {
      await expect(image.readWindow(w), JSON.stringify(w)).rejects.toThrow(InvalidInputError);
    }
    const w = { x: 0, y: 0, width: 4, height: 4 };
    for (const bands of [[0], [7], [1.5], []]) {
      await expect(image.readWindow(w, bands), JSON.stringify(bands)).rejects.toThrow(InvalidInputError);
    }
    await image.close();
    await expect(image.readWindow(w)).rejects.toThrow(/closed/);
  });
});
