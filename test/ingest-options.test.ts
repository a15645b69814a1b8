/**
 * The ingest's options end to end on the real stack (Temporal + PostgreSQL + worker): window plans, band selection,
 * label options, WGS84 labels, nodata rejection, the plan recorded in the dataset, and bad input refused before
 * any datapoint is written. Expected values come from GDAL and from the definitions, not from veda's own code.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VedaCollection } from '../client/collection.js';
import type { IngestOptions } from '../client/ingest-options.js';
import { InvalidInputError } from '../domain/errors.js';
import { decodeRle } from '../domain/labels/index.js';
import { planWindows } from '../domain/windows/index.js';
import type { DetectionLabel, GeoTransform, MlType, PixelWindow, SegmentationLabel } from '../domain/types.js';
import type { IngestSpec } from '../activities/types.js';
import type { Progress } from '../workflows/progress.js';
import {
  GDAL_PYTHON,
  gdalGeoTransform,
  gdalInfo,
  gdalTranslate,
  makeTempDir,
  readGdalWindows,
  removeTempDir,
  runGdal,
} from './support/gdal.js';
import { OLINDA, startTestStack, type TestStack } from './support/stack.js';

const run = promisify(execFile);
let stack: TestStack;
let tmp: string;
/** The scene's size and geotransform as GDAL reads them. */
let W: number;
let H: number;
let geoTransform: GeoTransform;

beforeAll(async () => {
  [stack, tmp] = await Promise.all([startTestStack(), makeTempDir('veda-ingest-options-')]);
  const info = await gdalInfo(OLINDA.image);
  [W, H] = info.size;
  geoTransform = await gdalGeoTransform(OLINDA.image);
});
afterAll(async () => {
  await stack?.teardown();
  if (tmp) await removeTempDir(tmp);
});

let datasets = 0;
async function create(mlType: MlType, classes = OLINDA.classes, tileSize: [number, number] = [64, 64]): Promise<VedaCollection> {
  return stack.veda().create({ name: `options-${mlType}-${++datasets}`, mlType, tileSize, classes });
}

/** Ingests into a new dataset (no chip cache unless asked) and waits for the run. */
async function ingested(
  mlType: MlType,
  options: Partial<IngestOptions>,
  setup: { classes?: string[]; tileSize?: [number, number] } = {},
): Promise<{ coll: VedaCollection; final: Progress }> {
  const coll = await create(mlType, setup.classes, setup.tileSize);
  const final = await (await coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, cache: false, ...options })).result();
  return { coll, final };
}

async function datapoints(coll: VedaCollection) {
  return (await coll.slice(0, 100_000)).map((p) => ({ window: p.data.window, label: p.data.label, y: p.y, data: p.data, image: p.image }));
}

const key = (w: { x: number; y: number }) => `${w.x},${w.y}`;

/** Upper-left corners of every whole tile at the stride, walking the image as GDAL sizes it. */
function gridCorners(tile: [number, number], stride: [number, number]): string[] {
  const corners: string[] = [];
  for (let y = 0; y + tile[1] <= H; y += stride[1]) for (let x = 0; x + tile[0] <= W; x += stride[0]) corners.push(`${x},${y}`);
  return corners;
}

describe('a grid plan', () => {
  it('posts exactly the whole windows at the stride (through the CLI)', async () => {
    const coll = await create('classification');
    const { stdout } = await run(
      process.execPath,
      ['bin/veda.js', 'ingest', coll.id, '--image', OLINDA.image, '--labels', OLINDA.labels, '--windows', 'grid', '--stride', '48',
        '--no-cache', '--wait', '--json'],
      { env: stack.childEnv },
    );
    const { progress } = JSON.parse(stdout) as { progress: Progress };
    const expected = gridCorners([64, 64], [48, 48]);
    expect(expected).toHaveLength(6 * 7); // (349 - 64) / 48 -> 6 columns, (352 - 64) / 48 -> 7 rows
    expect(progress).toMatchObject({ stage: 'done', total: expected.length, posted: expected.length, skipped: 0 });
    expect((await datapoints(coll)).map((p) => key(p.window)).sort()).toEqual(expected.sort());
  });

  it('defaults the stride to the tile size, also for a non-square tile (through the API)', async () => {
    const { coll, final } = await ingested('classification', { windows: 'grid' }, { tileSize: [64, 32] });
    const expected = gridCorners([64, 32], [64, 32]);
    expect(expected).toHaveLength(5 * 11);
    expect(final.total).toBe(expected.length);
    expect((await datapoints(coll)).map((p) => key(p.window)).sort()).toEqual(expected.sort());
  });
});

