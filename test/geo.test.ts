import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../domain/errors.js';
import {
  boundsOfFlatRings,
  boundsOfPoints,
  boundsOfWindows,
  boundsToWgs84,
  crsFromEpsg,
  epsgFromCrsName,
  geoToPixel,
  invertGeoTransform,
  pixelToGeo,
  transformBounds,
  transformPoint,
  unionBounds,
  windowBounds,
  windowGeoTransform,
  type Bounds,
} from '../domain/geo/index.js';
import type { GeoTransform } from '../domain/types.js';
import { GDAL_PYTHON } from './support/gdal.js';

/** The Olinda scene's geotransform, as gdalinfo reports it. */
const OLINDA_GT: GeoTransform = [288776.250000803149305, 28.499999999274539, 0, 9120760.750028736889362, 0, -28.499999999274539];
const ROTATED_GT: GeoTransform = [500000, 8, 0.5, 9000000, -0.25, -8];

/** CRSs with no datum shift to WGS84, so PROJ and proj4 must agree to well under a millimetre. */
const POINTS: Array<{ from: number; to: number; x: number; y: number }> = [
  { from: 31985, to: 4326, x: 288776.25, y: 9120760.75 },
  { from: 31985, to: 4326, x: 298722.75, y: 9110728.75 },
  { from: 4326, to: 31985, x: -34.87, y: -8.01 },
  { from: 32633, to: 4326, x: 447000, y: 5480000 },
  { from: 4326, to: 3857, x: 13.4, y: 52.5 },
  { from: 2154, to: 4326, x: 652000, y: 6862000 },
  { from: 3413, to: 4326, x: -1200000, y: -900000 },
];

/** Bounds whose edges curve once transformed, so corners alone would miss the extent. */
const BOUNDS: Array<{ from: number; to: number; bounds: Bounds }> = [
  { from: 31985, to: 4326, bounds: [100000, 8000000, 900000, 9900000] },
  { from: 3413, to: 4326, bounds: [-1000000, -1500000, 1000000, -500000] },
  { from: 4326, to: 32633, bounds: [9, 40, 21, 60] },
];

const GDAL_REFERENCE_PY = `
import json, sys
from osgeo import gdal, osr
gdal.UseExceptions()
job = json.loads(sys.argv[1])
def srs(code):
    s = osr.SpatialReference(); s.ImportFromEPSG(code)
    s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)  # x = longitude, as GeoJSON and proj4
    return s
def ct(a, b): return osr.CoordinateTransformation(srs(a), srs(b))
print(json.dumps({
    'points': [list(ct(p['from'], p['to']).TransformPoint(p['x'], p['y'])[:2]) for p in job['points']],
    'bounds': [list(ct(b['from'], b['to']).TransformBounds(*b['bounds'], 21)) for b in job['bounds']],
    'inverse': [list(gdal.InvGeoTransform(gt)) for gt in job['gts']],
    'applied': [list(gdal.ApplyGeoTransform(a['gt'], a['px'], a['py'])) for a in job['applied']],
}))
`;

interface GdalReference {
  points: Array<[number, number]>;
  bounds: Bounds[];
  inverse: GeoTransform[];
  applied: Array<[number, number]>;
}

const APPLIED = [
  { gt: OLINDA_GT, px: 0, py: 0 },
  { gt: OLINDA_GT, px: 349, py: 352 },
  { gt: OLINDA_GT, px: 17.25, py: 203.5 },
  { gt: ROTATED_GT, px: 31, py: 7.5 },
];

let gdal: GdalReference;

beforeAll(async () => {
  const job = { points: POINTS, bounds: BOUNDS, gts: [OLINDA_GT, ROTATED_GT], applied: APPLIED };
  const { stdout } = await promisify(execFile)(GDAL_PYTHON, ['-c', GDAL_REFERENCE_PY, JSON.stringify(job)]);
  gdal = JSON.parse(stdout) as GdalReference;
});

