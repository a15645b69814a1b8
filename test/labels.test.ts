import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { InvalidInputError, NotFoundError } from '../domain/errors.js';
import { invertGeoTransform, windowGeoTransform } from '../domain/geo/index.js';
import { packWindowRings } from '../domain/labels/ring-runs.js';
import { loadedLabel, storedLabel } from '../domain/catalog/stored-label.js';
import {
  PIXEL_EPSILON,
  decodeRle,
  encodeLabel,
  encodeRle,
  encodeRlePacked,
  featureAnchors,
  loadLabelSource,
  packRuns,
  unpackRuns,
  windowLabelContext,
  type LabelSource,
} from '../domain/labels/index.js';
import type { DetectionLabel, GeoTransform, LabelOptions, MlType, PixelWindow, SegmentationLabel } from '../domain/types.js';
import { planWindows } from '../domain/windows/index.js';
import { GDAL_PYTHON, makeTempDir, removeTempDir } from './support/gdal.js';

const DATA = new URL('../examples/data/', import.meta.url).pathname;
const LANDCOVER = join(DATA, 'landcover.geojson');
const LANDCOVER_4326 = join(DATA, 'landcover-4326.geojson');
const CLASSES = ['water', 'vegetation', 'urban'];
/** L7_ETMs.tif: 349 x 352, EPSG:31985, as gdalinfo reports it. */
const IMAGE = { width: 349, height: 352 };
const OLINDA_GT: GeoTransform = [288776.250000803149305, 28.499999999274539, 0, 9120760.750028736889362, 0, -28.499999999274539];
/** The same grid moved by a fraction of a pixel, so every polygon edge crosses pixels instead of running between them. */
const SHIFTED_GT: GeoTransform = [OLINDA_GT[0] + 0.3 * OLINDA_GT[1], OLINDA_GT[1], 0, OLINDA_GT[3] + 0.45 * OLINDA_GT[5], 0, OLINDA_GT[5]];

/**
 * The reference: GDAL burns the features of known classes (value = class index + 1, in file order) into a raster
 * with each window's geotransform (gdal.Rasterize is gdal_rasterize's library form), with and without ALL_TOUCHED;
 * OGR/GEOS clips each feature to the window (less the PIXEL_EPSILON inset veda documents) and converts the
 * envelope of the polygonal result to pixels.
 */
const GDAL_LABELS_PY = `
import sys, json, base64, math
from osgeo import gdal, ogr, osr
gdal.UseExceptions(); ogr.UseExceptions()
job = json.load(open(sys.argv[1]))
EPS = job['eps']
classes = job['classes']
src = ogr.Open(job['vector'])
layer = src.GetLayer(0)
mem = gdal.GetDriverByName('Memory').Create('', 0, 0, 0, gdal.GDT_Unknown)
burn = mem.CreateLayer('burn', srs=layer.GetSpatialRef(), geom_type=ogr.wkbUnknown)
burn.CreateField(ogr.FieldDefn('burn', ogr.OFTInteger))
features = []
for f in layer:
    i = f.GetFieldIndex('class')
    c = f.GetField(i) if i >= 0 else None
    g = f.GetGeometryRef()
    if c not in classes or g is None: continue
    out = ogr.Feature(burn.GetLayerDefn()); out.SetField('burn', classes.index(c) + 1); out.SetGeometry(g.Clone())
    burn.CreateFeature(out)
    if job['boxes']: features.append((classes.index(c), g.Clone()))
srs = osr.SpatialReference(); srs.ImportFromEPSG(job['epsg'])
def snap_floor(v): return round(v) if abs(v - round(v)) < EPS else math.floor(v)
def snap_ceil(v): return round(v) if abs(v - round(v)) < EPS else math.ceil(v)
def polygonal(g):
    t = ogr.GT_Flatten(g.GetGeometryType())
    if t in (ogr.wkbPolygon, ogr.wkbMultiPolygon): return [g] if g.GetArea() > 0 else []
    if t == ogr.wkbGeometryCollection: return [p for i in range(g.GetGeometryCount()) for p in polygonal(g.GetGeometryRef(i))]
    return []
results = []
for w in job['windows']:
    gt, W, H = w['gt'], w['width'], w['height']
    res = {}
    for at in (False, True):
        ds = gdal.GetDriverByName('MEM').Create('', W, H, 1, gdal.GDT_Byte)
        ds.SetGeoTransform(gt); ds.SetProjection(srs.ExportToWkt())
        gdal.Rasterize(ds, mem, layers=['burn'], attribute='burn', allTouched=at)
        res['allTouched' if at else 'centre'] = base64.b64encode(ds.ReadAsArray().tobytes()).decode()
    ring = ogr.Geometry(ogr.wkbLinearRing)
    for px, py in [(EPS, EPS), (W - EPS, EPS), (W - EPS, H - EPS), (EPS, H - EPS), (EPS, EPS)]:
        ring.AddPoint_2D(*gdal.ApplyGeoTransform(gt, px, py))
    window = ogr.Geometry(ogr.wkbPolygon); window.AddGeometry(ring)
    inv = gdal.InvGeoTransform(gt)
    boxes = [[] for _ in classes]
    for c, g in features:
        parts = polygonal(g.Intersection(window)) if g.Intersects(window) else []
        if not parts: continue
        xs, ys = [], []
        for p in parts:
            minx, maxx, miny, maxy = p.GetEnvelope()
            for x, y in ((minx, miny), (minx, maxy), (maxx, miny), (maxx, maxy)):
                px, py = gdal.ApplyGeoTransform(inv, x, y); xs.append(px); ys.append(py)
        box = [max(0, snap_floor(min(xs))), max(0, snap_floor(min(ys))), min(W, snap_ceil(max(xs))), min(H, snap_ceil(max(ys)))]
        if box[2] > box[0] and box[3] > box[1]: boxes[c].append(box)
    res['boxes'] = boxes
    results.append(res)
json.dump(results, open(sys.argv[2], 'w'))
`;

interface GdalWindowLabels {
  centre: Uint8Array;
  allTouched: Uint8Array;
  boxes: DetectionLabel;
}

let dir: string;
let jobs = 0;

