/**
 * Imagery and labels as users have them: a STAC item of single-band COGs read as one image, label files in
 * GeoPackage and FlatGeobuf, local and over HTTP. Fixtures are made with GDAL/OGR from the Olinda scene at test time;
 * GDAL's read of the original file is the reference for pixels, the GeoJSON labels the reference for labels.
 */
import { copyFile, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError, NotFoundError } from '../domain/errors.js';
import { openImage, stacImageUri, type ImageSource } from '../domain/imagery/index.js';
import {
  decodeRle,
  encodeLabel,
  loadLabelSource,
  openLabelWindows,
  readWindowLabelContext,
  windowLabelContext,
  type LabelSource,
} from '../domain/labels/index.js';
import type { MaskTarget } from '../domain/labels/served-label.js';
import type { DetectionLabel, MlType, PixelWindow, Raster, SegmentationLabel } from '../domain/types.js';
import { planWindows, sceneArea, spreadGroupCounts } from '../domain/windows/index.js';
import type { DatasetRecord } from '../domain/catalog/types.js';
import { ingestSpec } from '../client/ingest-options.js';
import { gdalTranslate, makeTempDir, readGdalWindows, removeTempDir, runGdal } from './support/gdal.js';
import { serveFiles, type FileServer } from './support/http-files.js';
import { startS3Server, type S3Server } from './support/s3-server.js';
import { registerRemoteScheme, s3Client, S3File } from '../domain/storage/index.js';
import { OLINDA, startTestStack, type TestStack } from './support/stack.js';

/** ETM+ bands 1, 2, 3, 4, 5, 7 of L7_ETMs.tif, with their STAC common names. */
const BANDS = ['blue', 'green', 'red', 'nir08', 'swir16', 'swir22'];
const ML: MlType[] = ['classification', 'object_detection', 'segmentation'];

let dir: string;
let server: FileServer;
/** The same files in an S3 bucket (a real S3-compatible server): `s3://veda-inputs/<name>`. */
let s3: S3Server;
const S3_DIR = 's3://veda-inputs';

/** A STAC item for the six band files (hrefs relative to the item), written as `name`. */
async function writeItem(name: string, hrefs: string[]): Promise<string> {
  const item = {
    type: 'Feature',
    stac_version: '1.0.0',
    stac_extensions: ['https://stac-extensions.github.io/eo/v1.1.0/schema.json'],
    id: 'LE07_OLINDA_20000101',
    collection: 'landsat-c2-l1',
    geometry: null,
    properties: { datetime: '2000-01-01T12:30:00Z', platform: 'landsat-7', instruments: ['etm+'] },
    links: [],
    assets: {
      thumbnail: { href: 'thumb.png', type: 'image/png', roles: ['thumbnail'] },
      ...Object.fromEntries(
        BANDS.map((band, i) => [
          `B${i + 1}`,
          { href: hrefs[i], type: 'image/tiff; application=geotiff; profile=cloud-optimized', roles: ['data'], 'eo:bands': [{ name: `B${i + 1}`, common_name: band }] },
        ]),
      ),
    },
  };
  const file = path.join(dir, name);
  await writeFile(file, JSON.stringify(item, null, 2));
  return file;
}