function expectInvalid(fn: () => unknown, mentions: string): void {
  expect(fn).toThrow(InvalidInputError);
  expect(fn).toThrow(mentions);
}

describe('CRS by EPSG code', () => {
  it('reads the proj4 definition of a projected and a geographic CRS', () => {
    const utm = crsFromEpsg(31985);
    expect(utm.proj4).toContain('+proj=utm');
    expect(utm.proj4).toContain('+zone=25');
    expect(utm.proj4).toContain('+south');
    expect(utm.geographic).toBe(false);
    expect(crsFromEpsg(4326).geographic).toBe(true);
  });

  it('rejects an unknown EPSG code, naming it', () => {
    expectInvalid(() => crsFromEpsg(999999), 'EPSG:999999');
    expectInvalid(() => crsFromEpsg(4326.5), '4326.5');
    expectInvalid(() => transformPoint([0, 0], 4326, 123456789), 'EPSG:123456789');
  });

  it('reads the CRS names GeoJSON files use', () => {
    expect(epsgFromCrsName('urn:ogc:def:crs:EPSG::31985')).toBe(31985);
    expect(epsgFromCrsName('urn:ogc:def:crs:EPSG:6.6:31985')).toBe(31985);
    expect(epsgFromCrsName('EPSG:31985')).toBe(31985);
    expect(epsgFromCrsName('epsg:4326')).toBe(4326);
    expect(epsgFromCrsName('http://www.opengis.net/def/crs/EPSG/0/3857')).toBe(3857);
    expect(epsgFromCrsName('urn:ogc:def:crs:OGC:1.3:CRS84')).toBe(4326);
    expect(epsgFromCrsName('urn:ogc:def:crs:OGC::CRS84')).toBe(4326);
    expect(epsgFromCrsName('LOCAL_CS["arbitrary"]')).toBeNull();
  });
});

describe('coordinate transformation', () => {
  it('transforms points as PROJ (through GDAL) does, in x = longitude order', () => {
    POINTS.forEach((p, i) => {
      const [x, y] = transformPoint([p.x, p.y], p.from, p.to);
      const [gx, gy] = gdal.points[i]!;
      const tolerance = crsFromEpsg(p.to).geographic ? 1e-9 : 1e-4; // degrees / metres: both well under 1 mm
      expect(Math.abs(x - gx), `point ${i} x`).toBeLessThan(tolerance);
      expect(Math.abs(y - gy), `point ${i} y`).toBeLessThan(tolerance);
    });
  });

  it('transforms bounds with densified edges, as GDAL TransformBounds(..., 21) does', () => {
    BOUNDS.forEach((b, i) => {
      const mine = transformBounds(b.bounds, b.from, b.to);
      const tolerance = crsFromEpsg(b.to).geographic ? 1e-7 : 1e-2;
      mine.forEach((v, k) => expect(Math.abs(v - gdal.bounds[i]![k]!), `bounds ${i}[${k}]`).toBeLessThan(tolerance));
      // The corners alone give a smaller box: densifying is what makes these right.
      const [minX, minY, maxX, maxY] = b.bounds;
      const corners = [[minX, minY], [minX, maxY], [maxX, minY], [maxX, maxY]].map(([x, y]) => transformPoint([x!, y!], b.from, b.to));
      const cornerBox = [Math.min(...corners.map((c) => c[0])), Math.min(...corners.map((c) => c[1])), Math.max(...corners.map((c) => c[0])), Math.max(...corners.map((c) => c[1]))];
      const grows = mine[0] < cornerBox[0]! - tolerance || mine[1] < cornerBox[1]! - tolerance || mine[2] > cornerBox[2]! + tolerance || mine[3] > cornerBox[3]! + tolerance;
      expect(grows, `bounds ${i} extend beyond their corners`).toBe(true);
    });
  });

  it('gives the Olinda scene WGS84 bounds that contain its gdalinfo corner coordinates', () => {
    const bounds = windowBounds(OLINDA_GT, { x: 0, y: 0, width: 349, height: 352 });
    const [minLon, minLat, maxLon, maxLat] = boundsToWgs84(bounds, 31985);
    // gdalinfo: UL 34d54'58.20"W 7d56'59.36"S, LL 34d54'59.72"W 8d2'25.86"S, UR 34d49'33.48"W, LR 34d49'34.93"W 8d2'27.34"S
    const dms = (d: number, m: number, s: number) => -(d + m / 60 + s / 3600);
    expect(minLon).toBeCloseTo(dms(34, 54, 59.72), 5);
    expect(maxLon).toBeCloseTo(dms(34, 49, 33.48), 5);
    expect(minLat).toBeCloseTo(dms(8, 2, 27.34), 5);
    expect(maxLat).toBeCloseTo(dms(7, 56, 59.36), 4);
  });

  it('leaves coordinates alone between equal CRSs and rejects inverted bounds', () => {
    expect(transformPoint([288776.25, 9120760.75], 31985, 31985)).toEqual([288776.25, 9120760.75]);
    expectInvalid(() => transformBounds([10, 0, 0, 10], 31985, 4326), 'min <= max');
  });
});