/**
 * GDAL's masks and boxes for each window of an image with geotransform `gt`, from one Python process. Without
 * `boxes` every box list is empty (GEOS cannot clip invalid polygons, which the masks take as they are).
 */
async function gdalLabels(vector: string, gt: GeoTransform, windows: readonly PixelWindow[], boxes = true): Promise<GdalWindowLabels[]> {
  const job = join(dir, `job-${++jobs}.json`);
  const out = join(dir, `out-${jobs}.json`);
  await writeFile(
    job,
    JSON.stringify({
      vector,
      classes: CLASSES,
      boxes,
      epsg: 31985,
      eps: PIXEL_EPSILON,
      windows: windows.map((w) => ({ gt: windowGeoTransform(gt, w), width: w.width, height: w.height })),
    }),
  );
  await promisify(execFile)(GDAL_PYTHON, [join(dir, 'gdal_labels.py'), job, out]);
  const parsed = JSON.parse(await readFile(out, 'utf8')) as Array<{ centre: string; allTouched: string; boxes: DetectionLabel }>;
  return parsed.map((r) => ({
    centre: new Uint8Array(Buffer.from(r.centre, 'base64')),
    allTouched: new Uint8Array(Buffer.from(r.allTouched, 'base64')),
    boxes: r.boxes,
  }));
}

function label(source: LabelSource, gt: GeoTransform, w: PixelWindow, mlType: MlType, options: LabelOptions = {}) {
  return encodeLabel(mlType, windowLabelContext(source, gt, w), options);
}

function mask(source: LabelSource, gt: GeoTransform, w: PixelWindow, allTouched: boolean): Uint8Array {
  return decodeRle(label(source, gt, w, 'segmentation', { allTouched }) as SegmentationLabel);
}

function differingPixels(a: Uint8Array, b: Uint8Array): number {
  expect(a.length).toBe(b.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

function expectInvalid(promise: Promise<unknown>, mentions: string | RegExp): Promise<void> {
  return expect(promise).rejects.toSatisfy((err: unknown) => {
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as Error).message).toMatch(mentions);
    return true;
  });
}

// Windows over the scene: random tiles, the corners, an odd shape and the whole image.
const WINDOWS: PixelWindow[] = [
  ...planWindows(IMAGE, { strategy: 'random', count: 20, seed: 7, tileSize: [64, 64] }, [{ group: 'train', count: 20 }]),
  { x: 0, y: 0, width: 64, height: 64 },
  { x: 285, y: 288, width: 64, height: 64 },
  { x: 100, y: 50, width: 128, height: 32 },
  { x: 0, y: 0, width: 349, height: 352 },
].map(({ x, y, width, height }) => ({ x, y, width, height }));

/** A synthetic scene with power-of-two pixels, so pixel coordinates like 2.5 are exact and ties are real ties. */
const SYNTHETIC_GT: GeoTransform = [500000, 8, 0, 9000000, 0, -8];
const SYNTHETIC_WINDOWS: PixelWindow[] = [
  { x: 0, y: 0, width: 48, height: 40 },
  { x: 5, y: 7, width: 32, height: 24 },
  { x: 20, y: 0, width: 28, height: 17 },
];

type Ring = Array<[number, number]>;
/** GeoJSON features from rings in pixel coordinates of the synthetic scene. */
function syntheticFeature(cls: string | null, polygons: Ring[][]): object {
  const world = (ring: Ring) => ring.map(([px, py]) => [SYNTHETIC_GT[0] + px * SYNTHETIC_GT[1], SYNTHETIC_GT[3] + py * SYNTHETIC_GT[5]]);
  const coordinates = polygons.map((polygon) => polygon.map(world));
  return {
    type: 'Feature',
    properties: cls === null ? {} : { class: cls },
    geometry: polygons.length === 1 ? { type: 'Polygon', coordinates: coordinates[0] } : { type: 'MultiPolygon', coordinates },
  };
}
const collection = (features: object[]) => ({
  type: 'FeatureCollection',
  crs: { type: 'name', properties: { name: 'EPSG:31985' } },
  features,
});
const rect = (x0: number, y0: number, x1: number, y1: number): Ring => [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]];

/**
 * 16 random star-shaped polygons (some with holes, one multipolygon) over a 48 x 40 px tile whose left edge is at
 * x = dx, with vertices anywhere (no ties with the grid) or, given `grid`, rounded to multiples of 1 / grid px.
 */
function randomFeatures(seed: number, dx = 0, grid?: number): object[] {
  let state = seed;
  const next = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const snap = (v: number) => (grid === undefined ? v : Math.round(v * grid) / grid);
  const star = (cx: number, cy: number, rMin: number, rMax: number, reverse: boolean): Ring => {
    const n = 3 + Math.floor(next() * 7);
    const ring: Ring = Array.from({ length: n }, (_, k) => {
      const angle = ((k + next() * 0.8) / n) * 2 * Math.PI;
      const r = rMin + next() * (rMax - rMin);
      return [snap(cx + r * Math.cos(angle)), snap(cy + r * Math.sin(angle))] as [number, number];
    });
    if (reverse) ring.reverse();
    return [...ring, ring[0]!];
  };
  const features: object[] = [];
  for (let i = 0; i < 16; i++) {
    const cx = dx - 4 + next() * 56;
    const cy = -4 + next() * 48;
    const cls = CLASSES[Math.floor(next() * 3)]!;
    const outer = star(cx, cy, 4, 4 + next() * 9, next() < 0.5);
    if (i % 4 === 1) features.push(syntheticFeature(cls, [[outer, star(cx, cy, 0.8, 1.9, next() < 0.5)]]));
    else if (i === 6) features.push(syntheticFeature(cls, [[outer], [star(cx + 15, cy - 3, 1.5, 4, false)]]));
    else features.push(syntheticFeature(cls, [[outer]]));
  }
  return features;
}
const RANDOM_SCENE = collection([...randomFeatures(12345), syntheticFeature('cloud', [[rect(1.3, 1.2, 30.7, 30.1)]])]);