describe('a features plan', () => {
  /** Each feature's bounding-box centre in image pixels, from the GeoJSON and GDAL's geotransform. */
  async function anchors(): Promise<Array<{ x: number; y: number }>> {
    const geojson = JSON.parse(await readFile(OLINDA.labels, 'utf8')) as { features: Array<{ geometry: { coordinates: number[][][] } }> };
    return geojson.features.map((f) => {
      const points = f.geometry.coordinates.flat();
      const xs = points.map((p) => p[0]!);
      const ys = points.map((p) => p[1]!);
      const cx = (Math.min(...xs) + Math.max(...xs)) / 2;
      const cy = (Math.min(...ys) + Math.max(...ys)) / 2;
      return { x: (cx - geoTransform[0]) / geoTransform[1], y: (cy - geoTransform[3]) / geoTransform[5] };
    });
  }

  /** How far the window's centre is from the anchor on each axis, not counting a shift that kept it inside the image. */
  function offset(w: PixelWindow, a: { x: number; y: number }): number {
    const axis = (start: number, size: number, anchor: number, extent: number) => {
      const d = Math.abs(start + size / 2 - anchor);
      if (start === 0 && anchor < size / 2) return 0;
      if (start === extent - size && anchor > extent - size / 2) return 0;
      return d;
    };
    return Math.max(axis(w.x, w.width, a.x, W), axis(w.y, w.height, a.y, H));
  }

  it('centres one window on every feature without jitter, and within the jitter with it', async () => {
    const points = await anchors();
    const [still, jittered] = await Promise.all([
      ingested('classification', { windows: 'features', jitter: 0 }),
      ingested('classification', { windows: 'features', jitter: 8, count: 60, seed: 5 }),
    ]);
    expect(still.final.total).toBe(points.length);
    const nearest = (w: PixelWindow) => Math.min(...points.map((a) => offset(w, a)));
    for (const p of await datapoints(still.coll)) expect(nearest(p.window)).toBeLessThanOrEqual(0.5);

    expect(jittered.final.total).toBe(60);
    const distances = (await datapoints(jittered.coll)).map((p) => nearest(p.window));
    for (const d of distances) expect(d).toBeLessThanOrEqual(8.5); // jitter 8 plus rounding the centre to a pixel
    expect(distances.some((d) => d > 0.5)).toBe(true);
  });
});

describe('band selection', () => {
  it('--bands 4,3,2 gives 3-band chips equal to those bands of the image', async () => {
    const { coll } = await ingested('segmentation', { count: 8, seed: 3, bands: [4, 3, 2], cache: true });
    const doc = await coll.doc();
    expect(doc.shape).toEqual([3, 64, 64]);
    expect(doc.percent_cached).toBe(100);
    const points = await datapoints(coll);
    const gdal = await readGdalWindows(OLINDA.image, points.map((p) => ({ window: p.window, bands: [4, 3, 2] })));
    for (const [i, p] of points.entries()) {
      const chip = await p.image();
      expect(chip.bands).toBe(3);
      expect(Buffer.from(chip.data.buffer, chip.data.byteOffset, chip.data.byteLength).equals(gdal[i]!)).toBe(true);
    }
  });
});

