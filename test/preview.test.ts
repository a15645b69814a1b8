/**
 * Previews: a chip with its label drawn over it, for each ML type on the Olinda scene. Pixels are checked against
 * an independent stretch of GDAL-exact window reads and the stored labels; the PNGs land in test/.artifacts/ for
 * a human to look at.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChipPreview, VedaCollection } from '../client/collection.js';
import { InvalidInputError, NotFoundError } from '../domain/errors.js';
import { openImage } from '../domain/imagery/index.js';
import { decodeRle } from '../domain/labels/index.js';
import { MASK_OPACITY, classColour, legendSquare, outlineWidth, renderPreview, type Rgb } from '../domain/preview/index.js';
import type { DetectionLabel, MlType, PixelWindow, SegmentationLabel } from '../domain/types.js';
import { OLINDA, startTestStack, type TestStack } from './support/stack.js';

const ARTIFACTS = path.resolve('test/.artifacts');
const TILE = 64;
const SCALE = 4;
/** The 64 x 64 grid window on the coast: sea, beach-side city and vegetation in one chip. */
const COAST = { x: 256, y: 192 };
const ML: MlType[] = ['classification', 'object_detection', 'segmentation'];

let stack: TestStack;
const datasets = {} as Record<MlType, VedaCollection>;

beforeAll(async () => {
  stack = await startTestStack();
  await mkdir(ARTIFACTS, { recursive: true });
  await Promise.all(
    ML.map(async (mlType) => {
      const coll = await stack.veda().create({ name: `preview-${mlType}`, mlType, tileSize: [TILE, TILE], classes: OLINDA.classes });
      await (await coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, windows: 'grid' })).result();
      datasets[mlType] = coll;
    }),
  );
});
afterAll(async () => {
  await stack?.teardown();
});

/** Posting index of the window at (x, y). */
async function indexOf(coll: VedaCollection, at: { x: number; y: number }): Promise<number> {
  const pairs = await coll.slice(0, 1000);
  const i = pairs.findIndex((p) => p.data.window.x === at.x && p.data.window.y === at.y);
  expect(i).toBeGreaterThanOrEqual(0);
  return i;
}

async function decoded(png: Buffer): Promise<{ width: number; height: number; px: Buffer }> {
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  expect(info.channels).toBe(4);
  return { width: info.width, height: info.height, px: data };
}

/**
 * The expected stretched chip, written from the definition: per band, the 2nd and 98th percentile (nearest rank
 * of the sorted values) map to 0 and 255. Bands are read straight from the image. Returns RGB per chip pixel.
 */
async function stretchedRgb(window: PixelWindow, bands = [1, 2, 3]): Promise<Array<Rgb>> {
  const image = await openImage(OLINDA.image);
  const raster = await image.readWindow(window, bands);
  await image.close();
  const n = window.width * window.height;
  const channels = bands.map((_, b) => {
    const values = Array.from(raster.data.subarray(b * n, (b + 1) * n));
    const sorted = [...values].sort((p, q) => p - q);
    const lo = sorted[Math.round(0.02 * (n - 1))]!;
    const hi = sorted[Math.round(0.98 * (n - 1))]!;
    return values.map((v) => Math.min(255, Math.max(0, Math.round(((v - lo) * 255) / (hi - lo)))));
  });
  return Array.from({ length: n }, (_, p) => [channels[0]![p]!, channels[1]![p]!, channels[2]![p]!]);
}

function pixelAt(img: { width: number; px: Buffer }, x: number, y: number): number[] {
  const o = 4 * (y * img.width + x);
  return [...img.px.subarray(o, o + 4)];
}

async function previewAndSave(coll: VedaCollection, index: number, name: string): Promise<ChipPreview> {
  const preview = await coll.preview(index);
  await writeFile(path.join(ARTIFACTS, name), preview.png);
  return preview;
}