/** Edges through pixel centres or corners, in both ring orientations, a hole, pixel-aligned and overlapping squares. */
const TIE_POLYGONS: Array<[string, Ring[][]]> = [
  ['water', [[rect(2.5, 2.5, 6.5, 5.5)]]],
  ['vegetation', [[rect(10.5, 2.5, 14.5, 5.5).reverse()]]],
  ['urban', [[rect(20.5, 1.5, 30.5, 11.5), rect(23.5, 4.5, 27.5, 8.5)]]],
  ['water', [[[[3.5, 15.5], [12.5, 15.5], [3.5, 24.5], [3.5, 15.5]]]]],
  ['vegetation', [[[[20.5, 15.5], [25.5, 20.5], [20.5, 25.5], [15.5, 20.5], [20.5, 15.5]]]]],
  ['urban', [[rect(34, 14, 40, 20)]]],
  ['water', [[rect(34, 25, 42, 33)]]],
  ['vegetation', [[rect(38, 29, 46, 37)]]],
];
const TIE_SCENE = collection(TIE_POLYGONS.map(([cls, polygons]) => syntheticFeature(cls, polygons)));

let landcover: LabelSource;
let landcover4326: LabelSource;
let gdalOlinda: GdalWindowLabels[];
let gdalShifted: GdalWindowLabels[];

beforeAll(async () => {
  dir = await makeTempDir('veda-labels-');
  await writeFile(join(dir, 'gdal_labels.py'), GDAL_LABELS_PY);
  landcover = await loadLabelSource(LANDCOVER, { classes: CLASSES, imageEpsg: 31985 });
  landcover4326 = await loadLabelSource(LANDCOVER_4326, { classes: CLASSES, imageEpsg: 31985 });
  [gdalOlinda, gdalShifted] = await Promise.all([gdalLabels(LANDCOVER, OLINDA_GT, WINDOWS), gdalLabels(LANDCOVER, SHIFTED_GT, WINDOWS)]);
});

afterAll(async () => {
  await removeTempDir(dir);
});

describe('label sources', () => {
  it('read the GeoJSON CRS, classes and counts of the Olinda land cover', async () => {
    const raw = JSON.parse(await readFile(LANDCOVER, 'utf8')) as { features: Array<{ properties: { class: string } }> };
    const expected = CLASSES.map((c) => raw.features.filter((f) => f.properties.class === c).length);
    expect(landcover.sourceEpsg).toBe(31985);
    expect(landcover.epsg).toBe(31985);
    expect(landcover.classCounts).toEqual(expected);
    expect(landcover.features).toHaveLength(raw.features.length);
    expect(landcover.skipped).toEqual({ unknownClass: 0, missingClass: 0, unsupportedGeometry: 0, emptyGeometry: 0 });
    expect(landcover4326.sourceEpsg).toBe(4326);
    expect(landcover4326.classCounts).toEqual(expected);
  });

  it('convert a large file in turns of the event loop, so a worker reading it still heartbeats', async () => {
    const raw = JSON.parse(await readFile(LANDCOVER, 'utf8')) as { crs: unknown; features: unknown[] };
    const features = Array.from({ length: 20 }, () => raw.features).flat(); // 9,040 features
    const turns = vi.spyOn(globalThis, 'setImmediate');
    try {
      const source = await loadLabelSource({ type: 'FeatureCollection', crs: raw.crs, features }, { classes: CLASSES, imageEpsg: 31985 });
      expect(source.features).toHaveLength(features.length);
      expect(turns.mock.calls.length).toBeGreaterThanOrEqual(2); // one every 4,096 features
    } finally {
      turns.mockRestore();
    }
  });

  it('map classes in the given order and count the features of other classes', async () => {
    const raw = JSON.parse(await readFile(LANDCOVER, 'utf8')) as { features: Array<{ properties: { class: string } }> };
    const source = await loadLabelSource(LANDCOVER, { classes: ['urban', 'water'], imageEpsg: 31985 });
    expect(source.classCounts).toEqual(['urban', 'water'].map((c) => raw.features.filter((f) => f.properties.class === c).length));
    expect(source.skipped.unknownClass).toBe(raw.features.filter((f) => f.properties.class === 'vegetation').length);
    expect(source.unknownClassValues).toEqual(['vegetation']);
    expect(source.features.every((f) => ['urban', 'water'][f.classIndex] === raw.features[f.order]!.properties.class)).toBe(true);
  });

  it('skip and count features without a class, without geometry or with points and lines', async () => {
    const square = { geometry: { type: 'Polygon', coordinates: [rect(-34.9, -8, -34.8, -7.9)] } };
    const source = await loadLabelSource(
      {
        type: 'FeatureCollection',
        features: [
          { type: 'Feature', properties: { kind: 'water' }, geometry: square.geometry },
          { type: 'Feature', properties: { kind: null }, geometry: square.geometry },
          { type: 'Feature', properties: { kind: 'water' }, geometry: null },
          { type: 'Feature', properties: { kind: 'water' }, geometry: { type: 'Point', coordinates: [-34.9, -8] } },
          { type: 'Feature', properties: { kind: 'urban' }, geometry: { type: 'LineString', coordinates: [[-34.9, -8], [-34.8, -8]] } },
          { type: 'Feature', properties: { kind: 'urban' }, geometry: { type: 'MultiPolygon', coordinates: [] } },
          { type: 'Feature', properties: {}, geometry: square.geometry },
        ],
      },
      { classProperty: 'kind', classes: ['water', 'urban'], imageEpsg: null },
    );
    expect(source.features.map((f) => f.order)).toEqual([0]);
    expect(source.skipped).toEqual({ unknownClass: 0, missingClass: 2, unsupportedGeometry: 2, emptyGeometry: 2 });
    expect(source.epsg).toBe(4326); // no image CRS: the labels stay in their own
  });

  it('find the features of a window as a scan of every bounding box does', () => {
    let state = 99;
    const next = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    for (let i = 0; i < 200; i++) {
      const x = 288000 + next() * 11000;
      const y = 9110000 + next() * 11000;
      const bounds: [number, number, number, number] = [x, y, x + next() * 3000, y + next() * 3000];
      const scan = landcover.features.filter((f) => f.bbox[0] <= bounds[2] && f.bbox[2] >= bounds[0] && f.bbox[1] <= bounds[3] && f.bbox[3] >= bounds[1]);
      expect(landcover.query(bounds).map((f) => f.order)).toEqual(scan.map((f) => f.order));
    }
  });

  it('give each feature an anchor at its bounding-box centre in image pixels', async () => {
    const source = await loadLabelSource(collection([syntheticFeature('water', [[rect(10, 30, 20, 40)]])]), { classes: CLASSES, imageEpsg: 31985 });
    expect(featureAnchors(source, SYNTHETIC_GT)).toEqual([{ x: 15, y: 35 }]);
    // A features plan built on them puts every feature's anchor inside its window.
    const anchors = featureAnchors(landcover, OLINDA_GT);
    const windows = planWindows(IMAGE, { strategy: 'features', tileSize: [64, 64], seed: 1, jitter: 0 }, [{ group: 'train', count: 0 }], anchors);
    expect(windows).toHaveLength(anchors.filter((a) => a.x >= 0 && a.y >= 0 && a.x <= 349 && a.y <= 352).length);
    for (const w of windows) {
      const inside = anchors.filter((a) => a.x >= w.x && a.x <= w.x + 64 && a.y >= w.y && a.y <= w.y + 64);
      expect(inside.length, JSON.stringify(w)).toBeGreaterThan(0);
    }
  });

  it('reject missing files, invalid GeoJSON, unusable CRSs and files with no feature of the classes', async () => {
    const options = { classes: CLASSES, imageEpsg: 31985 };
    await expect(loadLabelSource(join(dir, 'nope.geojson'), options)).rejects.toThrow(NotFoundError);
    await expect(loadLabelSource(join(dir, 'nope.geojson'), options)).rejects.toThrow('nope.geojson does not exist');
    await writeFile(join(dir, 'broken.geojson'), '{"type": "FeatureCollection", "features": [');
    await expectInvalid(loadLabelSource(join(dir, 'broken.geojson'), options), /broken\.geojson is not valid JSON/);
    await expectInvalid(loadLabelSource({ type: 'Feature' }, options), 'is not a GeoJSON FeatureCollection');
    const bad = (geometry: object) => ({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: { class: 'water' }, geometry }] });
    await expectInvalid(loadLabelSource(bad({ type: 'Polygon', coordinates: [[[0, 0], [1, 1], [0, 0]]] }), options), 'feature 0 (Polygon): ring 0 needs at least 4 positions');
    await expectInvalid(loadLabelSource(bad({ type: 'Polygon', coordinates: [[[0, 0], [1, 'a'], [1, 1], [0, 0]]] }), options), 'not [x, y] numbers');
    const withCrs = (name: string) => ({ ...collection([syntheticFeature('water', [[rect(0, 0, 4, 4)]])]), crs: { type: 'name', properties: { name } } });
    await expectInvalid(loadLabelSource(withCrs('EPSG:999999'), options), 'EPSG:999999');
    await expectInvalid(loadLabelSource(withCrs('my local grid'), options), "declares CRS 'my local grid'");
    const { crs: _crs, ...projectedWithoutCrs } = collection([syntheticFeature('water', [[rect(0, 0, 4, 4)]])]);
    await expectInvalid(loadLabelSource(projectedWithoutCrs, options), 'feature 0 has coordinates outside longitude/latitude range');
    await expectInvalid(loadLabelSource(LANDCOVER, { classes: ['forest', 'road'], imageEpsg: 31985 }), /no polygon feature whose 'class' is one of forest, road \(found: .*water/);
    await expectInvalid(loadLabelSource(LANDCOVER, { classes: ['water', 'water'], imageEpsg: 31985 }), "class 'water' is listed twice");
    await expectInvalid(loadLabelSource(LANDCOVER, { classes: [], imageEpsg: 31985 }), 'at least one class');
    await expectInvalid(loadLabelSource(LANDCOVER, { classes: CLASSES, imageEpsg: 999999 }), 'EPSG:999999');
  });
});

