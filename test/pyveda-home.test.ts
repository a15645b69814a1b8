/**
 * A pyveda user at home (issue 11): windows from the image itself, `[window, label]` pairs, binary classes by
 * default, pairs checked against their image before posting, removing datapoints, a save() that returns while
 * caching runs, unknown options refused, one label form in slice and batch, and the walkthrough example.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openImage } from '../client/image-windows.js';
import { DEFAULT_MIN_BOX_SIZE, ingestSpec } from '../client/ingest-options.js';
import { InvalidInputError, NotFoundError } from '../domain/errors.js';
import { walkthrough } from '../examples/walkthrough.js';
import { gdalInfo, readGdalWindows, runGdal } from './support/gdal.js';
import { serveFiles } from './support/http-files.js';
import { OLINDA, startTestStack, TEST_CATALOG, type TestStack } from './support/stack.js';

const run = promisify(execFile);
let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ user: 'alice' });
});
afterAll(async () => {
  await stack?.teardown();
});

describe('image.windows() and image.grid()', () => {
  it('yields distinct seeded windows inside the image as GDAL sizes it, and a grid that tiles it', async () => {
    const { size: [width, height] } = await gdalInfo(OLINDA.image);
    const image = await openImage(OLINDA.image);
    expect([image.width, image.height]).toEqual([width, height]);
    const windows = [...image.windows({ count: 125, shape: [64, 48], seed: 7 })];
    expect(windows).toHaveLength(125);
    expect(new Set(windows.map((w) => `${w.x},${w.y}`)).size).toBe(125);
    for (const w of windows) {
      expect(w).toMatchObject({ source: OLINDA.image, width: 64, height: 48 });
      expect(w.x >= 0 && w.y >= 0 && w.x + 64 <= width && w.y + 48 <= height).toBe(true);
    }
    expect([...image.windows({ count: 125, shape: [64, 48], seed: 7 })]).toEqual(windows);
    expect([...image.windows({ count: 125, shape: [64, 48], seed: 8 })]).not.toEqual(windows);
    const grid = [...image.grid({ shape: 64 })];
    expect(grid).toHaveLength(Math.floor(width / 64) * Math.floor(height / 64));
    expect(grid[1]).toEqual({ source: OLINDA.image, x: 64, y: 0, width: 64, height: 64 });
    // read() gives GDAL's pixels.
    const [gdal] = await readGdalWindows(OLINDA.image, [{ window: { x: windows[0]!.x, y: windows[0]!.y, width: 64, height: 48 }, bands: [4] }]);
    expect(Buffer.from((await image.read(windows[0]!, [4])).data.buffer).equals(gdal!)).toBe(true);
    expect(() => [...image.windows({ count: 1, shape: [width + 1, 8] })]).toThrow(InvalidInputError);
    expect(() => [...image.windows({ count: 1, shape: [8, 8], window_shape: [8, 8] } as never)]).toThrow(/unknown windows option: window_shape/);
  });
});

describe('feeding pairs', () => {
  it('takes [window, label] tuples, defaults classes to class1, and serves the batch label form', async () => {
    const coll = await stack.veda().create({ name: 'tuples', mlType: 'classification', tileSize: [32, 32] });
    expect(coll.classes).toEqual(['class1']);
    const image = await openImage(OLINDA.image);
    const [a, b, c] = image.windows({ count: 3, shape: coll.tileSize, seed: 1 });
    expect(await coll.feed([[a!, [1]], [b!, Uint8Array.of(0)]])).toBe(2);
    expect(await coll.feed([[[c!.x, c!.y, 32, 32], [1]]], { source: OLINDA.image, group: 'test' })).toBe(1);
    expect(await coll.count()).toEqual({ train: 2, test: 1 });
    const [first] = await coll.slice(0, 1);
    expect(first!.y).toEqual(Uint8Array.of(1));
    await expect(stack.veda().create({ name: 'seg', mlType: 'segmentation', tileSize: [8, 8] })).rejects.toThrow(/needs its classes/);
  });

  it('checks every pair against its image before posting any', async () => {
    const coll = await stack.veda().create({ name: 'checked', mlType: 'classification', tileSize: [64, 64] });
    const image = await openImage(OLINDA.image);
    const [good] = image.windows({ count: 1, shape: 64, seed: 3 });
    const typo = `${OLINDA.image}x`;
    await expect(coll.feed([[good!, [1]], { source: typo, window: [0, 0, 64, 64], label: [1] }])).rejects.toThrow(NotFoundError);
    await expect(coll.feed([[good!, [1]], { source: typo, window: [0, 0, 64, 64], label: [1] }])).rejects.toThrow(/^pair 1: /);
    const outside = { ...good!, x: image.width - 63 };
    await expect(coll.feed([[good!, [1]], [outside, [1]]])).rejects.toThrow(/pair 1: .*not inside the 349 x 352 image/);
    await expect(coll.feed([[{ ...good!, width: 32 }, [1]]])).rejects.toThrow(/pair 0: the window must be .* 64x64/);
    await expect(coll.feed([[good!, [1]]], { sorce: OLINDA.image } as never)).rejects.toThrow(/unknown feed option: sorce/);
    await expect(coll.feed([{ window: [0, 0, 64, 64], label: [1] }])).rejects.toThrow(/pair 0: no image/);
    expect(await coll.count()).toEqual({});
    // After a save the dataset has a chip shape: an image with other bands is refused up front.
    expect(await coll.feed([[good!, [1]]])).toBe(1);
    await coll.save({ wait: true });
    const rgb = path.join(stack.dataDir, 'three-bands.tif');
    await runGdal('gdal_translate', ['-q', '-b', '3', '-b', '2', '-b', '1', OLINDA.image, rgb]);
    await expect(coll.feed([{ source: rgb, window: [0, 0, 64, 64], label: [0] }])).rejects.toThrow(/3 band\(s\) of uint8, but the dataset's chips are 6/);
    expect(await coll.count()).toEqual({ train: 1 });
  });

  it('accepts every label form slice serves, for detection and segmentation, and round-trips it', async () => {
    const det = await stack.veda().create({ name: 'det', mlType: 'object_detection', tileSize: [32, 32], classes: ['boat', 'car'] });
    await det.feed([[{ source: OLINDA.image, x: 0, y: 0, width: 32, height: 32 }, [{ box: [1, 2, 10, 12], class: 1 }, { box: [0, 0, 4, 4], class: 0 }]]]);
    await det.feed([[{ source: OLINDA.image, x: 32, y: 0, width: 32, height: 32 }, []]]);
    const sliced = await det.slice(0, 2);
    const served = sliced.map((p) => p.y);
    expect(served).toEqual([[{ box: [0, 0, 4, 4], class: 0 }, { box: [1, 2, 10, 12], class: 1 }], []]);
    // A batch serves the same form for the same datapoint.
    const batch = await det.batch(2, { shuffle: false });
    try {
      const byId = new Map(sliced.map((p) => [p.data.id, p.y]));
      for (let i = 0; i < batch.train.length; i++) expect(batch.train.at(i)[1]).toEqual(byId.get(batch.train.info(i).id));
    } finally {
      batch.close();
    }
    const seg = await stack.veda().create({ name: 'seg', mlType: 'segmentation', tileSize: [2, 2], classes: ['a'] });
    await seg.feed([[{ source: OLINDA.image, x: 0, y: 0, width: 2, height: 2 }, { data: Uint8Array.of(0, 1, 1, 0), shape: [2, 2] }]]);
    const [mask] = await seg.slice(0, 1);
    expect(mask!.y).toEqual({ data: Uint8Array.of(0, 1, 1, 0), shape: [2, 2] });
    await expect(seg.feed([[{ source: OLINDA.image, x: 0, y: 0, width: 2, height: 2 }, { data: Uint8Array.of(0, 1, 1, 0), shape: [4, 1] }]]))
      .rejects.toThrow(/shape \[4, 1\] does not fit/);
  });
});

describe('remove()', () => {
  it('deletes datapoints and their chips, by owner only', async () => {
    const coll = await stack.veda().create({ name: 'pruned', mlType: 'classification', tileSize: [16, 16] });
    const image = await openImage(OLINDA.image);
    await coll.feed([...image.windows({ count: 4, shape: 16, seed: 2 })].map((w) => [w, [1]]));
    await coll.save({ wait: true });
    const pairs = await coll.slice(0, 4);
    const gone = pairs.slice(0, 2).map((p) => p.data.id);
    await expect(stack.veda('bob').fromId(coll.id)).rejects.toThrow(NotFoundError);
    expect(await coll.remove([...gone, 'no-such-id'])).toBe(2);
    expect((await coll.slice(0, 4)).map((p) => p.data.id)).toEqual(pairs.slice(2).map((p) => p.data.id));
    for (const p of pairs) await expect(stack.services.chips.has(p.data.chipKey!)).resolves.toBe(!gone.includes(p.data.id));
    expect((await coll.doc()).total).toBe(2);
    await coll.publish();
    await expect((await stack.veda('bob').fromId(coll.id)).remove(pairs[2]!.data.id)).rejects.toThrow(/bob may not remove datapoints/);
  });
});

describe('save()', () => {
  it('returns the document as soon as caching has started; { wait: true } returns with everything cached', async () => {
    // The image comes from a server that holds every request while caching should not progress, so no chip can be
    // cached before save() returns, however slow or fast the machine is.
    const server = await serveFiles(path.dirname(OLINDA.image));
    try {
      const url = `${server.url}/L7_ETMs.tif`;
      const coll = await stack.veda().create({ name: 'slow-cache', mlType: 'classification', tileSize: [32, 32] });
      const image = await openImage(url);
      expect(await coll.feed([...image.windows({ count: 20, shape: 32, seed: 4 })].map((w) => [w, [0]]))).toBe(20);
      server.hold();
      const started = await coll.save();
      expect(started.percent_cached).toBe(0);
      const run = await stack.veda().latestRun(coll.id);
      expect(run!.workflowId).toBe(`veda-${coll.id}-cache-1`);
      expect(await run!.status()).toBe('RUNNING');
      server.release();
      const done = await coll.save({ wait: true });
      expect(done.percent_cached).toBe(100);
      await expect(coll.save({ wiat: true } as never)).rejects.toThrow(/unknown save option: wiat/);
    } finally {
      await server.close();
    }
  });
});

describe('unknown options', () => {
  it('are errors that name the pyveda spelling and the camelCase one', async () => {
    const coll = await stack.veda().create({ name: 'strict', mlType: 'classification', tileSize: [64, 64], classes: OLINDA.classes });
    await expect(coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, count: 2, class_property: 'kind' } as never))
      .rejects.toThrow(/unknown ingest option: class_property \(did you mean classProperty\?\)/);
    await expect(coll.batch(4, { groups: ['train'], splt: [1] } as never)).rejects.toThrow(/unknown batch option: splt/);
    await expect(stack.veda().create({ name: 'x', mlType: 'classification', tileSize: [8, 8], tile_size: [8, 8] } as never))
      .rejects.toThrow(/unknown create option: tile_size \(did you mean tileSize\?\)/);
    expect(await coll.count()).toEqual({});
  });
});

describe('defaults', () => {
  it('detection drops boxes under 2 px unless minBoxSize says otherwise', async () => {
    const det = await stack.veda().create({ name: 'boxes', mlType: 'object_detection', tileSize: [64, 64], classes: OLINDA.classes });
    const record = (await stack.services.catalog.getDataset(det.id))!;
    const spec = (o: object) => ingestSpec(record, { image: OLINDA.image, labels: OLINDA.labels, count: 1, ...o }).labelOptions;
    expect(DEFAULT_MIN_BOX_SIZE).toBe(2);
    expect(spec({})).toEqual({ minBoxSize: 2 });
    expect(spec({ minBoxSize: 0 })).toEqual({ minBoxSize: 0 });
  });
});

describe('the demo and the CLI', () => {
  // The demo brings its own embedded catalog whatever the project's: it runs in the postgres project only.
  it.skipIf(TEST_CATALOG === 'embedded')("share one data directory: the demo's dataset is there for `veda show` and `veda search`", async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'veda-demo-'));
    try {
      // The embedded catalog (no DATABASE_URL) in the directory the CLI reads, on the test stack's Temporal server
      // with a task queue of its own (the stack's worker holds another catalog).
      const env = { ...stack.childEnv, VEDA_DATA_DIR: dataDir, DATABASE_URL: '', VEDA_TASK_QUEUE: `${stack.childEnv.VEDA_TASK_QUEUE}-demo` };
      const demo = await run(process.execPath, ['--import', 'tsx', 'examples/demo.ts'], { env, maxBuffer: 16 << 20 });
      const id = /Ingesting into dataset (\w+)/.exec(demo.stdout + demo.stderr)?.[1];
      expect(id).toBeTruthy();
      expect(demo.stdout).toContain(`Data: ${dataDir} (the CLI's too: npx veda show ${id})`);
      const cli = (...args: string[]) => run(process.execPath, [path.resolve('bin/veda.js'), ...args, '--json'], { env });
      // One after the other: an embedded catalog is open in one process at a time.
      const show = await cli('show', id!);
      const search = await cli('search', '--name', 'olinda-landcover');
      expect(JSON.parse(show.stdout)).toMatchObject({ id, count: { train: 100, test: 25 }, percent_cached: 100 });
      expect((JSON.parse(search.stdout) as Array<{ id: string }>).map((d) => d.id)).toEqual([id]);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('the walkthrough (examples/walkthrough.ts)', () => {
  it('feeds 100 train + 25 test windows from windows(), saves, publishes, finds, slices and batches', async () => {
    const seen = await walkthrough(stack.veda());
    expect(seen.doc).toMatchObject({ name: 'olinda-water', classes: ['class1'], count: { train: 100, test: 25 }, total: 125,
      percent_cached: 100, public: true, shape: [6, 64, 64], dtype: 'uint8' });
    expect(seen.savedPercent).toBeLessThanOrEqual(100);
    expect(seen.found).toEqual([seen.doc.id]);
    expect(seen.pairs).toHaveLength(5);
    for (const [i, pair] of seen.pairs.entries()) {
      expect(pair.y).toBeInstanceOf(Uint8Array);
      expect(pair.y).toHaveLength(1);
      // The chip is GDAL's window; the label is what the walkthrough's rule says of GDAL's NIR band.
      const w = pair.data.window;
      const [pixels, nir] = await readGdalWindows(OLINDA.image, [{ window: w }, { window: w, bands: [4] }]);
      expect(Buffer.from(seen.chips[i]!.data.buffer).equals(pixels!)).toBe(true);
      const water = [...nir!].filter((v) => v < 25).length >= nir!.length / 10;
      expect(Array.from(pair.y as Uint8Array)).toEqual([water ? 1 : 0]);
    }
    expect(seen.batch.train + seen.batch.test).toBe(32);
    expect(seen.batch.train).toBeGreaterThan(seen.batch.test);
    expect(seen.batch.five).toBe(5);
    expect(seen.batch.labels.every((y) => y.length === 1 && (y[0] === 0 || y[0] === 1))).toBe(true);
  });
});

