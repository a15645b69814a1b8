/**
 * A GeoPackage layer read window by window through its R-tree (openLabelWindows) gives, for any window, exactly the
 * features of the whole-file read (loadLabelSource(...).query), and the labels of the same features in GeoJSON.
 * Fixtures are made with ogr2ogr at test time: it writes the R-tree unless told -lco SPATIAL_INDEX=NO.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import initSqlJs from 'sql.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../domain/errors.js';
import { windowBounds, type Bounds } from '../domain/geo/geotransform.js';
import { openGeoPackage, readGeoPackage } from '../domain/labels/geopackage.js';
import { encodeLabel, readWindowLabelContext, windowLabelContext } from '../domain/labels/index.js';
import { loadLabelSource, openLabelWindows, type LabelSource, type LabelSourceOptions, type LabelWindows } from '../domain/labels/index.js';
import type { GeoTransform, MlType, PixelWindow } from '../domain/types.js';
import { GDAL_PYTHON, makeTempDir, removeTempDir, runGdal } from './support/gdal.js';

const DATA = new URL('../examples/data/', import.meta.url).pathname;
const LANDCOVER = join(DATA, 'landcover.geojson');
const LANDCOVER_4326 = join(DATA, 'landcover-4326.geojson');
const OPTIONS: LabelSourceOptions = { classes: ['water', 'vegetation', 'urban'], imageEpsg: 31985 };
/** L7_ETMs.tif: 349 x 352 pixels, EPSG:31985. */
const GT: GeoTransform = [288776.250000803149305, 28.499999999274539, 0, 9120760.750028736889362, 0, -28.499999999274539];
const ML: MlType[] = ['classification', 'object_detection', 'segmentation'];

let dir: string;
const file = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = await makeTempDir('veda-gpkg-');
  await runGdal('ogr2ogr', ['-f', 'GPKG', file('indexed.gpkg'), LANDCOVER, '-nln', 'landcover']);
  await runGdal('ogr2ogr', ['-f', 'GPKG', file('no-index.gpkg'), LANDCOVER, '-nln', 'landcover', '-lco', 'SPATIAL_INDEX=NO']);
  await runGdal('ogr2ogr', ['-f', 'GPKG', file('two-layers.gpkg'), LANDCOVER, '-nln', 'landcover']);
  await runGdal('ogr2ogr', ['-update', '-f', 'GPKG', file('two-layers.gpkg'), LANDCOVER_4326, '-nln', 'landcover_wgs84']);
  // Deleted rows leave gaps in the rowids (the R-tree's triggers drop their boxes): a feature's order is its position.
  await runGdal('ogr2ogr', ['-f', 'GPKG', file('gaps.gpkg'), LANDCOVER, '-nln', 'landcover']);
  await runGdal('ogrinfo', ['-q', '-sql', 'DELETE FROM landcover WHERE fid % 7 = 3 OR fid < 5', file('gaps.gpkg')]);
}, 60_000);

afterAll(async () => {
  if (dir) await removeTempDir(dir);
});

/** 64 x 64 windows every 37 pixels over the image and past its edges (so features straddle windows), single pixels, the whole image. */
function gridBounds(): Bounds[] {
  const windows: PixelWindow[] = [
    { x: 0, y: 0, width: 349, height: 352 },
    { x: 348, y: 351, width: 1, height: 1 },
    { x: 0, y: 0, width: 1, height: 1 },
  ];
  for (let y = -32; y < 352; y += 37) for (let x = -32; x < 349; x += 37) windows.push({ x, y, width: 64, height: 64 });
  return windows.map((w) => windowBounds(GT, w));
}

/** Thin boxes that touch a feature's box on one edge from outside, and ones that miss it by a hair (every third feature). */
function edgeBounds(source: LabelSource): Bounds[] {
  return source.features.filter((_, i) => i % 3 === 0).flatMap(({ bbox: [minX, minY, maxX, maxY] }): Bounds[] => [
    [maxX, minY, maxX + 5, maxY],
    [minX - 5, minY, minX, maxY],
    [minX, maxY, maxX, maxY + 5],
    [minX, minY - 5, maxX, minY],
    [maxX + 1e-6, minY, maxX + 5, maxY],
    [minX, minY - 5, maxX, minY - 1e-6],
  ]);
}