describe('segmentation masks', () => {
  it('equal gdal_rasterize on the Olinda windows, pixel-centre rule and all-touched', () => {
    WINDOWS.forEach((w, i) => {
      expect(differingPixels(mask(landcover, OLINDA_GT, w, false), gdalOlinda[i]!.centre), `centre ${JSON.stringify(w)}`).toBe(0);
      expect(differingPixels(mask(landcover, OLINDA_GT, w, true), gdalOlinda[i]!.allTouched), `all touched ${JSON.stringify(w)}`).toBe(0);
    });
    // Not a trivial comparison: every class is burned somewhere.
    const whole = gdalOlinda[WINDOWS.length - 1]!.centre;
    expect([1, 2, 3].every((v) => whole.includes(v))).toBe(true);
  });

  it('equal gdal_rasterize when every edge crosses pixels (the grid moved by a fraction of a pixel)', () => {
    let allTouchedExtra = 0;
    WINDOWS.forEach((w, i) => {
      const centre = mask(landcover, SHIFTED_GT, w, false);
      const touched = mask(landcover, SHIFTED_GT, w, true);
      expect(differingPixels(centre, gdalShifted[i]!.centre), `centre ${JSON.stringify(w)}`).toBe(0);
      expect(differingPixels(touched, gdalShifted[i]!.allTouched), `all touched ${JSON.stringify(w)}`).toBe(0);
      allTouchedExtra += differingPixels(centre, touched);
    });
    expect(allTouchedExtra).toBeGreaterThan(1000); // here all-touched really differs from the centre rule
  });

  it('equal gdal_rasterize on random polygons with holes, multipolygons and overlaps', async () => {
    const vector = join(dir, 'random.geojson');
    await writeFile(vector, JSON.stringify(RANDOM_SCENE));
    const source = await loadLabelSource(RANDOM_SCENE, { classes: CLASSES, imageEpsg: 31985 });
    expect(source.skipped.unknownClass).toBe(1);
    const gdal = await gdalLabels(vector, SYNTHETIC_GT, SYNTHETIC_WINDOWS);
    SYNTHETIC_WINDOWS.forEach((w, i) => {
      expect(differingPixels(mask(source, SYNTHETIC_GT, w, false), gdal[i]!.centre), `centre ${JSON.stringify(w)}`).toBe(0);
      expect(differingPixels(mask(source, SYNTHETIC_GT, w, true), gdal[i]!.allTouched), `all touched ${JSON.stringify(w)}`).toBe(0);
      expect(label(source, SYNTHETIC_GT, w, 'object_detection'), `boxes ${JSON.stringify(w)}`).toEqual(gdal[i]!.boxes);
    });
  });

  it('equal gdal_rasterize on long rings that wander far past the windows, which veda cuts short', async () => {
    // Rings of hundreds of vertices, mostly beyond the windows' sides: runs of them beyond a side are burned as one
    // edge (ring-runs.ts). Wiggly rings with wiggly holes, and a comb whose teeth cross rows beside the windows.
    let state = 777;
    const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    const wiggly = (cx: number, cy: number, radius: number, reverse: boolean): Ring => {
      const ring: Ring = Array.from({ length: 300 }, (_, k) => {
        const angle = (k / 300) * 2 * Math.PI;
        const r = radius * (1 + 0.25 * Math.sin(9 * angle)) + next() * 2;
        return [cx + r * Math.cos(angle), cy + r * Math.sin(angle)] as [number, number];
      });
      if (reverse) ring.reverse();
      return [...ring, ring[0]!];
    };
    const comb: Ring = [[30, -20]];
    for (let y = -20; y < 60; y += 1.3) comb.push([-9 - next() * 20, y + 0.1], [-3 - next(), y + 0.7]);
    comb.push([-5, 60], [30, 60], [30, -20]);
    const polygons: Ring[][][] = [
      [[wiggly(24, 20, 40, false), wiggly(20, 24, 18, true)]],
      [[wiggly(-30, 10, 45, true)]],
      [[wiggly(70, 45, 38, false)], [wiggly(10, 70, 35, false)]],
      [[comb]],
    ];
    const scene = sceneOf(polygons);
    const windows = windowGrid([8, 8], [5, 4]);
    // Most vertices are cut: the runs beyond the windows are really replaced.
    const source = await loadLabelSource(scene, { classes: CLASSES, imageEpsg: 31985 });
    let [kept, all] = [0, 0];
    const out = { coords: new Float64Array(0), ends: [] as number[] };
    for (const w of windows) {
      const inv = invertGeoTransform(windowGeoTransform(SYNTHETIC_GT, w));
      for (const feature of source.features) {
        kept += packWindowRings(feature, inv, w.width, w.height, out).ends.at(-1)! / 2;
        all += feature.polygons.flat().reduce((n, ring) => n + ring.length / 2, 0);
      }
    }
    expect(kept / all).toBeLessThan(0.4);
    const { touchedOnly } = await expectMasksOfGdal('wandering-rings', scene, windows);
    expect(touchedOnly).toBeGreaterThan(100);
  });

  it('resolve pixel centres on edges as gdal_rasterize does, with the later feature winning overlaps', async () => {
    const vector = join(dir, 'ties.geojson');
    await writeFile(vector, JSON.stringify(TIE_SCENE));
    const source = await loadLabelSource(TIE_SCENE, { classes: CLASSES, imageEpsg: 31985 });
    const gdal = await gdalLabels(vector, SYNTHETIC_GT, SYNTHETIC_WINDOWS);
    SYNTHETIC_WINDOWS.forEach((w, i) => {
      expect(differingPixels(mask(source, SYNTHETIC_GT, w, false), gdal[i]!.centre), `centre ${JSON.stringify(w)}`).toBe(0);
      expect(differingPixels(mask(source, SYNTHETIC_GT, w, true), gdal[i]!.allTouched), `all touched ${JSON.stringify(w)}`).toBe(0);
    });
    // The rule spelled out on the square with edges through centres x = 2.5, 6.5 and y = 2.5, 5.5: a centre on the
    // left edge is out, on the right edge in, on the top and bottom edges in; the reversed ring burns the same.
    const whole = mask(source, SYNTHETIC_GT, SYNTHETIC_WINDOWS[0]!, false);
    const burned = (x0: number, y0: number, x1: number, y1: number) => {
      const cells: string[] = [];
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (whole[y * 48 + x]) cells.push(`${x},${y}`);
      return cells;
    };
    const block = (x0: number, y0: number, x1: number, y1: number) => {
      const cells: string[] = [];
      for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) cells.push(`${x},${y}`);
      return cells;
    };
    expect(burned(0, 0, 9, 9)).toEqual(block(3, 2, 6, 5));
    expect(burned(9, 0, 17, 9)).toEqual(block(11, 2, 14, 5));
    // Overlapping squares: the later feature (vegetation, value 2) holds the overlap.
    expect(whole[30 * 48 + 39]).toBe(2);
    expect(whole[26 * 48 + 35]).toBe(1);
  });
});

