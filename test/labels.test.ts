import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import polygonClipping, { type MultiPolygon } from 'polygon-clipping';
import { InvalidInputError, NotFoundError } from '../domain/errors.js';
import { windowGeoTransform } from '../domain/geo/index.js';
import {
  PIXEL_EPSILON,
  decodeRle,
  encodeLabel,
  encodeRle,
  featureAnchors,
  loadLabelSource,
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
    features.append((classes.index(c), g.Clone()))
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

/** GDAL's masks and boxes for each window of an image with geotransform `gt`, from one Python process. */
async function gdalLabels(vector: string, gt: GeoTransform, windows: readonly PixelWindow[], classes = CLASSES): Promise<GdalWindowLabels[]> {
  const job = join(dir, `job-${++jobs}.json`);
  const out = join(dir, `out-${jobs}.json`);
  await writeFile(
    job,
    JSON.stringify({
      vector,
      classes,
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

/** Area of a polygon-clipping result (exteriors minus holes). */
function areaOf(geometry: MultiPolygon): number {
  const ring = (r: Ring) => Math.abs(r.reduce((sum, [x, y], i) => (i === 0 ? 0 : sum + r[i - 1]![0] * y - x * r[i - 1]![1]), 0)) / 2;
  return geometry.reduce((sum, polygon) => sum + polygon.reduce((s, r, k) => s + (k === 0 ? 1 : -1) * ring(r), 0), 0);
}

/** Whether a corner of pixel (x, y) lies on an edge of the polygon (exact: the fixtures use halves and integers). */
function cornerOnBoundary(polygon: Ring[], x: number, y: number): boolean {
  const corners = [[x, y], [x + 1, y], [x, y + 1], [x + 1, y + 1]] as const;
  return polygon.some((ring) =>
    ring.slice(1).some(([bx, by], i) => {
      const [ax, ay] = ring[i]!;
      return corners.some(([cx, cy]) => (bx - ax) * (cy - ay) === (by - ay) * (cx - ax) && cx >= Math.min(ax, bx) && cx <= Math.max(ax, bx) && cy >= Math.min(ay, by) && cy <= Math.max(ay, by));
    }),
  );
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
const SYNTHETIC_IMAGE = { width: 48, height: 40 };
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

/** Random star-shaped polygons (some with holes, one multipolygon) with vertices anywhere: no ties with the grid. */
const RANDOM_SCENE = (() => {
  let state = 12345;
  const next = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const star = (cx: number, cy: number, rMin: number, rMax: number, reverse: boolean): Ring => {
    const n = 3 + Math.floor(next() * 7);
    const ring: Ring = Array.from({ length: n }, (_, k) => {
      const angle = ((k + next() * 0.8) / n) * 2 * Math.PI;
      const r = rMin + next() * (rMax - rMin);
      return [cx + r * Math.cos(angle), cy + r * Math.sin(angle)] as [number, number];
    });
    if (reverse) ring.reverse();
    return [...ring, ring[0]!];
  };
  const features: object[] = [];
  for (let i = 0; i < 16; i++) {
    const cx = -4 + next() * 56;
    const cy = -4 + next() * 48;
    const cls = CLASSES[Math.floor(next() * 3)]!;
    const outer = star(cx, cy, 4, 4 + next() * 9, next() < 0.5);
    if (i % 4 === 1) features.push(syntheticFeature(cls, [[outer, star(cx, cy, 0.8, 1.9, next() < 0.5)]]));
    else if (i === 6) features.push(syntheticFeature(cls, [[outer], [star(cx + 15, cy - 3, 1.5, 4, false)]]));
    else features.push(syntheticFeature(cls, [[outer]]));
  }
  features.push(syntheticFeature('cloud', [[rect(1.3, 1.2, 30.7, 30.1)]]));
  return collection(features);
})();

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

  it('resolve pixel centres on edges as gdal_rasterize does, with the later feature winning overlaps', async () => {
    const vector = join(dir, 'ties.geojson');
    await writeFile(vector, JSON.stringify(TIE_SCENE));
    const source = await loadLabelSource(TIE_SCENE, { classes: CLASSES, imageEpsg: 31985 });
    const gdal = await gdalLabels(vector, SYNTHETIC_GT, SYNTHETIC_WINDOWS);
    const polygons = TIE_POLYGONS.flatMap(([, p]) => p);
    let cornerOnly = 0;
    SYNTHETIC_WINDOWS.forEach((w, i) => {
      expect(differingPixels(mask(source, SYNTHETIC_GT, w, false), gdal[i]!.centre), `centre ${JSON.stringify(w)}`).toBe(0);
      // All-touched differs only where an edge meets a pixel at its corner alone: GDAL 3.6 burns some of those
      // pixels, depending on the edge's direction; veda burns none (it burns the pixels the polygon overlaps).
      const mine = mask(source, SYNTHETIC_GT, w, true);
      mine.forEach((v, k) => {
        if (v === gdal[i]!.allTouched[k]) return;
        const [x, y] = [w.x + (k % w.width), w.y + Math.floor(k / w.width)];
        expect(v, `pixel ${x},${y}`).toBe(0);
        const overlap = polygons.reduce((sum, p) => sum + areaOf(polygonClipping.intersection(p, [rect(x, y, x + 1, y + 1)])), 0);
        const touches = polygons.some((p) => cornerOnBoundary(p, x, y));
        expect(overlap, `pixel ${x},${y}`).toBe(0);
        expect(touches, `pixel ${x},${y}`).toBe(true);
        cornerOnly++;
      });
    });
    expect(cornerOnly).toBeGreaterThan(0); // the triangle's and diamond's edges run through pixel corners
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

  it('with allTouched burn the pixels a polygon overlaps, not those beyond an edge on a pixel boundary', async () => {
    // Pixel-space rectangle x 2..5, y 1.5..4.5: columns 2-4 overlap it, column 5 only touches its edge. (GDAL 3.6
    // burns column 5 too when an aligned edge's ends are not pixel corners; veda keeps to the overlap.) The noisy
    // copy has its corners up to 3e-4 px off, as reprojected coordinates are.
    for (const ring of [rect(2, 1.5, 5, 4.5), [[2.0003, 1.5], [4.9997, 1.5001], [5.0002, 4.5], [1.9998, 4.4999], [2.0003, 1.5]] as Ring]) {
      const source = await loadLabelSource(collection([syntheticFeature('water', [[ring]])]), { classes: CLASSES, imageEpsg: 31985 });
      const m = mask(source, SYNTHETIC_GT, { x: 0, y: 0, width: 8, height: 8 }, true);
      const cells = [...m.keys()].filter((k) => m[k]).map((k) => `${k % 8},${Math.floor(k / 8)}`);
      expect(cells).toEqual(['2,1', '3,1', '4,1', '2,2', '3,2', '4,2', '2,3', '3,3', '4,3', '2,4', '3,4', '4,4']);
    }
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
    for (const [width, height] of [[1, 1], [7, 3], [64, 64]] as const) {
      const m = new Uint8Array(width * height);
      for (let i = 0; i < m.length; i++) m[i] = next() < 0.7 && i > 0 ? m[i - 1]! : Math.floor(next() * 4);
      const encoded = encodeRle(m, width, height);
      expect(decodeRle(encoded)).toEqual(m);
      const values = encoded.runs.filter((_, k) => k % 2 === 0);
      const lengths = encoded.runs.filter((_, k) => k % 2 === 1);
      expect(lengths.reduce((a, b) => a + b, 0)).toBe(width * height);
      expect(lengths.every((n) => n >= 1)).toBe(true);
      expect(values.every((v, k) => k === 0 || v !== values[k - 1])).toBe(true);
    }
    expect(encodeRle(new Uint8Array([0, 0, 2, 2, 2, 0]), 3, 2).runs).toEqual([0, 2, 2, 3, 0, 1]);
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