beforeAll(async () => {
  dir = await makeTempDir('veda-inputs-');
  for (let b = 1; b <= 6; b++) await gdalTranslate(OLINDA.image, path.join(dir, `band${b}.tif`), ['-b', String(b), '-of', 'COG']);
  await writeItem('item.json', BANDS.map((_, i) => `band${i + 1}.tif`));
  // Band 4 cut one column short and band 5 shifted by a pixel: neither is on band 1's grid.
  await gdalTranslate(path.join(dir, 'band4.tif'), path.join(dir, 'narrow4.tif'), ['-srcwin', '0', '0', '348', '352', '-of', 'COG']);
  await writeItem('narrow.json', BANDS.map((_, i) => (i === 3 ? 'narrow4.tif' : `band${i + 1}.tif`)));
  await gdalTranslate(OLINDA.image, path.join(dir, 'uint16.tif'), ['-b', '5', '-ot', 'UInt16']);
  await writeItem('mixed.json', BANDS.map((_, i) => (i === 4 ? 'uint16.tif' : `band${i + 1}.tif`)));

  await runGdal('ogr2ogr', ['-f', 'GPKG', path.join(dir, 'landcover.gpkg'), OLINDA.labels, '-nln', 'landcover']);
  await runGdal('ogr2ogr', ['-f', 'FlatGeobuf', path.join(dir, 'landcover.fgb'), OLINDA.labels]);
  await runGdal('ogr2ogr', ['-f', 'GPKG', path.join(dir, 'two-layers.gpkg'), OLINDA.labels, '-nln', 'landcover']);
  await runGdal('ogr2ogr', ['-update', '-f', 'GPKG', path.join(dir, 'two-layers.gpkg'), OLINDA.labels4326, '-nln', 'landcover_wgs84']);
  await copyFile(OLINDA.labels, path.join(dir, 'landcover.geojson'));
  server = await serveFiles(dir);
  s3 = await startS3Server();
  await s3.createBucket('veda-inputs');
  registerRemoteScheme('s3', (uri) => new S3File(s3Client(s3.settings), uri));
  for (const name of await readdir(dir)) {
    await s3.client.send(new PutObjectCommand({ Bucket: 'veda-inputs', Key: name, Body: await readFile(path.join(dir, name)) }));
  }
}, 180_000);

afterAll(async () => {
  await server?.close();
  await s3?.stop();
  if (dir) await removeTempDir(dir);
});

function sortedBoxes(label: DetectionLabel): DetectionLabel {
  return label.map((boxes) => [...boxes].sort((a, b) => a.join(',').localeCompare(b.join(','))));
}

function bytes(r: Raster): Buffer {
  return Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength);
}

const WINDOWS: PixelWindow[] = [
  { x: 0, y: 0, width: 64, height: 64 },
  { x: 285, y: 288, width: 64, height: 64 },
  { x: 100, y: 37, width: 130, height: 91 },
  { x: 348, y: 351, width: 1, height: 1 },
];

