/**
 * Splits and leakage end to end, on the real Temporal server and PostgreSQL: spatially split ingests for all three
 * plans, later ingests that keep off held pixels, the leakage check (API and `veda check`, exit 1 on a leak),
 * `veda batch --split` refusing to shuffle overlapping windows, and a manifest that reproduces a batch.
 */
import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VedaCollection } from '../client/collection.js';
import type { IngestOptions } from '../client/ingest-options.js';
import type { LeakageReport } from '../domain/splits/leakage.js';
import type { PixelWindow } from '../domain/types.js';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { GDAL_PYTHON, gdalGeoTransform, makeTempDir, removeTempDir, runGdal } from './support/gdal.js';
import { summarizeWithH5py } from './support/h5py.js';
import { OLINDA, startTestStack, type TestStack } from './support/stack.js';
import type { MaskTarget } from '../domain/labels/served-label.js';
import { LABEL_ENCODING_VERSION } from '../domain/labels/encoding-version.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.teardown();
});

function veda(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.resolve('bin/veda.js'), ...args], { env: stack.childEnv, timeout: 120_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

async function dataset(name: string, tile = 32): Promise<VedaCollection> {
  return stack.veda().create({ name, mlType: 'classification', tileSize: [tile, tile], classes: OLINDA.classes });
}

async function ingested(coll: VedaCollection, options: Partial<IngestOptions>) {
  const run = await coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, ...options });
  return { run, final: await run.result() };
}

async function windowsOf(coll: VedaCollection): Promise<Array<PixelWindow & { group: string }>> {
  return (await coll.slice(0, 100_000)).map((p) => ({ ...p.data.window, group: p.data.group }));
}

function minGapBetweenGroups(windows: ReadonlyArray<PixelWindow & { group: string }>): number {
  let min = Infinity;
  for (const a of windows) {
    for (const b of windows) {
      if (a.group === b.group) continue;
      const gx = Math.max(b.x - (a.x + a.width), a.x - (b.x + b.width));
      const gy = Math.max(b.y - (a.y + a.height), a.y - (b.y + b.height));
      min = Math.min(min, Math.max(gx, gy));
    }
  }
  return min;
}