describe('a segmentation preview', () => {
  it('blends each masked pixel with its class colour and leaves the image visible', async () => {
    const coll = datasets.segmentation;
    const index = await indexOf(coll, COAST);
    const preview = await previewAndSave(coll, index, 'preview-segmentation.png');
    const img = await decoded(preview.png);
    expect([img.width, img.height]).toEqual([TILE * SCALE, TILE * SCALE]);

    const pair = (await coll.at(index))!;
    const mask = decodeRle(pair.data.label as SegmentationLabel);
    const base = await stretchedRgb(pair.data.window);
    const seen = new Set<number>();
    let wrong = 0;
    for (let y = 0; y < img.height; y++) {
      for (let x = 0; x < img.width; x++) {
        const p = Math.floor(y / SCALE) * TILE + Math.floor(x / SCALE);
        const k = mask[p]!;
        const colour = k === 0 ? null : classColour(k - 1);
        const expected = base[p]!.map((v, c) => (colour ? Math.round((1 - MASK_OPACITY) * v + MASK_OPACITY * colour[c]!) : v));
        if (pixelAt(img, x, y).join() !== [...expected, 255].join()) wrong++;
        seen.add(k);
      }
    }
    expect(wrong).toBe(0);
    expect([...seen].sort()).toEqual([1, 2, 3]); // the coast chip holds water, vegetation and urban
    expect(preview.legend.map((c) => c.present)).toEqual([true, true, true]);
  });

  it("lines up with the scene: water pixels are dark in NIR, vegetation pixels green (the labels' own rule)", async () => {
    const pair = (await datasets.segmentation.at(await indexOf(datasets.segmentation, COAST)))!;
    const mask = decodeRle(pair.data.label as SegmentationLabel);
    const chip = await pair.image();
    const n = TILE * TILE;
    const band = (b: number, p: number) => chip.data[(b - 1) * n + p]!;
    const share = (k: number, rule: (p: number) => boolean) => {
      const pixels = [...mask.keys()].filter((p) => mask[p] === k);
      return pixels.filter(rule).length / pixels.length;
    };
    // README of the scene: water where NIR < 25 and SWIR1 < 25, vegetation where NDVI > 0.2 (then sieved).
    expect(share(1, (p) => band(4, p) < 25 && band(5, p) < 25)).toBeGreaterThan(0.9);
    expect(share(2, (p) => (band(4, p) - band(3, p)) / (band(4, p) + band(3, p)) > 0.2)).toBeGreaterThan(0.8);
  });
});

describe('a detection preview', () => {
  it('outlines every box in its class colour on its own border pixels, and leaves the rest of the chip alone', async () => {
    const coll = datasets.object_detection;
    const index = await indexOf(coll, COAST);
    const preview = await previewAndSave(coll, index, 'preview-detection.png');
    const img = await decoded(preview.png);
    expect([img.width, img.height]).toEqual([TILE * SCALE, TILE * SCALE]);

    const pair = (await coll.at(index))!;
    const label = pair.data.label as DetectionLabel;
    const base = await stretchedRgb(pair.data.window);
    const t = outlineWidth(SCALE);
    // Boxes in drawing order (class order, then box order): the last one whose outline covers a pixel sets it.
    const boxes = label.flatMap((list, k) => list.map((box) => ({ box: box.map((v) => v * SCALE), colour: classColour(k) })));
    expect(label.every((list) => list.length > 0)).toBe(true); // a box of every class on the coast
    const onOutline = ([x0, y0, x1, y1]: number[], x: number, y: number) =>
      x >= x0! && x < x1! && y >= y0! && y < y1! && (x < x0! + t || x >= x1! - t || y < y0! + t || y >= y1! - t);
    let wrong = 0;
    for (let y = 0; y < img.height; y++) {
      for (let x = 0; x < img.width; x++) {
        const top = boxes.findLast((b) => onOutline(b.box, x, y));
        const expected = top ? top.colour : base[Math.floor(y / SCALE) * TILE + Math.floor(x / SCALE)]!;
        if (pixelAt(img, x, y).join() !== [...expected, 255].join()) wrong++;
      }
    }
    expect(wrong).toBe(0);
    // The last box drawn (urban's last), spelled out: its chip pixel corners (minx, miny) and (maxx - 1, maxy - 1)
    // are output pixels (4 minx, 4 miny) and (4 maxx - 1, 4 maxy - 1).
    const [x0, y0, x1, y1] = label[2]!.at(-1)!;
    expect(pixelAt(img, x0 * SCALE, y0 * SCALE)).toEqual([...classColour(2), 255]);
    expect(pixelAt(img, x1 * SCALE - 1, y1 * SCALE - 1)).toEqual([...classColour(2), 255]);
  });
});

describe('a classification preview', () => {
  it('shows a square in the class colour for each present class, in class order, over the stretched chip', async () => {
    const coll = datasets.classification;
    const index = await indexOf(coll, { x: 256, y: 256 }); // water and urban, no vegetation
    const preview = await previewAndSave(coll, index, 'preview-classification.png');
    const img = await decoded(preview.png);
    expect([img.width, img.height]).toEqual([TILE * SCALE, TILE * SCALE]);
    const pair = (await coll.at(index))!;
    expect(pair.data.label).toEqual([1, 0, 1]);
    expect(preview.legend.filter((c) => c.present).map((c) => c.name)).toEqual(['water', 'urban']);

    const squares = [legendSquare(0, SCALE), legendSquare(1, SCALE)];
    const colours = [classColour(0), classColour(2)];
    const base = await stretchedRgb(pair.data.window);
    let wrong = 0;
    for (let y = 0; y < img.height; y++) {
      for (let x = 0; x < img.width; x++) {
        const inside = squares.findIndex(([x0, y0, x1, y1]) => x >= x0 && x < x1 && y >= y0 && y < y1);
        const frame = squares.some(([x0, y0, x1, y1]) => x >= x0 - 1 && x <= x1 && y >= y0 - 1 && y <= y1);
        const expected = inside >= 0 ? colours[inside]! : frame ? [0, 0, 0] : base[Math.floor(y / SCALE) * TILE + Math.floor(x / SCALE)]!;
        if (pixelAt(img, x, y).join() !== [...expected, 255].join()) wrong++;
      }
    }
    expect(wrong).toBe(0);
  });
});

