/** The inputs every benchmark shares: the Olinda example scene, the GDAL-made large files, seeded window sets. */
import { execFile } from 'node:child_process';
import { rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openImage } from '../domain/imagery/index.js';
import { planWindows } from '../domain/windows/index.js';
import type { PixelWindow } from '../domain/types.js';

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
  const mosaic = await writeMosaicVrt(outDir, 4096);
  const cog = await translateOnce(mosaic, outDir, 'cog-u16-4096x4096x4-deflate.tif', [
    ...['-of', 'COG', '-b', '1', '-b', '2', '-b', '3', '-b', '4', '-ot', 'UInt16', '-scale', '0', '255', '0', '10000'],
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

/** A VRT tiling the Olinda scene over size x size pixels (GDAL clips the sources at the edges). */
async function writeMosaicVrt(outDir: string, size: number): Promise<string> {
  const scene = await openImage(OLINDA.image);
  const { width, height, bands } = scene.info;
  await scene.close();
  const sources = (band: number) => {
    const out: string[] = [];
    for (let y = 0; y < size; y += height) {
      for (let x = 0; x < size; x += width) {
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
    `<VRTDataset rasterXSize="${size}" rasterYSize="${size}">`,
    ...Array.from({ length: bands }, (_, b) => `<VRTRasterBand dataType="Byte" band="${b + 1}">\n${sources(b + 1)}\n</VRTRasterBand>`),
    '</VRTDataset>',
  ].join('\n');
  const file = path.join(outDir, 'olinda-mosaic.vrt');
  await writeFile(file, xml);
  return file;
}

/** gdal_translate `src` into outDir/name unless an earlier run made it (delete bench/.out to remake). */
async function translateOnce(src: string, outDir: string, name: string, args: string[]): Promise<string> {
  const file = path.join(outDir, name);
  if (await stat(file).then(() => true, () => false)) return file;
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