/** Boxes a fifth of the features' extent wide, spread over it (for a source in its own CRS, not the image's). */
function boundsAcross(source: LabelSource): Bounds[] {
  const [minX, minY, maxX, maxY] = source.features.reduce<Bounds>(
    (a, { bbox }) => [Math.min(a[0], bbox[0]), Math.min(a[1], bbox[1]), Math.max(a[2], bbox[2]), Math.max(a[3], bbox[3])],
    [Infinity, Infinity, -Infinity, -Infinity],
  );
  const [width, height] = [maxX - minX, maxY - minY];
  const steps = [0, 0.1, 0.25, 0.5, 0.75, 0.9];
  return steps.flatMap((fy) =>
    steps.map((fx): Bounds => [minX + fx * width, minY + fy * height, minX + (fx + 0.2) * width, minY + (fy + 0.2) * height]),
  );
}

async function expectSameFeatures(windowed: LabelWindows, whole: LabelSource, bounds: Bounds[]): Promise<number> {
  let found = 0;
  for (const b of bounds) {
    const got = await windowed.featuresIn(b);
    const want = whole.query(b);
    // vitest's toEqual walks typed arrays slowly: it only reports a difference node's deep equality found.
    if (!isDeepStrictEqual(got, want)) expect(got).toEqual(want);
    found += got.length;
  }
  return found;
}