describe('geotransforms', () => {
  it('invert exactly as GDALInvGeoTransform, with and without rotation', () => {
    expect(invertGeoTransform(OLINDA_GT)).toEqual(gdal.inverse[0]);
    expect(invertGeoTransform(ROTATED_GT)).toEqual(gdal.inverse[1]);
  });

  it('map pixels to georeferenced coordinates as GDALApplyGeoTransform, and back', () => {
    APPLIED.forEach((a, i) => {
      const [x, y] = pixelToGeo(a.gt as GeoTransform, a.px, a.py);
      expect([x, y]).toEqual(gdal.applied[i]);
      const [px, py] = geoToPixel(a.gt as GeoTransform, x, y);
      expect(px).toBeCloseTo(a.px, 6);
      expect(py).toBeCloseTo(a.py, 6);
    });
  });

  it('give a window its own origin and the envelope of its four corners', () => {
    const w = { x: 10, y: 20, width: 30, height: 40 };
    const [x0, y0] = pixelToGeo(ROTATED_GT, 10, 20);
    expect(windowGeoTransform(ROTATED_GT, w)).toEqual([x0, 8, 0.5, y0, -0.25, -8]);
    const corners = [[10, 20], [40, 20], [10, 60], [40, 60]].map(([c, r]) => pixelToGeo(ROTATED_GT, c!, r!));
    expect(windowBounds(ROTATED_GT, w)).toEqual([
      Math.min(...corners.map((p) => p[0])),
      Math.min(...corners.map((p) => p[1])),
      Math.max(...corners.map((p) => p[0])),
      Math.max(...corners.map((p) => p[1])),
    ]);
  });

  it('reject a singular or non-finite geotransform', () => {
    expectInvalid(() => invertGeoTransform([0, 1, 2, 0, 2, 4]), 'singular');
    expectInvalid(() => invertGeoTransform([0, Number.NaN, 0, 0, 0, -1]), 'not finite');
  });
});

describe('bounds', () => {
  it('fold points, flat rings and windows, and grow by union', () => {
    expect(boundsOfPoints([[3, -1], [-2, 4], [0, 0]])).toEqual([-2, -1, 3, 4]);
    expect(boundsOfFlatRings([Float64Array.of(1, 2, 5, 2, 5, 7), [0, 9, 2, 3]])).toEqual([0, 2, 5, 9]);
    expect(boundsOfWindows([{ x: 10, y: 5, width: 4, height: 4 }, { x: 2, y: 8, width: 3, height: 6 }])).toEqual([2, 5, 14, 14]);
    expect(unionBounds(null, [1, 1, 2, 2])).toEqual([1, 1, 2, 2]);
    expect(unionBounds([0, 3, 1, 4], [1, 1, 2, 2])).toEqual([0, 1, 2, 4]);
    const empty = boundsOfPoints([]);
    expect(empty[0] > empty[2] && empty[1] > empty[3]).toBe(true);
  });
});
