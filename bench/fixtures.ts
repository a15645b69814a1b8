/** The inputs every benchmark shares: the Olinda example scene, the GDAL-made large files, seeded window sets. */
import { execFile } from 'node:child_process';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openImage } from '../domain/imagery/index.js';
import { planWindows } from '../domain/windows/index.js';
import type { ImageInfo, PixelWindow } from '../domain/types.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const OLINDA = {
  image: path.join(root, 'examples/data/L7_ETMs.tif'),
  labels: path.join(root, 'examples/data/landcover.geojson'),
  classes: ['water', 'vegetation', 'urban'],
};

export interface ReadFixture {
  name: string;
  path: string;
}

/**
 * Two 4096 x 4096 files made by gdal_translate from a mosaic of Olinda scenes (real Landsat texture, so they
 * compress like imagery): a uint16 4-band DEFLATE (+ predictor) COG with 512 x 512 tiles, and a uint8 3-band LZW
 * file in GDAL's default strips. Made once into `outDir` and reused.
 */
export async function readFixtures(outDir: string): Promise<ReadFixture[]> {
  const mosaic = await writeMosaicVrt(outDir, 'olinda-mosaic.vrt', await olindaInfo(), { width: 4096, height: 4096 });
  const cog = await translateOnce(mosaic, outDir, 'cog-u16-4096x4096x4-deflate.tif', [
    ...['-of', 'COG', '-b', '1', '-b', '2', '-b', '3', '-b', '4', ...TO_UINT16],
    ...['-co', 'COMPRESS=DEFLATE', '-co', 'PREDICTOR=2', '-co', 'BLOCKSIZE=512'],
  ]);
  const strips = await translateOnce(mosaic, outDir, 'strips-u8-4096x4096x3-lzw.tif', [
    ...['-b', '1', '-b', '2', '-b', '3', '-co', 'COMPRESS=LZW'],
  ]);
  return [
    { name: 'uint16 COG 4096x4096x4 DEFLATE, 512 tiles', path: cog },
    { name: 'uint8 striped 4096x4096x3 LZW', path: strips },
  ];
}

/** The Olinda scene's bytes (0-255) spread over uint16 (0-10000), as a 16-bit sensor's values would be. */
const TO_UINT16 = ['-ot', 'UInt16', '-scale', '0', '255', '0', '10000'];

async function olindaInfo(): Promise<ImageInfo> {
  const scene = await openImage(OLINDA.image);
  await scene.close();
  return scene.info;
}

/**
 * A VRT tiling the Olinda scene over width x height pixels (GDAL clips the sources at the edges), georeferenced
 * as the scene extended right and down: the copy at column i, row j lies i scene widths east, j heights south.
 */
async function writeMosaicVrt(outDir: string, name: string, scene: ImageInfo, size: { width: number; height: number }): Promise<string> {
  const { width, height, bands, geoTransform, epsg } = scene;
  const sources = (band: number) => {
    const out: string[] = [];
    for (let y = 0; y < size.height; y += height) {
      for (let x = 0; x < size.width; x += width) {
        const extent = `xSize="${width}" ySize="${height}"`;
        out.push(
          `<SimpleSource><SourceFilename>${OLINDA.image}</SourceFilename><SourceBand>${band}</SourceBand>` +
            `<SrcRect xOff="0" yOff="0" ${extent}/><DstRect xOff="${x}" yOff="${y}" ${extent}/></SimpleSource>`,
        );
      }
    }
    return out.join('\n');
  };
  const xml = [
    `<VRTDataset rasterXSize="${size.width}" rasterYSize="${size.height}">`,
    `<SRS>EPSG:${epsg}</SRS><GeoTransform>${geoTransform.join(', ')}</GeoTransform>`,
    ...Array.from({ length: bands }, (_, b) => `<VRTRasterBand dataType="Byte" band="${b + 1}">\n${sources(b + 1)}\n</VRTRasterBand>`),
    '</VRTDataset>',
  ].join('\n');
  const file = path.join(outDir, name);
  await writeFile(file, xml);
  return file;
}

/** The end-to-end bench's scene: Olinda tiled `copies` x `copies`, its image and its land-cover polygons. */
export interface SceneFixture {
  image: string;
  /** A GeoPackage (layer `landcover`, R-tree index): `class` holds the class name, `class_id` its mask value. */
  labels: string;
  layer: string;
  classes: string[];
  width: number;
  height: number;
  bands: number;
  features: number;
}