describe('preview options', () => {
  it('shows chosen bands in that order, one band as grey, at any scale', async () => {
    const coll = datasets.classification;
    const index = await indexOf(coll, COAST);
    const pair = (await coll.at(index))!;
    const square = legendSquare(2, 1)[2] + 2; // below and right of the legend
    const nir = await stretchedRgb(pair.data.window, [4, 3, 2]);
    const falseColour = await decoded((await coll.preview(index, { bands: [4, 3, 2], scale: 1 })).png);
    expect([falseColour.width, falseColour.height]).toEqual([TILE, TILE]);
    const grey = await decoded((await coll.preview(index, { bands: [4], scale: 2 })).png);
    expect([grey.width, grey.height]).toEqual([2 * TILE, 2 * TILE]);
    for (let y = square; y < TILE; y += 7) {
      for (let x = square; x < TILE; x += 5) {
        const p = y * TILE + x;
        expect(pixelAt(falseColour, x, y)).toEqual([...nir[p]!, 255]);
        expect(pixelAt(grey, 2 * x + 1, 2 * y + 1)).toEqual([nir[p]![0], nir[p]![0], nir[p]![0], 255]);
      }
    }
  });

  it('stretches any dtype: a flat band is mid-grey, a NaN pixel transparent', () => {
    // 2 x 2 float32, 3 bands: band 1 ramps, band 2 is flat, band 3 holds a NaN.
    const data = Float32Array.from([-1, 0, 1, 2, 5, 5, 5, 5, 0.5, NaN, 0.25, 0.75]);
    const raster = { dtype: 'float32' as const, bands: 3, width: 2, height: 2, data };
    const out = renderPreview(raster, [0, 0, 0], 'classification', OLINDA.classes, { scale: 1, percentiles: [0, 100] });
    const px = (p: number) => [...out.rgba.subarray(4 * p, 4 * p + 4)];
    // Band 1: -1..2 -> 0..255; band 3 without its NaN: 0.25..0.75 -> 0..255.
    expect(px(0)).toEqual([0, 128, 128, 255]);
    expect(px(1)[3]).toBe(0);
    expect(px(2)).toEqual([170, 128, 0, 255]);
    expect(px(3)).toEqual([255, 128, 255, 255]);
  });

  it('names a missing index, a missing band and a bad scale', async () => {
    const coll = datasets.segmentation;
    const err = await coll.preview(25).catch((e: Error) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toMatch(/no datapoint at index 25 \(it has 25\)/);
    await expect(coll.preview(0, { group: 'test' })).rejects.toThrow(/index 0 of group test \(it has 0\)/);
    await expect(coll.preview(-1)).rejects.toBeInstanceOf(InvalidInputError);
    await expect(coll.preview(0, { bands: [7] })).rejects.toThrow(/band 7 does not exist in the chip \(it has 6 bands\)/);
    await expect(coll.preview(0, { bands: [1, 2] })).rejects.toThrow(/3 bands .* or 1/);
    await expect(coll.preview(0, { scale: 0 })).rejects.toThrow(/scale 0/);
  });
});

describe('veda preview', () => {
  it('writes the PNG and reports the datapoint and the classes present (--json)', async () => {
    const coll = datasets.segmentation;
    const index = await indexOf(coll, COAST);
    const out = path.join(stack.dataDir, 'cli-chip.png');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['bin/veda.js', 'preview', coll.id, String(index), '--out', out, '--bands', '3,2,1', '--scale', '3', '--json'],
      { env: stack.childEnv },
    );
    const report = JSON.parse(stdout) as { out: string; width: number; present: string[]; datapoint: { window: PixelWindow }; classes: unknown[] };
    expect(report).toMatchObject({ out, width: 3 * TILE, height: 3 * TILE, bands: [3, 2, 1], scale: 3, present: OLINDA.classes });
    expect(report.datapoint.window).toEqual({ ...COAST, width: TILE, height: TILE });
    expect(report.classes).toHaveLength(3);
    const png = await readFile(out);
    const api = await coll.preview(index, { bands: [3, 2, 1], scale: 3 });
    expect(png.equals(api.png)).toBe(true);
  });

  it('exits 3 with a clear message for a missing index', async () => {
    const coll = datasets.segmentation;
    const err = await promisify(execFile)(
      process.execPath,
      ['bin/veda.js', 'preview', coll.id, '99', '--out', path.join(stack.dataDir, 'none.png'), '--json'],
      { env: stack.childEnv },
    ).catch((e: { code: number; stdout: string }) => e);
    expect((err as { code: number }).code).toBe(3);
    expect(JSON.parse((err as { stdout: string }).stdout).error.message).toMatch(/no datapoint at index 99/);
  });
});