describe('a GeoPackage layer with an R-tree is read window by window', () => {
  it('gives the features of the whole-file read, in file order, for windows over and at the edges of features', async () => {
    const windowed = await openLabelWindows(file('indexed.gpkg'), OPTIONS);
    expect(windowed.access).toBe('indexed');
    const whole = await loadLabelSource(file('indexed.gpkg'), OPTIONS);
    expect(await expectSameFeatures(windowed, whole, gridBounds())).toBeGreaterThan(whole.features.length);
    expect(await expectSameFeatures(windowed, whole, edgeBounds(whole))).toBeGreaterThan(whole.features.length);
    // The whole image holds every feature once.
    expect((await windowed.featuresIn(windowBounds(GT, { x: 0, y: 0, width: 349, height: 352 }))).map((f) => f.order)).toEqual(
      whole.features.map((f) => f.order),
    );
  });

  it('reads and converts a feature once for the windows that share it', async () => {
    const windowed = await openLabelWindows(file('indexed.gpkg'), OPTIONS);
    const all = windowBounds(GT, { x: 0, y: 0, width: 349, height: 352 });
    const first = await windowed.featuresIn(all);
    const left = await windowed.featuresIn(windowBounds(GT, { x: 0, y: 0, width: 120, height: 352 }));
    expect(left.length).toBeGreaterThan(0);
    // The same objects: a window's features come from the cache the earlier window filled.
    const byOrder = new Map(first.map((f) => [f.order, f]));
    for (const f of left) expect(f).toBe(byOrder.get(f.order));
  });

  it('numbers features by their position when rowids have gaps', async () => {
    const windowed = await openLabelWindows(file('gaps.gpkg'), OPTIONS);
    expect(windowed.access).toBe('indexed');
    const whole = await loadLabelSource(file('gaps.gpkg'), OPTIONS);
    await expectSameFeatures(windowed, whole, [...gridBounds(), ...edgeBounds(whole)]);
  });

  it('streams a whole layer row by row, read as it is iterated: the features readAll gives, positions 0..n-1', async () => {
    const layer = await openGeoPackage(await readFile(file('gaps.gpkg')), 'gaps.gpkg');
    try {
      const stream = layer.stream();
      const rows = stream.features[Symbol.iterator]();
      const first = rows.next();
      expect(first.done).toBe(false);
      const streamed = [first.value, ...{ [Symbol.iterator]: () => rows }];
      const all = layer.readAll();
      expect(streamed).toEqual(all.features);
      expect(streamed.map((f) => f.order)).toEqual(streamed.map((_, i) => i));
      expect([stream.name, stream.crsName]).toEqual([all.name, all.crsName]);
    } finally {
      layer.close();
    }
  });

  it('reads only the columns a label needs when told which: the rest of the table is left unread', async () => {
    const layer = await openGeoPackage(await readFile(file('indexed.gpkg')), 'indexed.gpkg');
    try {
      const ids = layer.candidates([-Infinity, -Infinity, Infinity, Infinity]).slice(0, 40);
      const every = layer.featuresById(ids);
      expect(Object.keys(every[0]![1].properties).length).toBeGreaterThan(1);
      const some = layer.featuresById(ids, ['class', 'no_such_column', 'geom']);
      expect(some.map(([, f]) => Object.keys(f.properties))).toEqual(ids.map(() => ['class']));
      expect(some.map(([rowid, f]) => [rowid, f.order, f.properties.class, f.polygons])).toEqual(
        every.map(([rowid, f]) => [rowid, f.order, f.properties.class, f.polygons]),
      );
    } finally {
      layer.close();
    }
  });

  it('encodes the labels of the same features in GeoJSON', async () => {
    const windowed = await openLabelWindows(file('indexed.gpkg'), OPTIONS);
    const reference = await loadLabelSource(LANDCOVER, OPTIONS);
    for (let y = 0; y < 352; y += 53) {
      for (let x = 0; x < 349; x += 47) {
        const w = { x, y, width: Math.min(64, 349 - x), height: Math.min(64, 352 - y) };
        const ctx = await readWindowLabelContext(windowed, GT, w);
        for (const mlType of ML) expect(encodeLabel(mlType, ctx, {})).toEqual(encodeLabel(mlType, windowLabelContext(reference, GT, w), {}));
      }
    }
  });

  it('reads the layer it is told, through its R-tree when in the image CRS, else whole and reprojected', async () => {
    const twoLayers = /has 2 layers \(landcover, landcover_wgs84\): pick one with --layer/;
    await expect(openLabelWindows(file('two-layers.gpkg'), OPTIONS)).rejects.toThrow(twoLayers);
    await expect(openLabelWindows(file('two-layers.gpkg'), { ...OPTIONS, layer: 'roads' })).rejects.toThrow(InvalidInputError);
    const indexed = await openLabelWindows(file('two-layers.gpkg'), { ...OPTIONS, layer: 'landcover' });
    expect(indexed.access).toBe('indexed');
    const reprojected = await openLabelWindows(file('two-layers.gpkg'), { ...OPTIONS, layer: 'landcover_wgs84' });
    expect(reprojected.access).toBe('whole file');
    const whole = await loadLabelSource(file('two-layers.gpkg'), { ...OPTIONS, layer: 'landcover_wgs84' });
    await expectSameFeatures(reprojected, whole, gridBounds());
    // In its own CRS (no image CRS to reproject to) the WGS84 layer's R-tree answers lon/lat bounds.
    const lonLat = { ...OPTIONS, imageEpsg: null, layer: 'landcover_wgs84' };
    const own = await openLabelWindows(file('two-layers.gpkg'), lonLat);
    expect(own.access).toBe('indexed');
    const ownWhole = await loadLabelSource(file('two-layers.gpkg'), lonLat);
    await expectSameFeatures(own, ownWhole, [...boundsAcross(ownWhole), ...edgeBounds(ownWhole)]);
  });

  it('reads a layer without an R-tree whole', async () => {
    const windowed = await openLabelWindows(file('no-index.gpkg'), OPTIONS);
    expect(windowed.access).toBe('whole file');
    await expectSameFeatures(windowed, await loadLabelSource(file('indexed.gpkg'), OPTIONS), gridBounds());
  });

  it('reads only the rows near a window: a broken geometry fails the windows over it, as it fails a whole read', async () => {
    const clean = await loadLabelSource(file('indexed.gpkg'), OPTIONS);
    const broken = clean.features[0]!;
    // Its R-tree box stays; the triggers that would update it call GDAL's SQL functions, which sql.js lacks.
    const db = new (await initSqlJs()).Database(await readFile(file('indexed.gpkg')));
    for (const [trigger] of db.exec("select name from sqlite_master where type = 'trigger'")[0]!.values) db.run(`drop trigger "${String(trigger)}"`);
    db.run("update landcover set geom = X'0001020304050607' where fid = ?", [broken.order + 1]);
    await writeFile(file('broken.gpkg'), db.export());
    db.close();
    const message = new RegExp(`broken\\.gpkg: layer 'landcover' row ${broken.order}: the geometry is not a GeoPackage geometry blob`);
    await expect(loadLabelSource(file('broken.gpkg'), OPTIONS)).rejects.toThrow(message);
    const windowed = await openLabelWindows(file('broken.gpkg'), OPTIONS);
    await expect(windowed.featuresIn(broken.bbox)).rejects.toThrow(message);
    const [minX, minY, maxX, maxY] = broken.bbox;
    const away = gridBounds().filter((b) => b[0] > maxX || b[2] < minX || b[1] > maxY || b[3] < minY);
    expect(await expectSameFeatures(windowed, clean, away)).toBeGreaterThan(0);
  });

  it('names a SQLite file that is not a GeoPackage', async () => {
    const db = new (await initSqlJs()).Database();
    db.run('create table t(a); insert into t values (1)');
    await writeFile(file('plain.sqlite'), db.export());
    db.close();
    await expect(openLabelWindows(file('plain.sqlite'), OPTIONS)).rejects.toThrow(/plain\.sqlite is not a GeoPackage/);
  });
});