/** Windows of `size` px every `step` px over the 48 x 40 synthetic scene, plus the whole scene. */
function windowGrid([width, height]: [number, number], [stepX, stepY]: [number, number]): PixelWindow[] {
  const windows: PixelWindow[] = [{ x: 0, y: 0, width: 48, height: 40 }];
  for (let y = 0; y + height <= 40; y += stepY) for (let x = 0; x + width <= 48; x += stepX) windows.push({ x, y, width, height });
  return windows;
}

/** The same windows over each of `tiles` 48 px wide tiles side by side. */
const perTile = (windows: PixelWindow[], tiles: number): PixelWindow[] =>
  Array.from({ length: tiles }, (_, t) => windows.map((w) => ({ ...w, x: w.x + 48 * t }))).flat();

/**
 * Expects veda's masks to equal gdal_rasterize's, with the pixel-centre rule and with -at, on every window of a
 * scene; returns the pixels compared and how many of them all-touched burns beyond the pixel-centre rule.
 */
async function expectMasksOfGdal(name: string, scene: object, windows: PixelWindow[]): Promise<{ pixels: number; touchedOnly: number }> {
  const vector = join(dir, `${name}.geojson`);
  await writeFile(vector, JSON.stringify(scene));
  const source = await loadLabelSource(scene, { classes: CLASSES, imageEpsg: 31985 });
  const gdal = await gdalLabels(vector, SYNTHETIC_GT, windows, false);
  let pixels = 0;
  let touchedOnly = 0;
  windows.forEach((w, i) => {
    const centre = mask(source, SYNTHETIC_GT, w, false);
    const touched = mask(source, SYNTHETIC_GT, w, true);
    expect(differingPixels(centre, gdal[i]!.centre), `${name}: centre ${JSON.stringify(w)}`).toBe(0);
    expect(differingPixels(touched, gdal[i]!.allTouched), `${name}: all touched ${JSON.stringify(w)}`).toBe(0);
    pixels += centre.length;
    touchedOnly += differingPixels(centre, touched);
  });
  return { pixels, touchedOnly };
}