describe('natural colour by default', () => {
  /** A copy of the scene whose bands carry GDAL descriptions and/or colour interpretations. */
  async function described(name: string, descriptions: string[] | null, interps: string[] | null): Promise<string> {
    const out = path.join(stack.dataDir, `${name}.tif`);
    const script = `
import sys, json
from osgeo import gdal
gdal.UseExceptions()
ds = gdal.Translate(sys.argv[2], sys.argv[1])
d, c = json.loads(sys.argv[3]), json.loads(sys.argv[4])
for i in range(ds.RasterCount):
    if d: ds.GetRasterBand(i + 1).SetDescription(d[i])
    if c: ds.GetRasterBand(i + 1).SetColorInterpretation(getattr(gdal, 'GCI_' + c[i]))
ds = None`;
    await promisify(execFile)('/usr/bin/python3', ['-c', script, OLINDA.image, out, JSON.stringify(descriptions), JSON.stringify(interps)]);
    return out;
  }

  async function previewOf(image: string, sensors: string[] = []): Promise<ChipPreview> {
    const coll = await stack.veda().create({ name: 'colours', mlType: 'classification', tileSize: [16, 16], sensors });
    await coll.feed([[{ source: image, x: 0, y: 0, width: 16, height: 16 }, [1]]]);
    return coll.preview(0, { scale: 1 });
  }

  it('reads red, green, blue from the colour interpretation, the band descriptions, or Landsat 7 band names', async () => {
    const etm = ['blue', 'green', 'red', 'near infrared', 'swir 1', 'swir 2'];
    const [byInterp, byName, byLandsatName] = await Promise.all([
      described('interp', null, ['BlueBand', 'GreenBand', 'RedBand', 'Undefined', 'Undefined', 'Undefined']),
      described('names', etm, null),
      described('landsat-names', ['B1', 'B2', 'B3', 'B4', 'B5', 'B7'], null),
    ]);
    const interp = await previewOf(byInterp);
    expect(interp).toMatchObject({ bands: [3, 2, 1], bandsReason: expect.stringMatching(/colour interpretation/) });
    const names = await previewOf(byName);
    expect(names).toMatchObject({ bands: [3, 2, 1], bandsReason: expect.stringMatching(/band descriptions/) });
    // 'B3' says red only for Landsat 7: without the sensor the default stays, and says why.
    expect(await previewOf(byLandsatName)).toMatchObject({ bands: [1, 2, 3], bandsReason: expect.stringMatching(/does not say/) });
    expect(await previewOf(byLandsatName, ['Landsat 7 ETM+'])).toMatchObject({ bands: [3, 2, 1], bandsReason: expect.stringMatching(/Landsat 7 bands 3,2,1 by band description/) });
    // The Olinda file names no bands; its sensor does.
    expect(await previewOf(OLINDA.image, ['Landsat 7 ETM+'])).toMatchObject({ bands: [3, 2, 1], bandsReason: expect.stringMatching(/the sensor/) });
    expect(await previewOf(OLINDA.image)).toMatchObject({ bands: [1, 2, 3] });
    // The pixels are those bands: the same PNG as asking for 3,2,1.
    const coll = await stack.veda().create({ name: 'asked', mlType: 'classification', tileSize: [16, 16] });
    await coll.feed([[{ source: byName, x: 0, y: 0, width: 16, height: 16 }, [1]]]);
    const asked = await coll.preview(0, { scale: 1, bands: [3, 2, 1] });
    expect(asked.bandsReason).toBe('as asked');
    expect(names.png.equals(asked.png)).toBe(true);
  });

  it('veda preview says which bands it chose and why', async () => {
    const coll = await stack.veda().create({ name: 'cli-colours', mlType: 'classification', tileSize: [16, 16], sensors: ['Landsat 7 ETM+'] });
    await coll.feed([[{ source: OLINDA.image, x: 0, y: 0, width: 16, height: 16 }, [1]]]);
    const out = path.join(stack.dataDir, 'natural.png');
    const { stdout } = await promisify(execFile)(process.execPath, [path.resolve('bin/veda.js'), 'preview', coll.id, '0', '--out', out], { env: stack.childEnv });
    expect(stdout).toContain('bands 3,2,1: natural colour: Landsat 7 bands 3,2,1 (the sensor; the image names no bands)');
  });
});
