/**
 * GDAL as the reference in tests: make fixtures with its command-line tools and read its pixels for comparison.
 * Python's GDAL bindings load only in the system Python (`/usr/bin/python3`), not the pyenv `python3` on PATH.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { SetupError } from '../../domain/errors.js';
import type { Dtype, GeoTransform, PixelWindow, Raster } from '../../domain/types.js';

const execFileAsync = promisify(execFile);

export const GDAL_PYTHON = '/usr/bin/python3';

/** Runs a GDAL command-line tool (gdal_translate, gdalinfo, gdal_rasterize, ogr2ogr, ...) and returns its stdout. */
export async function runGdal(tool: string, args: string[]): Promise<string> {
  return run(tool, args, 'utf8');
}

async function run(command: string, args: string[], encoding: 'utf8'): Promise<string>;
async function run(command: string, args: string[], encoding: 'buffer'): Promise<Buffer>;
async function run(command: string, args: string[], encoding: 'utf8' | 'buffer'): Promise<string | Buffer> {
  try {
    const { stdout } = await execFileAsync(command, args, { encoding, maxBuffer: 1 << 30 });
    return stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string | Buffer };
    if (e.code === 'ENOENT') throw new SetupError(`${command} is not installed (tests need GDAL)`);
    throw new Error(`${command} ${args.join(' ')} failed: ${String(e.stderr ?? e.message).trim()}`);
  }
}

/** A fresh temporary directory; remove it with removeTempDir. */
export function makeTempDir(prefix = 'veda-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export function removeTempDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true });
}

/** gdal_translate `src` to `dst` with extra arguments (creation options, -b, -srcwin, -of ...); returns `dst`. */
export async function gdalTranslate(src: string, dst: string, args: string[] = []): Promise<string> {
  await runGdal('gdal_translate', ['-q', ...args, src, dst]);
  return dst;
}

/** The subset of `gdalinfo -json` that tests compare against. */
export interface GdalInfo {
  size: [number, number];
  geoTransform?: GeoTransform;
  metadata?: Record<string, Record<string, string>>;
  bands: Array<{ band: number; block: [number, number]; type: string; noDataValue?: number | string }>;
  stac?: { 'proj:epsg'?: number | null };
  [key: string]: unknown;
}

export async function gdalInfo(path: string): Promise<GdalInfo> {
  return JSON.parse(await runGdal('gdalinfo', ['-json', path])) as GdalInfo;
}

/**
 * GDAL's geotransform at full double precision (gdalinfo -json rounds to 16 digits); GDAL's default
 * [0, 1, 0, 0, 0, 1] for an image without georeferencing.
 */
export async function gdalGeoTransform(path: string): Promise<GeoTransform> {
  const script = 'import json, sys; from osgeo import gdal; ds = gdal.Open(sys.argv[1]); print(json.dumps(ds.GetGeoTransform()))';
  return JSON.parse(await run(GDAL_PYTHON, ['-c', script, path], 'utf8')) as GeoTransform;
}

/** Where block (x, y) of band 1 is stored in a GeoTIFF: byte offset and size (both 0 for a sparse block). */
export async function gdalBlockLocation(path: string, blockX: number, blockY: number): Promise<{ offset: number; size: number }> {
  const script = [
    'import sys; from osgeo import gdal',
    'ds = gdal.Open(sys.argv[1])  # keep the dataset referenced: its bands die with it',
    'band = ds.GetRasterBand(1)',
    "item = lambda what: band.GetMetadataItem('BLOCK_%s_%s_%s' % (what, sys.argv[2], sys.argv[3]), 'TIFF') or 0",
    "print(item('OFFSET'), item('SIZE'))",
  ].join('\n');
  const [offset, size] = (await run(GDAL_PYTHON, ['-c', script, path, `${blockX}`, `${blockY}`], 'utf8')).trim().split(' ');
  return { offset: Number(offset), size: Number(size) };
}

/** The number of overviews GDAL sees on band 1. */
/** Overwrites block (blockX, blockY) of band 1 with garbage bytes, where GDAL says it lies: a corrupt block. */
export async function corruptBlock(path: string, blockX: number, blockY: number): Promise<void> {
  const { offset, size } = await gdalBlockLocation(path, blockX, blockY);
  const file = await open(path, 'r+');
  await file.write(Buffer.alloc(size, 0xa5), 0, size, offset);
  await file.close();
}

export async function gdalOverviewCount(path: string): Promise<number> {
  const out = await run(
    GDAL_PYTHON,
    ['-c', 'import sys; from osgeo import gdal; ds = gdal.Open(sys.argv[1]); print(ds.GetRasterBand(1).GetOverviewCount())', path],
    'utf8',
  );
  return Number(out.trim());
}