/** Features of the scene's classes in turn, one per polygon. */
const sceneOf = (polygons: Ring[][][]) => collection(polygons.map((p, i) => syntheticFeature(CLASSES[i % 3]!, p)));

/** Edges along pixel boundaries whose ends are not pixel corners, both orientations, with and without noise. */
const BOUNDARY_EDGES: Ring[][] = [
  [rect(2, 1.5, 5, 4.5)],
  [rect(8.5, 2, 12.5, 6).reverse()],
  [[[14, 1.5], [19, 1.5], [19, 3], [17, 3], [17, 6.5], [14, 6.5], [14, 1.5]]],
  [rect(22, 0.5, 23, 7.5)],
  [rect(26, 1.25, 29, 5.75)],
  // Reprojection noise well below GDAL's 0.01 px tolerance, and one corner beyond it.
  [[[31.0003, 1.5], [33.9997, 1.5001], [34.0002, 4.5], [30.9998, 4.4999], [31.0003, 1.5]]],
  [[[36.02, 1.5], [39, 1.5], [39, 4.5], [36, 4.5], [36.02, 1.5]]],
  // Nearly vertical edges that cross a column boundary, less than 0.01 px wide.
  [[[41.996, 1.5], [45.5, 1.5], [45.504, 6.5], [42.004, 6.5], [41.996, 1.5]]],
  // Nearly horizontal edges that cross a row boundary.
  [[[2.5, 9.996], [7.5, 10.004], [7.5, 13.5], [2.5, 13.5], [2.5, 9.996]]],
  [[[10, 9.5], [15, 9.5], [15, 12], [12.5, 12], [12.5, 14.5], [10, 14.5], [10, 9.5]]],
  [rect(17.5, 9, 17.75, 15)], // thinner than a pixel, on no boundary
  [rect(20, 9.25, 21, 9.75)], // a pixel wide on column boundaries, half a pixel tall within a row
];

/** Polygons meeting pixels only at a corner, and sloped edges through exact pixel corners. */
const CORNER_TOUCHES: Ring[][] = [
  [rect(2, 2, 5, 5)],
  [rect(5, 5, 8, 8)], // touches the previous square at its corner
  [[[12, 2], [15, 5], [12, 8], [9, 5], [12, 2]]], // slopes +-1 from corner to corner
  [[[18, 2], [22, 4], [18, 10], [18, 2]]], // slopes 1/2 and -3/2 through corners (20, 3) and (20, 7)
  [[[26, 2], [32, 4], [29, 8], [26, 2]]],
  [[[38.5, 1.5], [41.5, 4.5], [38.5, 7.5], [35.5, 4.5], [38.5, 1.5]]], // vertices at centres, edges through corners
  [[[2, 12], [6, 16], [6.25, 15.5], [2, 12]]], // a sliver from a corner
  [rect(10, 12, 13, 15)],
  [[[13, 15], [16, 16], [15, 18], [13, 15]]], // its apex on the previous square's corner
  [[[20, 12], [21, 20], [23, 12], [20, 12]]], // steep slopes 8 and -4
  [[[26, 20], [30, 12], [34, 20], [26, 20]]], // slopes -2 and 2
  [[[38, 12], [44, 14], [38, 16], [38, 12]]].map((r) => r.reverse() as Ring),
  [[[2, 22], [8, 28], [2, 34], [2, 22]]],
  [[[12, 22], [18, 22], [12, 28], [12, 22]]].map((r) => r.reverse() as Ring),
];

/** Holes and multipolygons, with edges on pixel boundaries and parts meeting at corners. */
const HOLES_AND_PARTS: Ring[][][] = [
  [[rect(2, 2, 12, 12), rect(4, 4, 8, 8)]],
  [[rect(14, 2, 24, 12), [[19, 2], [22, 5], [19, 8], [16, 5], [19, 2]]]], // the hole touches the outer ring at (19, 2)
  [[rect(26, 2, 29, 5)], [rect(29, 5, 32, 8)], [rect(32, 2, 35, 5)]], // parts meeting at corners
  [[rect(2, 14.5, 12, 24.5), rect(4, 16.5, 9, 20.5)]],
  [[rect(14.5, 14.5, 24.5, 24.5), [[19.5, 16.5], [22.5, 19.5], [19.5, 22.5], [16.5, 19.5], [19.5, 16.5]]]],
  [[[[26, 14], [36, 14], [36, 24], [26, 24], [26, 14]], [[28, 16], [31, 16], [28, 19], [28, 16]], [[31, 19], [34, 19], [34, 22], [31, 19]]]],
  [[rect(38, 14.25, 46, 22.75)], [[[40, 26], [44, 30], [40, 34], [40, 26]], [[41, 29], [42, 30], [41, 31], [41, 29]]]],
  [[rect(2, 26, 10, 38), rect(2, 30, 6, 34)]], // a hole sharing an edge with the outer ring
];

/** Polygons larger than the windows, with vertices and sloped edges on the window edges and corners. */
const CUT_BY_WINDOWS: Ring[][] = [
  [[[24, -10], [58, 24], [24, 58], [-10, 24], [24, -10]]],
  [rect(-3.5, 6, 51, 9.5)],
  [[[8, -2], [40, 30], [38, 44], [8, 14], [8, -2]]],
  [rect(16, 16, 32, 32), rect(20.5, 20, 27.5, 28.5)],
  [[[4, 40], [12, 24], [20, 40], [4, 40]]],
];