describe('a STAC item of single-band COGs, read as one image', () => {
  const where = { local: () => path.join(dir, 'item.json'), http: () => `${server.url}/item.json`, s3: () => `${S3_DIR}/item.json` };

  describe.each(['local', 'http', 's3'] as const)('%s', (kind) => {
    it('with three assets in band order: the pixels of GDAL reading those bands of the original file', async () => {
      const image = await openImage(stacImageUri(where[kind](), ['red', 'green', 'B1']));
      try {
        expect(image.info).toMatchObject({ width: 349, height: 352, bands: 3, dtype: 'uint8', epsg: 31985 });
        const reference = await readGdalWindows(OLINDA.image, WINDOWS.map((window) => ({ window, bands: [3, 2, 1] })));
        for (const [i, window] of WINDOWS.entries()) expect(bytes(await image.readWindow(window)).equals(reference[i]!)).toBe(true);
        // A band subset of the stack reads as the same bands of the original.
        const [partial] = await readGdalWindows(OLINDA.image, [{ window: WINDOWS[2]!, bands: [1, 3] }]);
        expect(bytes(await image.readWindow(WINDOWS[2]!, [3, 1])).equals(partial!)).toBe(true);
      } finally {
        await image.close();
      }
    });

    it('with no assets named: its six data assets in order, identical to the original; the scene is known', async () => {
      const image = await openImage(where[kind]());
      const original = await openImage(OLINDA.image);
      try {
        expect(image.info).toMatchObject({ bands: 6, geoTransform: original.info.geoTransform, nodata: original.info.nodata });
        expect(image.info.scene).toEqual({
          id: 'LE07_OLINDA_20000101', collection: 'landsat-c2-l1', datetime: '2000-01-01T12:30:00Z',
          platform: 'landsat-7', instruments: ['etm+'], assets: ['B1', 'B2', 'B3', 'B4', 'B5', 'B6'],
        });
        const reference = await readGdalWindows(OLINDA.image, WINDOWS.map((window) => ({ window })));
        for (const [i, window] of WINDOWS.entries()) expect(bytes(await image.readWindow(window)).equals(reference[i]!)).toBe(true);
      } finally {
        await Promise.all([image.close(), original.close()]);
      }
    });
  });

  it('refuses band files on different grids, naming the files and their grids', async () => {
    const failure = openImage(path.join(dir, 'narrow.json'));
    await expect(failure).rejects.toThrow(InvalidInputError);
    await expect(failure).rejects.toThrow(/not on one pixel grid: .*band1\.tif is 349 x 352 px, origin \(288776\.25.*narrow4\.tif is 348 x 352 px/);
  });

  it('refuses band files of different sample types, naming them', async () => {
    await expect(openImage(path.join(dir, 'mixed.json'))).rejects.toThrow(/differ in sample type: .*band1\.tif is uint8, .*uint16\.tif is uint16/);
  });

  it('says which assets and bands exist when a named one does not', async () => {
    await expect(openImage(stacImageUri(path.join(dir, 'item.json'), ['red', 'nir']))).rejects.toThrow(
      /no asset or band named 'nir' \(assets: thumbnail; B1 \(B1, blue\);.*B4 \(B4, nir08\)/,
    );
  });

  it('reports a missing band file as not found, and a missing item too', async () => {
    await writeItem('missing.json', BANDS.map((_, i) => (i === 2 ? 'nowhere.tif' : `band${i + 1}.tif`)));
    await expect(openImage(path.join(dir, 'missing.json'))).rejects.toThrow(NotFoundError);
    await expect(openImage(`${server.url}/no-item.json`)).rejects.toThrow(NotFoundError);
  });
});

describe('label files in GeoPackage and FlatGeobuf give the labels of the same features in GeoJSON', () => {
  let image: ImageSource;
  let reference: LabelSource;
  beforeAll(async () => {
    image = await openImage(OLINDA.image);
    reference = await loadLabelSource(OLINDA.labels, { classes: OLINDA.classes, imageEpsg: 31985 });
  });
  afterAll(() => image?.close());

  const files = {
    'GeoPackage, local': () => path.join(dir, 'landcover.gpkg'),
    'FlatGeobuf, local': () => path.join(dir, 'landcover.fgb'),
    'GeoPackage over HTTP': () => `${server.url}/landcover.gpkg`,
    'FlatGeobuf over HTTP': () => `${server.url}/landcover.fgb`,
    'GeoJSON over HTTP': () => `${server.url}/landcover.geojson`,
    'GeoPackage in S3': () => `${S3_DIR}/landcover.gpkg`,
    'FlatGeobuf in S3': () => `${S3_DIR}/landcover.fgb`,
  };

  it.each(Object.keys(files) as Array<keyof typeof files>)('%s', async (which) => {
    const labels = await loadLabelSource(files[which](), { classes: OLINDA.classes, imageEpsg: 31985 });
    expect(labels.sourceEpsg).toBe(31985);
    expect(labels.classCounts).toEqual(reference.classCounts);
    expect(labels.classCounts).toEqual([21, 234, 197]);
    const windows = planWindows(image.info, { strategy: 'random', count: 60, seed: 11, tileSize: [48, 48] }, [{ group: 'train', count: 60 }]);
    for (const mlType of ML) {
      for (const w of windows) {
        const got = encodeLabel(mlType, windowLabelContext(labels, image.info.geoTransform, w), {});
        const want = encodeLabel(mlType, windowLabelContext(reference, image.info.geoTransform, w), {});
        if (mlType === 'segmentation') {
          expect(Buffer.from(decodeRle(got as SegmentationLabel)).equals(Buffer.from(decodeRle(want as SegmentationLabel)))).toBe(true);
        } else if (mlType === 'object_detection') {
          // A FlatGeobuf file with a spatial index holds its features in index order: the same boxes, in another order.
          expect(sortedBoxes(got as DetectionLabel)).toEqual(sortedBoxes(want as DetectionLabel));
        } else {
          expect(got).toEqual(want);
        }
      }
    }
  });

  it.each(['local', 'http', 's3'] as const)('a FlatGeobuf file (%s) is read through its spatial index: a window reads only its features', async (kind) => {
    const uri = { local: path.join(dir, 'landcover.fgb'), http: `${server.url}/landcover.fgb`, s3: `${S3_DIR}/landcover.fgb` }[kind];
    const options = { classes: OLINDA.classes, imageEpsg: 31985 };
    const windowed = await openLabelWindows(uri, options);
    expect(windowed.access).toBe('indexed');
    const whole = await loadLabelSource(uri, options);
    const windows = planWindows(image.info, { strategy: 'random', count: 40, seed: 3, tileSize: [64, 64] }, [{ group: 'train', count: 40 }]);
    for (const w of windows) {
      const ctx = await readWindowLabelContext(windowed, image.info.geoTransform, w);
      expect(ctx.features).toEqual(windowLabelContext(whole, image.info.geoTransform, w).features);
      for (const mlType of ML) {
        const want = encodeLabel(mlType, windowLabelContext(reference, image.info.geoTransform, w), {});
        const got = encodeLabel(mlType, ctx, {});
        if (mlType === 'object_detection') expect(sortedBoxes(got as DetectionLabel)).toEqual(sortedBoxes(want as DetectionLabel));
        else expect(got).toEqual(want);
      }
    }
    if (kind === 'http') {
      // After the header and index, one small window costs a few 64 KiB range reads, not the 370 kB file.
      const fresh = await openLabelWindows(uri, options);
      const before = server.ranges.length;
      const features = await fresh.featuresIn([288776.25, 9120760.75 - 20 * 28.5, 288776.25 + 20 * 28.5, 9120760.75]);
      expect(features.length).toBeGreaterThan(0);
      const requested = server.ranges.slice(before).map((r) => {
        const [, from, to] = /bytes=(\d+)-(\d+)/.exec(r ?? '') ?? [];
        return Number(to) - Number(from) + 1;
      });
      const size = (await stat(path.join(dir, 'landcover.fgb'))).size;
      expect(requested.every(Number.isFinite)).toBe(true);
      expect(requested.reduce((a, b) => a + b, 0)).toBeLessThan(size / 2);
    }
  });

  it('a FlatGeobuf file in another CRS than the image is read whole and reprojected', async () => {
    const file = path.join(dir, 'landcover-4326.fgb');
    await runGdal('ogr2ogr', ['-f', 'FlatGeobuf', file, OLINDA.labels4326]);
    const windowed = await openLabelWindows(file, { classes: OLINDA.classes, imageEpsg: 31985 });
    expect(windowed.access).toBe('whole file');
    const w = { x: 40, y: 60, width: 64, height: 64, index: 0, group: 'train' };
    const got = encodeLabel('classification', await readWindowLabelContext(windowed, image.info.geoTransform, w), {});
    expect(got).toEqual(encodeLabel('classification', windowLabelContext(reference, image.info.geoTransform, w), {}));
  });

  it('a GeoPackage with several layers needs --layer, and reprojects the layer it names', async () => {
    const file = path.join(dir, 'two-layers.gpkg');
    await expect(loadLabelSource(file, { classes: OLINDA.classes, imageEpsg: 31985 })).rejects.toThrow(
      /has 2 layers \(landcover, landcover_wgs84\): pick one with --layer/,
    );
    await expect(loadLabelSource(file, { classes: OLINDA.classes, imageEpsg: 31985, layer: 'roads' })).rejects.toThrow(/no layer 'roads'/);
    const wgs84 = await loadLabelSource(file, { classes: OLINDA.classes, imageEpsg: 31985, layer: 'landcover_wgs84' });
    expect(wgs84.sourceEpsg).toBe(4326);
    expect(wgs84.epsg).toBe(31985);
    expect(wgs84.classCounts).toEqual(reference.classCounts);
  });

  it('refuses --layer for a file that is not a GeoPackage, and names a missing URL', async () => {
    await expect(loadLabelSource(path.join(dir, 'landcover.fgb'), { classes: OLINDA.classes, imageEpsg: 31985, layer: 'x' })).rejects.toThrow(
      /--layer applies to GeoPackage labels, and this is flatgeobuf/,
    );
    await expect(loadLabelSource(`${server.url}/none.gpkg`, { classes: OLINDA.classes, imageEpsg: 31985 })).rejects.toThrow(NotFoundError);
  });
});

describe('spreading a plan over scenes', () => {
  it('splits each group by ground area, the shares adding up exactly (largest remainder, ties to the earlier scene)', () => {
    const areas = [sceneArea({ width: 349, height: 352, geoTransform: [0, 28.5, 0, 0, 0, -28.5] }), sceneArea({ width: 150, height: 100, geoTransform: [0, 28.5, 0, 0, 0, -28.5] })];
    expect(spreadGroupCounts([{ group: 'train', count: 40 }, { group: 'test', count: 10 }], areas)).toEqual([
      [{ group: 'train', count: 36 }, { group: 'test', count: 9 }],
      [{ group: 'train', count: 4 }, { group: 'test', count: 1 }],
    ]);
    expect(spreadGroupCounts([{ group: 'train', count: 3 }], [1, 1, 1, 1])).toEqual([[{ group: 'train', count: 1 }], [{ group: 'train', count: 1 }], [{ group: 'train', count: 1 }], []]);
    expect(() => spreadGroupCounts([{ group: 'train', count: 3 }], [0, 0])).toThrow(InvalidInputError);
  });

  it('an ingest spec names every scene once, the first as its image; assets apply to each item', () => {
    const record = { id: 'd', mlType: 'classification', tileSize: [32, 32] } as unknown as DatasetRecord;
    const spec = ingestSpec(record, { image: ['a/item.json', 'b/item.json', 'a/item.json'], assets: ['red'], labels: 'l.fgb', count: 5 });
    expect(spec.image).toBe(`${path.resolve('a/item.json')}#assets=red`);
    expect(spec.scenes).toEqual([`${path.resolve('a/item.json')}#assets=red`, `${path.resolve('b/item.json')}#assets=red`]);
    expect(ingestSpec(record, { image: ['one.tif'], labels: 'l.fgb', count: 5 }).scenes).toBeUndefined();
    expect(() => ingestSpec(record, { image: ['one.tif'], assets: ['red'], labels: 'l.fgb', count: 5 })).toThrow(/STAC item/);
  });
});

describe('ingest workflows from a STAC item and from GeoPackage / FlatGeobuf labels', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  }, 120_000);
  afterAll(async () => {
    await stack?.teardown();
  });

  it('chips of an ingest from three assets of the item are GDAL\'s read of those bands; the scene fills sensors', async () => {
    const coll = await stack.veda().create({ name: 'stac-rgb', mlType: 'segmentation', tileSize: [64, 64], classes: OLINDA.classes });
    const run = await coll.ingest({
      image: `${server.url}/item.json`, assets: ['red', 'green', 'blue'], labels: path.join(dir, 'landcover.fgb'), count: 12, seed: 5,
    });
    const final = await run.result();
    expect(final.posted).toBe(12);
    expect(final.percentCached).toBe(100);
    const doc = await coll.doc();
    expect(doc.shape).toEqual([3, 64, 64]);
    expect(doc.sensors).toEqual(['landsat-7', 'etm+']);
    const pairs = await coll.slice(0, 12);
    const reference = await readGdalWindows(OLINDA.image, pairs.map((p) => ({ window: p.data.window, bands: [3, 2, 1] })));
    const labels = await loadLabelSource(OLINDA.labels, { classes: OLINDA.classes, imageEpsg: 31985 });
    const gt = (await stack.services.catalog.getDataset(coll.id))!;
    expect(gt.sources).toEqual([`${server.url}/item.json#assets=red,green,blue`]);
    for (const [i, p] of pairs.entries()) {
      expect(bytes(await p.image()).equals(reference[i]!)).toBe(true);
      const want = decodeRle(encodeLabel('segmentation', windowLabelContext(labels, [288776.250000803149305, 28.499999999274539, 0, 9120760.750028736889362, 0, -28.499999999274539], p.data.window), {}) as SegmentationLabel);
      expect(Buffer.from((p.y as MaskTarget).data).equals(Buffer.from(want))).toBe(true);
    }
  }, 180_000);

  it('an ingest from all six assets and GeoPackage labels equals one from the original file and GeoJSON', async () => {
    const ingest = async (name: string, image: string, labels: string) => {
      const coll = await stack.veda().create({ name, mlType: 'object_detection', tileSize: [48, 48], classes: OLINDA.classes });
      await (await coll.ingest({ image, labels, count: 10, seed: 9 })).result();
      return coll.slice(0, 10);
    };
    const fromItem = await ingest('stac-all', path.join(dir, 'item.json'), path.join(dir, 'landcover.gpkg'));
    const fromFile = await ingest('tif-all', OLINDA.image, OLINDA.labels);
    expect(fromItem.map((p) => p.data.window)).toEqual(fromFile.map((p) => p.data.window));
    expect(fromItem.map((p) => p.y)).toEqual(fromFile.map((p) => p.y));
    for (const [i, p] of fromItem.entries()) expect(bytes(await p.image()).equals(bytes(await fromFile[i]!.image()))).toBe(true);
  }, 180_000);

  it('several scenes under one plan: counts spread by ground area, each window read from its own scene', async () => {
    const crop = await gdalTranslate(OLINDA.image, path.join(dir, 'crop.tif'), ['-srcwin', '100', '120', '150', '100']);
    const coll = await stack.veda().create({ name: 'two-scenes', mlType: 'classification', tileSize: [32, 32], classes: OLINDA.classes });
    const item = path.join(dir, 'item.json');
    const final = await (await coll.ingest({ image: [item, crop], labels: path.join(dir, 'landcover.fgb'), groups: { train: 40, test: 10 }, seed: 7 })).result();
    expect(final.posted).toBe(50);
    expect(await coll.count()).toEqual({ train: 40, test: 10 });
    // 349 x 352 and 150 x 100 pixels of one size: train 40 -> 35.65 + 4.35 -> 36 + 4; test 10 -> 8.91 + 1.09 -> 9 + 1.
    const pairs = await coll.slice(0, 50);
    const of = (source: string, group: string) => pairs.filter((p) => p.data.source === source && p.data.group === group).length;
    expect([of(item, 'train'), of(item, 'test'), of(crop, 'train'), of(crop, 'test')]).toEqual([36, 9, 4, 1]);
    // The first scene's windows are its own plan of 45, as if it were ingested alone.
    const alone = planWindows({ width: 349, height: 352 }, { strategy: 'random', count: 45, seed: 7, tileSize: [32, 32] }, [
      { group: 'train', count: 36 },
      { group: 'test', count: 9 },
    ]);
    expect(new Set(pairs.filter((p) => p.data.source === item).map((p) => `${p.data.group}:${p.data.window.x},${p.data.window.y}`))).toEqual(
      new Set(alone.map((w) => `${w.group}:${w.x},${w.y}`)),
    );
    for (const source of [item, crop]) {
      const own = pairs.filter((p) => p.data.source === source);
      const reference = await readGdalWindows(source === item ? OLINDA.image : crop, own.map((p) => ({ window: p.data.window })));
      for (const [i, p] of own.entries()) expect(bytes(await p.image()).equals(reference[i]!)).toBe(true);
    }
    const doc = await coll.doc();
    expect(doc.sensors).toEqual(['landsat-7', 'etm+']);
  }, 180_000);

  it('a mismatched item fails the ingest with the message naming the files', async () => {
    const coll = await stack.veda().create({ name: 'stac-bad', mlType: 'classification', tileSize: [32, 32], classes: OLINDA.classes });
    const failure = coll.ingest({ image: path.join(dir, 'narrow.json'), labels: OLINDA.labels, count: 3 }).then((run) => run.result());
    await expect(failure).rejects.toThrow(/narrow4\.tif is 348 x 352 px/);
  }, 120_000);
});