describe('label options', () => {
  it('--all-touched burns every pixel the default burns, and more, as gdal_rasterize -at does', async () => {
    // The scene's polygons follow pixel edges, where both rules agree: move them a third of a pixel so edges cut
    // through pixels. Water alone (the other classes are ignored), so masks have edges against the background.
    const geojson = JSON.parse(await readFile(OLINDA.labels, 'utf8')) as { features: Array<{ geometry: { coordinates: number[][][] } }> };
    for (const f of geojson.features) f.geometry.coordinates = f.geometry.coordinates.map((ring) => ring.map(([x, y]) => [x! + 9.5, y! - 6]));
    const labels = path.join(tmp, 'shifted.geojson');
    await writeFile(labels, JSON.stringify(geojson));
    const burn = async (name: string, extra: string[]) => {
      const [x0, dx, , y0, , dy] = geoTransform;
      const te = [x0, y0 + H * dy, x0 + W * dx, y0].map(String);
      const out = path.join(tmp, name);
      await runGdal('gdal_rasterize', ['-q', ...extra, '-burn', '1', '-where', "class='water'", '-te', ...te, '-ts', `${W}`, `${H}`, '-ot', 'Byte', labels, out]);
      return out;
    };
    const options = { labels, windows: 'grid' as const };
    const [centre, touched, gdalCentre, gdalTouched] = await Promise.all([
      ingested('segmentation', options, { classes: ['water'] }),
      ingested('segmentation', { ...options, allTouched: true }, { classes: ['water'] }),
      burn('centre.tif', []),
      burn('touched.tif', ['-at']),
    ]);
    const centrePoints = await datapoints(centre.coll);
    const touchedMasks = new Map((await datapoints(touched.coll)).map((p) => [key(p.window), decodeRle(p.label as SegmentationLabel)]));
    const windows = centrePoints.map((p) => ({ window: p.window }));
    const [gdalA, gdalB] = await Promise.all([readGdalWindows(gdalCentre, windows), readGdalWindows(gdalTouched, windows)]);
    let centrePixels = 0;
    let touchedPixels = 0;
    for (const [i, p] of centrePoints.entries()) {
      const a = decodeRle(p.label as SegmentationLabel);
      const b = touchedMasks.get(key(p.window))!;
      expect(Buffer.from(a).equals(gdalA[i]!)).toBe(true);
      expect(Buffer.from(b).equals(gdalB[i]!)).toBe(true);
      for (let j = 0; j < a.length; j++) if (a[j]) expect(b[j]).toBe(1);
      centrePixels += a.reduce((n, v) => n + v, 0);
      touchedPixels += b.reduce((n, v) => n + v, 0);
    }
    expect(centrePixels).toBeGreaterThan(0);
    expect(touchedPixels).toBeGreaterThan(centrePixels);
  });

  it('--min-overlap drops classes that cover less of the window, never adds one', async () => {
    const [any, quarter] = await Promise.all([
      ingested('classification', { windows: 'grid', stride: 32 }),
      ingested('classification', { windows: 'grid', stride: 32, minOverlap: 0.25 }),
    ]);
    // Coverage from the segmentation mask of the same windows (pixel-centre rule: close to the area share).
    const masks = await ingested('segmentation', { windows: 'grid', stride: 32 });
    const share = new Map(
      (await datapoints(masks.coll)).map((p) => {
        const mask = decodeRle(p.label as SegmentationLabel);
        return [key(p.window), OLINDA.classes.map((_, k) => mask.filter((v) => v === k + 1).length / mask.length)];
      }),
    );
    const strict = new Map((await datapoints(quarter.coll)).map((p) => [key(p.window), p.label as number[]]));
    let before = 0;
    let after = 0;
    for (const p of await datapoints(any.coll)) {
      const loose = p.label as number[];
      const tight = strict.get(key(p.window))!;
      loose.forEach((v, k) => {
        expect(tight[k]).toBeLessThanOrEqual(v);
        const covered = share.get(key(p.window))![k]!;
        if (covered > 0.3) expect(tight[k]).toBe(1);
        if (covered < 0.2) expect(tight[k]).toBe(0);
      });
      before += loose.reduce((s, v) => s + v, 0);
      after += tight.reduce((s, v) => s + v, 0);
    }
    expect(after).toBeLessThan(before);
  });

  it('--min-box-size drops exactly the boxes narrower or shorter than it', async () => {
    const [all, large] = await Promise.all([
      ingested('object_detection', { count: 30, seed: 9 }),
      ingested('object_detection', { count: 30, seed: 9, minBoxSize: 10 }),
    ]);
    const kept = new Map((await datapoints(large.coll)).map((p) => [key(p.window), p.label as DetectionLabel]));
    let dropped = 0;
    for (const p of await datapoints(all.coll)) {
      const expected = (p.label as DetectionLabel).map((boxes) => boxes.filter(([x0, y0, x1, y1]) => x1 - x0 >= 10 && y1 - y0 >= 10));
      dropped += (p.label as DetectionLabel).flat().length - expected.flat().length;
      expect(kept.get(key(p.window))).toEqual(expected);
    }
    expect(dropped).toBeGreaterThan(0);
  });

  it('WGS84 labels give the same masks and boxes as the projected ones', async () => {
    const plan = { count: 30, seed: 21 };
    const results = await Promise.all(
      (['segmentation', 'object_detection'] as const).flatMap((mlType) => [
        ingested(mlType, plan),
        ingested(mlType, { ...plan, labels: OLINDA.labels4326 }),
      ]),
    );
    for (let i = 0; i < results.length; i += 2) {
      const projected = await datapoints(results[i]!.coll);
      const wgs84 = new Map((await datapoints(results[i + 1]!.coll)).map((p) => [key(p.window), p.label]));
      expect(projected).toHaveLength(30);
      for (const p of projected) expect(wgs84.get(key(p.window))).toEqual(p.label);
    }
  });
});