describe('all-touched masks', () => {
  it('equal gdal_rasterize -at on random polygons in general position, many seeds', async () => {
    const seeds = Array.from({ length: 24 }, (_, i) => 1000 + 7 * i);
    const scene = collection(seeds.flatMap((seed, t) => randomFeatures(seed, 48 * t)));
    const { pixels, touchedOnly } = await expectMasksOfGdal('random-seeds', scene, perTile(SYNTHETIC_WINDOWS, seeds.length));
    expect(pixels).toBeGreaterThan(24 * 3000);
    expect(touchedOnly).toBeGreaterThan(5000);
  });

  it('equal gdal_rasterize -at on polygons with vertices on pixel corners, centres and quarter points', async () => {
    const grids = [1, 1, 1, 2, 2, 4, 4];
    const scene = collection(grids.flatMap((grid, t) => randomFeatures(2000 + t, 48 * t, grid)));
    const { touchedOnly } = await expectMasksOfGdal('random-grid', scene, perTile(windowGrid([16, 12], [8, 7]), grids.length));
    expect(touchedOnly).toBeGreaterThan(2000);
  });

  it('equal gdal_rasterize -at on edges along pixel boundaries whose ends are not pixel corners', async () => {
    const { touchedOnly } = await expectMasksOfGdal('boundary-edges', sceneOf(BOUNDARY_EDGES.map((p) => [p])), windowGrid([12, 10], [6, 5]));
    expect(touchedOnly).toBeGreaterThan(100);
    // The rule spelled out on the rectangle x 2..5, y 1.5..4.5: its vertical edges lie on column boundaries and burn
    // nothing beyond the fill, but its horizontal edges run from column 2 to column 5, burning column 5 in rows 1 and 4.
    const source = await loadLabelSource(sceneOf([[BOUNDARY_EDGES[0]!]]), { classes: CLASSES, imageEpsg: 31985 });
    const m = mask(source, SYNTHETIC_GT, { x: 0, y: 0, width: 8, height: 8 }, true);
    const cells = [...m.keys()].filter((k) => m[k]).map((k) => `${k % 8},${Math.floor(k / 8)}`);
    expect(cells).toEqual(['2,1', '3,1', '4,1', '5,1', '2,2', '3,2', '4,2', '2,3', '3,3', '4,3', '2,4', '3,4', '4,4', '5,4']);
  });

  it('equal gdal_rasterize -at on polygons touching pixels only at a corner and edges through pixel corners', async () => {
    const { touchedOnly } = await expectMasksOfGdal('corner-touches', sceneOf(CORNER_TOUCHES.map((p) => [p])), windowGrid([12, 10], [6, 5]));
    expect(touchedOnly).toBeGreaterThan(100);
  });

  it('equal gdal_rasterize -at on holes and multipolygons', async () => {
    const { touchedOnly } = await expectMasksOfGdal('holes-and-parts', sceneOf(HOLES_AND_PARTS), windowGrid([12, 10], [6, 5]));
    expect(touchedOnly).toBeGreaterThan(100);
  });

  it('equal gdal_rasterize -at on windows that cut polygons on their vertices, edges and corners', async () => {
    // Windows every 4 px (the polygons' vertices and corner crossings are on that lattice) and every 3 px.
    const windows = [...windowGrid([8, 8], [4, 4]), ...windowGrid([9, 7], [3, 3]).slice(1)];
    const scene = sceneOf([...CUT_BY_WINDOWS, ...CORNER_TOUCHES].map((p) => [p]));
    const { touchedOnly } = await expectMasksOfGdal('cut-by-windows', scene, windows);
    expect(windows.length).toBeGreaterThan(200);
    expect(touchedOnly).toBeGreaterThan(1000);
  });
});

describe('object detection boxes', () => {
  it('equal the pixel envelopes of the features OGR clips to each window', () => {
    WINDOWS.forEach((w, i) => {
      expect(label(landcover, OLINDA_GT, w, 'object_detection'), JSON.stringify(w)).toEqual(gdalOlinda[i]!.boxes);
      expect(label(landcover, SHIFTED_GT, w, 'object_detection'), `shifted ${JSON.stringify(w)}`).toEqual(gdalShifted[i]!.boxes);
    });
    expect(gdalOlinda.flatMap((g) => g.boxes.flat()).length).toBeGreaterThan(500);
  });

  it('drop boxes below minBoxSize', () => {
    WINDOWS.forEach((w, i) => {
      const expected = gdalOlinda[i]!.boxes.map((boxes) => boxes.filter(([x0, y0, x1, y1]) => x1 - x0 >= 3 && y1 - y0 >= 3));
      expect(label(landcover, OLINDA_GT, w, 'object_detection', { minBoxSize: 3 })).toEqual(expected);
    });
  });

  it('drop features that only touch the window', async () => {
    const source = await loadLabelSource(
      collection([syntheticFeature('water', [[rect(0, 0, 10, 10)]]), syntheticFeature('urban', [[rect(10, 2, 14, 5)]])]),
      { classes: CLASSES, imageEpsg: 31985 },
    );
    expect(label(source, SYNTHETIC_GT, { x: 10, y: 0, width: 8, height: 8 }, 'object_detection')).toEqual([[], [], [[0, 2, 4, 5]]]);
    expect(label(source, SYNTHETIC_GT, { x: 10, y: 0, width: 8, height: 8 }, 'classification')).toEqual([0, 0, 1]);
  });
});

describe('classification one-hot', () => {
  it('marks the classes present in the gdal_rasterize mask of each window', () => {
    WINDOWS.forEach((w, i) => {
      // The polygons tile whole pixels without overlapping, so a class overlaps a window exactly when it has pixels there.
      const expected = CLASSES.map((_, c) => (gdalOlinda[i]!.centre.includes(c + 1) ? 1 : 0));
      expect(label(landcover, OLINDA_GT, w, 'classification'), JSON.stringify(w)).toEqual(expected);
    });
  });

  it('with minOverlap needs that share of the window covered by the class', () => {
    let changed = 0;
    for (const minOverlap of [0.02, 0.25, 0.5, 0.9]) {
      WINDOWS.forEach((w, i) => {
        const m = gdalOlinda[i]!.centre;
        const expected = CLASSES.map((_, c) => (m.filter((v) => v === c + 1).length / m.length >= minOverlap ? 1 : 0));
        const oneHot = label(landcover, OLINDA_GT, w, 'classification', { minOverlap });
        expect(oneHot, `${minOverlap} ${JSON.stringify(w)}`).toEqual(expected);
        if (JSON.stringify(oneHot) !== JSON.stringify(label(landcover, OLINDA_GT, w, 'classification'))) changed++;
      });
    }
    expect(changed).toBeGreaterThan(10);
  });
});