describe('GeoPackage geometry blobs are read as OGR reads them', () => {
  const MAKE = new URL('./support/gpkg-geometries.py', import.meta.url).pathname;
  let expected: unknown[];
  beforeAll(async () => {
    expected = JSON.parse(await runGdal(GDAL_PYTHON, [MAKE, dir])) as unknown[];
  }, 60_000);

  const polygonsOf = async (name: string) =>
    (await readGeoPackage(await readFile(file(name)), name)).features.map(({ polygons }) =>
      typeof polygons === 'string' ? polygons : polygons.map((rings) => rings.map((ring) => Array.from(ring))),
    );

  it.each(['iso-ndr.gpkg', 'iso-xdr.gpkg', 'ewkb.gpkg'])(
    '%s: polygons with holes and parts, Z / M / ZM read as 2D, unclosed rings closed, other and empty geometries told apart',
    async (name) => {
      expect(expected).toHaveLength(13);
      expect(await polygonsOf(name)).toEqual(expected);
    },
  );

  it('names the row of a damaged WKB and never trusts its counts', async () => {
    const SQL = await initSqlJs();
    const original = new SQL.Database(await readFile(file('iso-ndr.gpkg')));
    const blob = original.exec('select geom from shapes where fid = 1')[0]!.values[0]![0] as Uint8Array;
    original.close();
    const header = 8 + [0, 32, 48, 48, 64][(blob[3]! >> 1) & 7]!;
    const damaged = (change: (wkb: Uint8Array) => Uint8Array) => change(blob.slice());
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ['cut short', damaged((b) => b.subarray(0, b.length - 10)), /row 0: the geometry's WKB cannot be read: it ends at byte \d+, 10 bytes short/],
      ['a ring count of 4 billion', damaged((b) => (new DataView(b.buffer).setUint32(header + 5, 0xfffffff0, true), b)), /row 0: .* bytes short/],
      ['a point count of 4 billion', damaged((b) => (new DataView(b.buffer).setUint32(header + 9, 0xfffffff0, true), b)), /row 0: .* bytes short/],
      ['a byte order of 7', damaged((b) => ((b[header] = 7), b)), /row 0: the geometry's WKB cannot be read: byte 0 should be a byte order/],
      ['a ring of 3 positions', damaged((b) => (new DataView(b.buffer).setUint32(header + 9, 3, true), b)), /row 0: .*ring 0 needs at least 4 positions/],
    ];
    for (const [what, geom, message] of cases) {
      const db = new SQL.Database(await readFile(file('iso-ndr.gpkg')));
      for (const [trigger] of db.exec("select name from sqlite_master where type = 'trigger'")[0]!.values) db.run(`drop trigger "${String(trigger)}"`);
      db.run('update shapes set geom = ? where fid = 1', [geom]);
      const bytes = db.export();
      db.close();
      await expect(readGeoPackage(bytes, 'damaged.gpkg'), what).rejects.toThrow(InvalidInputError);
      await expect(readGeoPackage(bytes, 'damaged.gpkg'), what).rejects.toThrow(message);
    }
  });
});