describe('nodata rejection', () => {
  it('--max-nodata 0.5 skips exactly the windows more than half over the nodata region, and counts them', async () => {
    // The scene with nodata = 0 and its left 160 columns set to 0 in every band (the scene itself has no all-zero pixel).
    const file = await gdalTranslate(OLINDA.image, path.join(tmp, 'half-nodata.tif'), ['-a_nodata', '0', '-co', 'COMPRESS=DEFLATE']);
    const blank = 160;
    await runGdal(GDAL_PYTHON, [
      '-c',
      [
        'import sys; from osgeo import gdal',
        'ds = gdal.Open(sys.argv[1], gdal.GA_Update)',
        'for b in range(1, ds.RasterCount + 1):',
        '    band = ds.GetRasterBand(b); a = band.ReadAsArray(); a[:, :int(sys.argv[2])] = 0; band.WriteArray(a)',
        'ds = None',
      ].join('\n'),
      file,
      String(blank),
    ]);
    expect((await gdalInfo(file)).bands[0]!.noDataValue).toBe(0);

    const { coll, final } = await ingested('classification', { image: file, windows: 'grid', stride: 32, maxNodata: 0.5 });
    const corners = gridCorners([64, 64], [32, 32]).map((c) => c.split(',').map(Number) as [number, number]);
    // A window's nodata share is the part of its 64 columns left of column 160: x = 0..96 -> 1, x = 128 -> 0.5 (kept).
    const skipped = corners.filter(([x]) => Math.max(0, Math.min(x + 64, blank) - x) / 64 > 0.5);
    expect(skipped).toHaveLength(4 * 10);
    expect(final).toMatchObject({ stage: 'done', total: corners.length, skipped: skipped.length, posted: corners.length - skipped.length });
    expect(await coll.count()).toEqual({ train: corners.length - skipped.length });
    const skippedKeys = new Set(skipped.map(([x, y]) => key({ x, y })));
    const posted = (await datapoints(coll)).map((p) => key(p.window));
    expect(posted.sort()).toEqual(corners.map(([x, y]) => key({ x, y })).filter((k) => !skippedKeys.has(k)).sort());
  });
});

describe('the dataset record', () => {
  it('records every ingest plan, and the recorded plan rebuilds the same windows', async () => {
    const { coll, final } = await ingested('segmentation', {
      groups: { train: 12, test: 4 }, seed: 42, bands: [3, 2, 1], allTouched: true, maxNodata: 0.9,
    });
    const record = (await stack.services.catalog.getDataset(coll.id))!;
    expect(record.ingests).toHaveLength(1);
    const spec = record.ingests[0] as IngestSpec & { workflowId: string; at: string };
    expect(spec).toMatchObject({
      image: OLINDA.image,
      labels: { uri: OLINDA.labels, classProperty: 'class' },
      plan: { strategy: 'random', count: 16, seed: 42, tileSize: [64, 64] },
      groups: [{ group: 'train', count: 12 }, { group: 'test', count: 4 }],
      labelOptions: { allTouched: true },
      bands: [3, 2, 1],
      maxNodata: 0.9,
    });
    expect(spec.workflowId).toMatch(/ingest/);
    expect(final.posted).toBe(16);

    const rebuilt = planWindows({ width: W, height: H }, spec.plan, spec.groups);
    const posted = (await datapoints(coll)).map((p) => `${p.data.group}:${key(p.window)}`);
    expect(posted.sort()).toEqual(rebuilt.map((w) => `${w.group}:${key(w)}`).sort());
  });
});