describe('labels from WGS84', () => {
  it('land on the same pixels, boxes and classes as the projected labels (0 pixels differ)', () => {
    // The WGS84 file is rounded to 1e-7 degrees (about 1 cm, 3.5e-4 px here): below PIXEL_EPSILON, so it moves no
    // pixel, box edge or class.
    let pixels = 0;
    let differing = 0;
    WINDOWS.forEach((w, i) => {
      for (const allTouched of [false, true]) {
        const m = mask(landcover4326, OLINDA_GT, w, allTouched);
        pixels += m.length;
        differing += differingPixels(m, allTouched ? gdalOlinda[i]!.allTouched : gdalOlinda[i]!.centre);
      }
      expect(label(landcover4326, OLINDA_GT, w, 'object_detection'), JSON.stringify(w)).toEqual(gdalOlinda[i]!.boxes);
      expect(label(landcover4326, OLINDA_GT, w, 'classification')).toEqual(label(landcover, OLINDA_GT, w, 'classification'));
    });
    expect(pixels).toBeGreaterThan(400_000);
    expect(differing).toBe(0);
  });
});

describe('run-length encoding', () => {
  it('round-trips masks as alternating value and length runs', () => {
    let state = 5;
    const next = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    // Short and long runs (the encoder compares aligned words of four pixels), values up to 255, masks at every
    // byte offset of their buffer.
    const cases = [[1, 1, 0.7], [7, 3, 0.7], [64, 64, 0.7], [13, 11, 0.95], [256, 256, 0.995]] as const;
    for (const [[width, height, stay], offset] of cases.flatMap((c) => [0, 1, 2, 3].map((o) => [c, o] as const))) {
      const m = new Uint8Array(new ArrayBuffer(offset + width * height), offset);
      for (let i = 0; i < m.length; i++) m[i] = next() < stay && i > 0 ? m[i - 1]! : [0, 1, 3, 255][Math.floor(next() * 4)]!;
      const encoded = encodeRle(m, width, height);
      expect(decodeRle(encoded)).toEqual(m);
      const values = encoded.runs.filter((_, k) => k % 2 === 0);
      const lengths = encoded.runs.filter((_, k) => k % 2 === 1);
      expect(lengths.reduce((a, b) => a + b, 0)).toBe(width * height);
      expect(lengths.every((n) => n >= 1)).toBe(true);
      expect(values.every((v, k) => k === 0 || v !== values[k - 1])).toBe(true);
      // Packed as the catalog stores them (what compute threads send), they unpack to the same runs.
      const packed = encodeRlePacked(m, width, height);
      expect(packed).toEqual({ width, height, packedRuns: packRuns(encoded.runs) });
      expect(unpackRuns(packed.packedRuns)).toEqual(encoded.runs);
      expect(loadedLabel(storedLabel(packed))).toEqual(encoded);
    }
    expect(encodeRle(new Uint8Array([0, 0, 2, 2, 2, 0]), 3, 2).runs).toEqual([0, 2, 2, 3, 0, 1]);
    // A run of 300 pixels takes two varint bytes: 300 = 0b10_0101100 -> 0xac 0x02. A mask larger than any before.
    const long = encodeRlePacked(new Uint8Array(300).fill(7), 30, 10);
    const larger = new Uint8Array(512 * 512).fill(2, 1000);
    expect(encodeRlePacked(larger, 512, 512).packedRuns).toBe(packRuns([0, 1000, 2, 512 * 512 - 1000]));
    expect([...Buffer.from(long.packedRuns, 'base64')]).toEqual([7, 0xac, 0x02]);
    expect(() => encodeRlePacked(new Uint8Array(5), 2, 2)).toThrow(InvalidInputError);
  });

  it('rejects runs that do not fill the mask', () => {
    expect(() => decodeRle({ width: 2, height: 2, runs: [0, 3] })).toThrow(/cover 3 pixels, but the mask is 2x2/);
    expect(() => decodeRle({ width: 2, height: 2, runs: [0, 3, 1, 2] })).toThrow(InvalidInputError);
    expect(() => decodeRle({ width: 2, height: 2, runs: [0, 0, 1, 4] })).toThrow(InvalidInputError);
  });
});

describe('label options', () => {
  it('are checked', () => {
    const ctx = windowLabelContext(landcover, OLINDA_GT, WINDOWS[0]!);
    expect(() => encodeLabel('classification', ctx, { minOverlap: 1.5 })).toThrow('minOverlap 1.5');
    expect(() => encodeLabel('object_detection', ctx, { minBoxSize: -1 })).toThrow('minBoxSize -1');
    expect(() => encodeLabel('regression' as MlType, ctx)).toThrow("unknown ML type 'regression'");
    expect(() => encodeLabel('segmentation', { ...ctx, window: { x: 0, y: 0, width: 0, height: 4 } })).toThrow(InvalidInputError);
  });
});

describe('label shapes', () => {
  it('accept well-formed labels of each ML type and refuse the rest', async () => {
    const { isOneHot, isDetectionLabel, isPixelBox, isSegmentationLabel } = await import('../domain/labels/index.js');
    expect(isOneHot([0, 1, 1], 3)).toBe(true);
    expect(isOneHot([0, 2, 1], 3)).toBe(false);
    expect(isOneHot([1], 3)).toBe(false);
    const window = { width: 10, height: 8 };
    expect(isDetectionLabel([[[0, 0, 10, 8]], []], 2, window)).toBe(true);
    expect(isDetectionLabel([[[0, 0, 11, 8]], []], 2, window)).toBe(false); // outside the window
    expect(isDetectionLabel([[[3, 0, 3, 8]], []], 2, window)).toBe(false); // empty
    expect(isDetectionLabel([[[3, 0, 3, 8]], []], 2)).toBe(true); // shape only
    expect(isPixelBox([0, 0, Number.NaN, 1])).toBe(false);
    expect(isSegmentationLabel({ width: 2, height: 2, runs: [0, 4] })).toBe(true);
    expect(isSegmentationLabel([0, 4])).toBe(false);
    expect(isSegmentationLabel(null)).toBe(false);
  });
});