export interface GdalWindowRequest {
  window: PixelWindow;
  /** 1-based band numbers, default all. */
  bands?: number[];
}

const READ_WINDOWS_PY = `
import json, sys
from osgeo import gdal
gdal.UseExceptions()
ds = gdal.Open(sys.argv[1])
chunks = []
for r in json.loads(sys.argv[2]):
    w = r['window']
    a = ds.ReadAsArray(w['x'], w['y'], w['width'], w['height'], band_list=r.get('bands'))
    chunks.append(a.tobytes())
sys.stdout.buffer.write(json.dumps([len(c) for c in chunks]).encode() + b'\\n')
for c in chunks:
    sys.stdout.buffer.write(c)
`;

/**
 * GDAL's pixels for each request, as raw bytes in GDAL's band-sequential [bands, height, width] order and the
 * machine's byte order (what `Raster.data` holds). One Python process reads every request.
 */
export async function readGdalWindows(path: string, requests: GdalWindowRequest[]): Promise<Buffer[]> {
  const out = await run(GDAL_PYTHON, ['-c', READ_WINDOWS_PY, path, JSON.stringify(requests)], 'buffer');
  const newline = out.indexOf(0x0a);
  const sizes = JSON.parse(out.subarray(0, newline).toString('utf8')) as number[];
  const chunks: Buffer[] = [];
  let offset = newline + 1;
  for (const size of sizes) {
    chunks.push(out.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}

/** GDAL data type names; int8 is a Byte band marked SIGNEDBYTE (GDAL < 3.7 has no Int8 type). */
const GDAL_TYPE: Record<Dtype, string> = {
  uint8: 'Byte',
  int8: 'Byte',
  uint16: 'UInt16',
  int16: 'Int16',
  uint32: 'UInt32',
  int32: 'Int32',
  float32: 'Float32',
  float64: 'Float64',
};

/** Creation options a GeoTIFF of `dtype` needs beyond the data type (int8: PIXELTYPE=SIGNEDBYTE). */
export function dtypeCreationOptions(dtype: Dtype): string[] {
  return dtype === 'int8' ? ['-co', 'PIXELTYPE=SIGNEDBYTE'] : [];
}

export interface Georeference {
  geoTransform?: GeoTransform;
  /** Anything GDAL's SetFromUserInput takes: "EPSG:4326", a PROJ string, WKT. */
  srs?: string;
  nodata?: number;
}

/**
 * Writes `raster` as raw little-endian bytes plus a VRT over them, so GDAL tools can translate it into any layout.
 * Returns the VRT path.
 */
export async function writeRasterVrt(dir: string, name: string, raster: Raster, georef: Georeference = {}): Promise<string> {
  const { dtype, bands, width, height, data } = raster;
  const bin = join(dir, `${name}.bin`);
  const vrt = join(dir, `${name}.vrt`);
  await writeFile(bin, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  const size = data.BYTES_PER_ELEMENT;
  const xml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const bandXml = Array.from({ length: bands }, (_, b) =>
    [
      `  <VRTRasterBand dataType="${GDAL_TYPE[dtype]}" band="${b + 1}" subClass="VRTRawRasterBand">`,
      dtype === 'int8' ? '    <Metadata domain="IMAGE_STRUCTURE"><MDI key="PIXELTYPE">SIGNEDBYTE</MDI></Metadata>' : '',
      georef.nodata === undefined ? '' : `    <NoDataValue>${georef.nodata}</NoDataValue>`,
      `    <SourceFilename relativeToVRT="1">${xml(basename(bin))}</SourceFilename>`,
      `    <ImageOffset>${b * width * height * size}</ImageOffset>`,
      `    <PixelOffset>${size}</PixelOffset>`,
      `    <LineOffset>${width * size}</LineOffset>`,
      '    <ByteOrder>LSB</ByteOrder>',
      '  </VRTRasterBand>',
    ]
      .filter(Boolean)
      .join('\n'),
  );
  const header = [
    `<VRTDataset rasterXSize="${width}" rasterYSize="${height}">`,
    georef.srs ? `  <SRS>${xml(georef.srs)}</SRS>` : '',
    georef.geoTransform ? `  <GeoTransform>${georef.geoTransform.join(', ')}</GeoTransform>` : '',
  ].filter(Boolean);
  await writeFile(vrt, [...header, ...bandXml, '</VRTDataset>', ''].join('\n'));
  return vrt;
}