describe('a spatially split ingest', () => {
  const plans: Array<[string, Partial<IngestOptions>]> = [
    ['random', { windows: 'random', count: 100 }],
    ['grid', { windows: 'grid', stride: 8, count: 100 }],
    ['features', { windows: 'features', jitter: 6, count: 40 }],
  ];
  it.each(plans)('%s: train/val/test in shares of the count share no pixel, keep the buffer, and record a drawn seed', async (name, plan) => {
    const coll = await dataset(`split-${name}`);
    const { run, final } = await ingested(coll, { ...plan, groups: { train: 70, val: 20, test: 10 }, spatialSplit: true, buffer: 6 });
    const count = plan.count!;
    const shares = { train: 0.7 * count, val: 0.2 * count, test: 0.1 * count };
    if (name === 'features') {
      // Two features close together may centre the same window: one datapoint, so a group can hold fewer.
      expect(final.planned).toBe(count);
      for (const [group, n] of Object.entries(await coll.count())) expect(n > 0 && n <= shares[group as keyof typeof shares]).toBe(true);
    } else {
      expect(final.posted).toBe(count);
      expect(await coll.count()).toEqual(shares);
    }
    expect(Number.isSafeInteger(run.seed) && run.seed !== 0).toBe(true);

    expect(minGapBetweenGroups(await windowsOf(coll))).toBeGreaterThanOrEqual(6);
    const report = await coll.check();
    expect(report.leaks).toBe(false);
    expect(report.pairs.map((p) => p.sharedPixels)).toEqual([0, 0, 0]);
    expect(report.groups.train!.datapoints).toBe((await coll.count()).train);

    const manifest = await coll.manifest();
    const ingest = manifest.ingests[0] as { split: { seed: number }; manifest: { split: { cells: Record<string, number[]> }; image: { sha256: string; bytes: number } } };
    expect(ingest.split.seed).toBe(run.seed);
    expect(Object.keys(ingest.manifest.split.cells).sort()).toEqual(['test', 'train', 'val']);
    expect(ingest.manifest.image.bytes).toBeGreaterThan(0);
    expect(ingest.manifest.image.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('the leakage check on a dataset made without a spatial split', () => {
  let leaky: VedaCollection;
  beforeAll(async () => {
    // The old demo: 100 train and 25 test windows of 64 x 64, consecutive windows of one random plan.
    leaky = await dataset('leaky', 64);
    await ingested(leaky, { groups: { train: 100, test: 25 }, seed: 42 });
  });

  it('measures the pixels train and test share, and `veda check` exits 1 with the report as JSON', async () => {
    const report = await leaky.check();
    expect(report.leaks).toBe(true);
    const [pair] = report.pairs;
    expect(pair!.groups).toEqual(['train', 'test']);
    expect(pair!.share.test).toBeGreaterThan(0.9);
    expect(report.groups.test!.datapoints).toBe(25);
    expect(Object.values(report.groups.train!.classes).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);

    const cli = await veda(['check', leaky.id, '--json']);
    expect(cli.code).toBe(1);
    const json = JSON.parse(cli.stdout) as LeakageReport;
    expect(json.pairs).toEqual(report.pairs);
    const text = await veda(['check', leaky.id]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/LEAK train \/ test: \d+ shared pixels/);
  });

  it('makes `veda batch --split` refuse with the measured overlap, unless leakage is allowed (then recorded)', async () => {
    const out = path.join(os.tmpdir(), `veda-leaky-${process.pid}.h5`);
    const refused = await veda(['batch', leaky.id, '--split', '70,30', '--out', out, '--json']);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toMatch(/share pixels with another window \(\d+\.\d % of the pixels/);
    const allowed = await leaky.batch(undefined, { split: [70, 30], allowLeakage: true, out });
    try {
      expect((allowed.inputs as { leakage: { overlapping: number } }).leakage.overlapping).toBeGreaterThan(0);
    } finally {
      allowed.close();
    }
  });
});

describe('later ingests into a dataset', () => {
  it('never place a window of one group on pixels another group holds, and draw a new seed each time', async () => {
    const coll = await dataset('later');
    // 15 windows of 32 px reach at most 60 of the 81 cells of 40 px: the test group always finds room.
    const first = await ingested(coll, { count: 15 });
    const second = await ingested(coll, { count: 10, group: 'test', buffer: 4, cell: 40 });
    expect(second.final.posted).toBe(10);
    expect(second.run.seed).not.toBe(first.run.seed);
    expect((await coll.check()).leaks).toBe(false);
    expect(minGapBetweenGroups(await windowsOf(coll))).toBeGreaterThanOrEqual(4);
    // Asked for, the overlap happens, and the check says so.
    await ingested(coll, { count: 60, group: 'val', allowOverlap: true, seed: 1 });
    const report = await coll.check();
    expect(report.leaks).toBe(true);
    expect(report.pairs.find((p) => p.groups.join() === 'train,val')!.sharedPixels).toBeGreaterThan(0);
  });

  it('keeps a later spatially split ingest of both groups off what each already holds', async () => {
    const coll = await dataset('later-split');
    await ingested(coll, { count: 6, seed: 1 });
    await ingested(coll, { count: 3, group: 'test', seed: 2, cell: 40 });
    const { final } = await ingested(coll, { count: 12, groups: { train: 8, test: 4 }, spatialSplit: true, cell: 40, seed: 3 });
    expect(final.posted).toBe(12);
    expect((await coll.check()).leaks).toBe(false);
    // Re-running the same split ingest draws the same cells and posts nothing new.
    expect((await ingested(coll, { count: 12, groups: { train: 8, test: 4 }, spatialSplit: true, cell: 40, seed: 3 })).final.posted).toBe(0);
  });

  it('refuses `veda batch --split` over groups that are spatially separate', async () => {
    const coll = await dataset('separate');
    await ingested(coll, { count: 50, groups: { train: 40, test: 10 }, spatialSplit: true, seed: 5 });
    await expect(coll.batch(undefined, { split: [80, 20] })).rejects.toThrow(/share no pixel: --split would shuffle them/);
  });
});

describe('a region of interest', () => {
  it('in another CRS than the image: every window of every plan lies inside it, as GDAL rasterizes it', async () => {
    const dir = await makeTempDir();
    try {
      // A pentagon over part of the scene, in the image's CRS (pixel corners through the geotransform) ...
      const gt = await gdalGeoTransform(OLINDA.image);
      const geo = ([px, py]: [number, number]) => [gt[0] + px * gt[1], gt[3] + py * gt[5]];
      const ring = ([[20, 30], [260, 10], [330, 200], [150, 340], [10, 220], [20, 30]] as Array<[number, number]>).map(geo);
      const native = path.join(dir, 'aoi-native.geojson');
      const srs = (await runGdal('gdalsrsinfo', ['-o', 'epsg', OLINDA.image])).trim().split(/\s+/).pop()!;
      await writeFile(native, JSON.stringify({ type: 'FeatureCollection', crs: { type: 'name', properties: { name: srs } }, features: [{ type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [ring] } }] }));
      // ... handed to veda in WGS84.
      const wgs84 = path.join(dir, 'aoi-4326.geojson');
      await runGdal('ogr2ogr', ['-f', 'GeoJSON', '-s_srs', srs, '-t_srs', 'EPSG:4326', wgs84, native]);

      const plans: Array<Partial<IngestOptions>> = [
        { windows: 'random', count: 30, groups: { train: 20, test: 10 }, spatialSplit: true, cell: 40 },
        { windows: 'grid', stride: 8 },
        { windows: 'features', count: 20 },
      ];
      for (const plan of plans) {
        const coll = await dataset(`aoi-${plan.windows}`);
        const { final } = await ingested(coll, { ...plan, aoi: wgs84, ...(plan.spatialSplit ? {} : { cell: 40 }) });
        expect(final.posted).toBeGreaterThan(0);
        const windows = await windowsOf(coll);
        // GDAL burns the native-CRS polygon on the image grid; every window pixel must be inside.
        const script = [
          'import json, sys',
          'from osgeo import gdal, ogr',
          'img = gdal.Open(sys.argv[1]); vec = ogr.Open(sys.argv[2]); wins = json.loads(sys.argv[3])',
          "mem = gdal.GetDriverByName('MEM').Create('', img.RasterXSize, img.RasterYSize, 1, gdal.GDT_Byte)",
          'mem.SetGeoTransform(img.GetGeoTransform()); mem.SetProjection(img.GetProjection())',
          'gdal.RasterizeLayer(mem, [1], vec.GetLayer(0), burn_values=[1])',
          'a = mem.ReadAsArray()',
          "print(json.dumps([int(a[w['y']:w['y']+w['height'], w['x']:w['x']+w['width']].min()) for w in wins]))",
        ].join('\n');
        const { stdout } = await promisify(execFile)(GDAL_PYTHON, ['-c', script, OLINDA.image, native, JSON.stringify(windows)]);
        expect(JSON.parse(stdout) as number[], String(plan.windows)).toEqual(windows.map(() => 1));
      }
    } finally {
      await removeTempDir(dir);
    }
  });
});

describe('balanced classes', () => {
  it('classification: equal shares of each group, exactly, with a spatial split too', async () => {
    const coll = await dataset('balance-cls');
    // Any intersection makes most windows multi-class here; a class covering 40 % of a window makes most single-class.
    const { final } = await ingested(coll, { count: 18, groups: { train: 12, test: 6 }, spatialSplit: true, balance: 'equal', minOverlap: 0.4, seed: 3 });
    const report = await coll.check();
    expect(report.leaks).toBe(false);
    expect(report.groups.train!.classes).toEqual({ water: 4, vegetation: 4, urban: 4 });
    expect(report.groups.test!.classes).toEqual({ water: 2, vegetation: 2, urban: 2 });
    expect(final.posted).toBe(report.datapoints);
    const recorded = (await coll.manifest()).ingests[0] as { manifest: { balanced: Record<string, { classes: Record<string, number> }> } };
    expect(recorded.manifest.balanced.train!.classes).toEqual({ water: 4, vegetation: 4, urban: 4 });
  });

  it('detection: per-class quotas count windows with a box of the class', async () => {
    const coll = await stack.veda().create({ name: 'balance-det', mlType: 'object_detection', tileSize: [32, 32], classes: OLINDA.classes });
    await ingested(coll, { count: 20, balance: { water: 1, urban: 3 }, seed: 8 });
    const labels = (await coll.slice(0, 1000)).map((p) => p.data.label as unknown[][]);
    const withBox = (i: number) => labels.filter((l) => l[i]!.length > 0).length;
    expect([withBox(0), withBox(1), withBox(2)]).toEqual([5, 0, 15]);
  });

  it('segmentation: every window has at least the minimum labelled share', async () => {
    const coll = await stack.veda().create({ name: 'balance-seg', mlType: 'segmentation', tileSize: [32, 32], classes: OLINDA.classes });
    const { final } = await ingested(coll, { count: 15, minLabelled: 0.9, seed: 2 });
    expect(final.posted).toBe(15);
    for (const p of await coll.slice(0, 100)) {
      const { data: mask } = p.y as MaskTarget;
      expect(mask.filter((v) => v !== 0).length / mask.length).toBeGreaterThanOrEqual(0.9);
    }
  });

  it('says which quota cannot be met', async () => {
    const coll = await dataset('balance-unmet', 128);
    const run = await coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, count: 40, balance: { water: 1 }, seed: 1 });
    await expect(run.result()).rejects.toThrow(/group 'train' cannot meet its quota after \d+ candidate windows: water \d+\/40/);
  });
});

describe('the manifest', () => {
  it('reproduces a batch: the recorded spec gives the same datapoint ids again, and a fresh dataset the same batch contents', async () => {
    const a = await dataset('manifest-a');
    await ingested(a, { count: 60, groups: { train: 70, test: 30 }, spatialSplit: true, buffer: 2, windows: 'random' });
    const fileA = await a.batch(undefined, { seed: 4 });
    fileA.close();

    const [recorded] = (await a.manifest()).ingests as Array<{ plan: { count: number; seed: number }; groups: Array<{ group: string; count: number }>; split: { seed: number; spatial: boolean; buffer: number } }>;
    const options: Partial<IngestOptions> = {
      count: recorded!.plan.count,
      seed: recorded!.split.seed,
      groups: Object.fromEntries(recorded!.groups.map((g) => [g.group, g.count])),
      spatialSplit: recorded!.split.spatial,
      buffer: recorded!.split.buffer,
    };
    const again = await ingested(a, options);
    expect(again.final.posted).toBe(0);
    expect(again.final.total).toBe(60);

    const b = await dataset('manifest-b');
    await ingested(b, options);
    const fileB = await b.batch(undefined, { seed: 4 });
    fileB.close();
    const [ha, hb] = await Promise.all([summarizeWithH5py(fileA.path), summarizeWithH5py(fileB.path)]);
    expect(hb.groupOrder).toEqual(ha.groupOrder);
    for (const g of ha.groupOrder) {
      for (const key of ['images', 'labels', 'windows', 'sources']) {
        expect(hb.groups[g]![key]!.sha256 ?? hb.groups[g]![key]!.strings, `${g}/${key}`).toEqual(ha.groups[g]![key]!.sha256 ?? ha.groups[g]![key]!.strings);
      }
    }
    const inputs = JSON.parse(String(ha.attrs.inputs)) as { vedaVersion: string; labelEncodingVersion: number };
    expect(inputs.vedaVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(inputs.labelEncodingVersion).toBe(LABEL_ENCODING_VERSION);
  });
});