/**
 * Olinda tiled `copies` x `copies` (12: 4188 x 4224 pixels): a uint16 6-band DEFLATE + predictor 2 COG with
 * 256 x 256 tiles, and the 452 land-cover polygons copied with the same shifts, as a GeoPackage. Made once.
 */
export async function sceneFixture(outDir: string, copies: number): Promise<SceneFixture> {
  const info = await olindaInfo();
  const size = { width: info.width * copies, height: info.height * copies };
  const stem = `olinda-${copies}x${copies}`;
  const vrt = await writeMosaicVrt(outDir, `${stem}.vrt`, info, size);
  const image = await translateOnce(vrt, outDir, `${stem}-u16-cog.tif`, [
    ...['-of', 'COG', ...TO_UINT16, '-co', 'COMPRESS=DEFLATE', '-co', 'PREDICTOR=2', '-co', 'BLOCKSIZE=256'],
  ]);
  const { file: labels, features } = await mosaicLabelsOnce(outDir, `${stem}-landcover.gpkg`, info, copies);
  return { image, labels, layer: 'landcover', classes: OLINDA.classes, ...size, bands: info.bands, features };
}

type Coordinates = number[] | Coordinates[];
interface LabelFeature {
  type: 'Feature';
  properties: { class: string };
  geometry: { type: string; coordinates: Coordinates };
}

/** The Olinda polygons copied `copies` x `copies` times, shifted like the scene's copies, into a GeoPackage. */
async function mosaicLabelsOnce(outDir: string, name: string, scene: ImageInfo, copies: number): Promise<{ file: string; features: number }> {
  const file = path.join(outDir, name);
  const source = JSON.parse(await readFile(OLINDA.labels, 'utf8')) as { crs: unknown; features: LabelFeature[] };
  const features = source.features.length * copies * copies;
  if (await exists(file)) return { file, features };
  const [, pixelWidth, , , , pixelHeight] = scene.geoTransform;
  const shift = (c: Coordinates, dx: number, dy: number): Coordinates =>
    typeof c[0] === 'number' ? [(c[0] as number) + dx, (c[1] as number) + dy] : (c as Coordinates[]).map((p) => shift(p, dx, dy));
  const copied: object[] = [];
  for (let j = 0; j < copies; j++) {
    for (let i = 0; i < copies; i++) {
      const [dx, dy] = [i * scene.width * pixelWidth, j * scene.height * pixelHeight];
      for (const f of source.features) {
        copied.push({
          type: 'Feature',
          properties: { class: f.properties.class, class_id: OLINDA.classes.indexOf(f.properties.class) + 1 },
          geometry: { type: f.geometry.type, coordinates: shift(f.geometry.coordinates, dx, dy) },
        });
      }
    }
  }
  const geojson = `${file}.tmp.geojson`;
  await writeFile(geojson, JSON.stringify({ type: 'FeatureCollection', crs: source.crs, features: copied }));
  // ogr2ogr's GeoPackage driver builds the R-tree spatial index by default.
  await promisify(execFile)('ogr2ogr', ['-f', 'GPKG', '-nln', 'landcover', `${file}.tmp.gpkg`, geojson]);
  await rename(`${file}.tmp.gpkg`, file);
  await rm(geojson);
  return { file, features };
}

function exists(file: string): Promise<boolean> {
  return stat(file).then(() => true, () => false);
}

/** gdal_translate `src` into outDir/name unless an earlier run made it (delete bench/.out to remake). */
async function translateOnce(src: string, outDir: string, name: string, args: string[]): Promise<string> {
  const file = path.join(outDir, name);
  if (await exists(file)) return file;
  const tmp = `${file}.tmp.tif`;
  await promisify(execFile)('gdal_translate', ['-q', ...args, src, tmp]);
  await rename(tmp, file);
  return file;
}

/** `rounds` sets of `count` distinct random windows (round i uses seed i), the same for every subject. */
export function windowRounds(size: { width: number; height: number }, tile: number, count: number, rounds: number): PixelWindow[][] {
  return Array.from({ length: rounds }, (_, seed) =>
    planWindows(size, { strategy: 'random', count, seed, tileSize: [tile, tile] }, [{ group: 'train', count }]).map(
      ({ x, y, width, height }) => ({ x, y, width, height }),
    ),
  );
}