describe('bad input', () => {
  const notJson = () => path.join(tmp, 'not-json.geojson');
  const featureOnly = () => path.join(tmp, 'feature.geojson');
  const unknownCrs = () => path.join(tmp, 'unknown-crs.geojson');
  const projectedNoCrs = () => path.join(tmp, 'projected-no-crs.geojson');
  const textTif = () => path.join(tmp, 'scene.tif');

  beforeAll(async () => {
    const projected = JSON.parse(await readFile(OLINDA.labels, 'utf8')) as Record<string, unknown>;
    await Promise.all([
      writeFile(notJson(), '{"type": "FeatureCollection", "features": ['),
      writeFile(featureOnly(), JSON.stringify({ type: 'Feature', properties: { class: 'water' }, geometry: null })),
      writeFile(unknownCrs(), JSON.stringify({ ...projected, crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:OGC:1.3:LOCAL' } } })),
      writeFile(projectedNoCrs(), JSON.stringify({ ...projected, crs: undefined })),
      writeFile(textTif(), 'this is not a GeoTIFF\n'),
    ]);
  });

  const cases: Array<[string, () => Partial<IngestOptions>, RegExp, [number, number]?]> = [
    ['an image that is not a TIFF', () => ({ image: textTif(), count: 5 }), /scene\.tif.*not a (Geo)?TIFF|not a (Geo)?TIFF.*scene\.tif/i],
    ['a window larger than the image', () => ({ count: 5 }), /tile 400x400 is larger than the 349x352 image/, [400, 400]],
    ['a count out of range', () => ({ count: 2_000_000 }), /count 2000000 must be a whole number from 1 to 1000000/],
    ['a grid count beyond the grid', () => ({ windows: 'grid', count: 26 }), /grid has 25 windows .* count asks for 26/],
    ['labels that are not JSON', () => ({ labels: notJson(), count: 5 }), /not-json\.geojson is not valid JSON/],
    ['labels that are not a FeatureCollection', () => ({ labels: featureOnly(), count: 5 }), /feature\.geojson is not a GeoJSON FeatureCollection/],
    ['labels in a CRS with no EPSG code', () => ({ labels: unknownCrs(), count: 5 }), /unknown-crs\.geojson declares CRS 'urn:ogc:def:crs:OGC:1\.3:LOCAL'/],
    ['projected labels without a crs member', () => ({ labels: projectedNoCrs(), count: 5 }), /outside longitude\/latitude range/],
    ['a band that does not exist', () => ({ count: 5, bands: [4, 7] }), /band 7 does not exist in .*L7_ETMs\.tif \(it has 6 bands\)/],
    ['a nodata share above 1', () => ({ count: 5, maxNodata: 1.5 }), /maxNodata 1\.5 must be a share between 0 and 1/],
    ['a minimum overlap above 1', () => ({ count: 5, minOverlap: 2 }), /minOverlap 2 must be between 0 and 1/],
  ];

  it.each(cases)('%s fails the run at once, non-retryable, with nothing posted', async (_what, options, message, tileSize) => {
    const coll = await create('segmentation', OLINDA.classes, tileSize);
    const handle = await coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, ...options() });
    const err = await handle.result().then(() => null, (e: Error) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err!.message).toMatch(message);
    const progress = await handle.query();
    expect(progress).toMatchObject({ stage: 'failed', posted: 0 });
    expect(await coll.count()).toEqual({});
    // Failed as non-retryable on the first attempt: the history holds no retry of any activity.
    const { events } = await stack.client.workflow.getHandle(handle.workflowId).fetchHistory();
    const failed = events!.filter((e) => e.activityTaskFailedEventAttributes);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.activityTaskFailedEventAttributes!.failure!.applicationFailureInfo!.nonRetryable).toBe(true);
    const attempts = events!.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt);
    expect(attempts.every((a) => a === 1)).toBe(true);
  });

  it('options the client can judge alone are refused before a workflow starts', async () => {
    const coll = await create('classification');
    const ingest = (options: Partial<IngestOptions>) => coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, ...options });
    await expect(ingest({ count: 0 })).rejects.toThrow(/count 0 must be a whole number of at least 1/);
    await expect(ingest({ windows: 'grid', count: 0 })).rejects.toThrow(/count 0 must be a whole number of at least 1/);
    await expect(ingest({})).rejects.toThrow(/random window plan needs a count/);
    await expect(ingest({ count: 5, stride: 16 })).rejects.toThrow(/stride applies to grid windows, not random/);
    await expect(ingest({ windows: 'grid', jitter: 4 })).rejects.toThrow(/jitter applies to features windows, not grid/);
    await expect(ingest({ count: 5, groups: { train: 0, test: 0 } })).rejects.toThrow(/split ratios must not all be zero/);
    await expect(ingest({ count: 5, buffer: -1 })).rejects.toThrow(/buffer -1 must be a whole number of pixels/);
    expect(await coll.count()).toEqual({});
    expect((await stack.services.catalog.getDataset(coll.id))!.ingests).toEqual([]);
  });

  it('the CLI exits 2 with the message as JSON', async () => {
    const coll = await create('classification');
    const err = await run(
      process.execPath,
      ['bin/veda.js', 'ingest', coll.id, '--image', OLINDA.image, '--labels', OLINDA.labels, '--count', '3', '--bands', '9', '--wait', '--json'],
      { env: stack.childEnv },
    ).then(() => null, (e: { code: number; stdout: string }) => e);
    expect(err!.code).toBe(2);
    expect(JSON.parse(err!.stdout)).toMatchObject({ error: { kind: 'InvalidInputError', message: expect.stringMatching(/band 9 does not exist/) } });
    expect(await coll.count()).toEqual({});
  });
});
