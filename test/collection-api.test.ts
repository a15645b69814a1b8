/**
 * The client API a user works with: the dataset document, publish/unpublish and ownership, search, half-open
 * slicing with lazy images, feeding explicit pairs, progress streams, and the embedded catalog.
 */
import { execFileSync } from 'node:child_process';
import { copyFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ForbiddenError, InvalidInputError, NotFoundError } from '../domain/errors.js';
import type { VedaCollection } from '../client/collection.js';
import type { Progress } from '../workflows/progress.js';
import { OLINDA, startTestStack, type TestStack } from './support/stack.js';

let stack: TestStack;
let olinda: VedaCollection;

beforeAll(async () => {
  stack = await startTestStack({ user: 'alice', stack: { ui: true } });
  olinda = await stack.veda().create({ name: 'Olinda Landcover', mlType: 'classification', tileSize: [64, 64], classes: OLINDA.classes, sensors: ['ETM+'] });
  await (await olinda.ingest({ image: OLINDA.image, labels: OLINDA.labels, groups: { train: 20, test: 5 }, seed: 11 })).result();
});
afterAll(async () => {
  await stack?.teardown();
});

/** The image's WGS84 footprint as GDAL computes it. */
function gdalWgs84Extent(file: string): [number, number, number, number] {
  const info = JSON.parse(execFileSync('gdalinfo', ['-json', file], { encoding: 'utf8' })) as {
    wgs84Extent: { coordinates: number[][][] };
  };
  const ring = info.wgs84Extent.coordinates[0]!;
  const xs = ring.map((p) => p[0]!);
  const ys = ring.map((p) => p[1]!);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

describe('the dataset document', () => {
  it('has every field of the pyveda document, with values that match the data', async () => {
    const doc = await olinda.save();
    expect(Object.keys(doc).sort()).toEqual(
      ['bbox', 'classes', 'count', 'created_at', 'dtype', 'id', 'last_ingest', 'links', 'mlType', 'name', 'nclasses', 'percent_cached',
        'public', 'sensors', 'shape', 'source', 'sources', 'tileSize', 'total', 'updated_at', 'userId'].sort(),
    );
    expect(doc).toMatchObject({
      id: olinda.id, name: 'Olinda Landcover', classes: OLINDA.classes, nclasses: 3, mlType: 'classification',
      count: { train: 20, test: 5 }, total: 25, shape: [6, 64, 64], dtype: 'uint8', sensors: ['ETM+'],
      source: OLINDA.image, userId: 'alice', public: false, percent_cached: 100,
    });
    expect(Date.parse(doc.created_at)).toBeLessThanOrEqual(Date.parse(doc.updated_at));
    const extent = gdalWgs84Extent(OLINDA.image);
    const eps = 1e-4;
    expect(doc.bbox![0]).toBeGreaterThanOrEqual(extent[0] - eps);
    expect(doc.bbox![1]).toBeGreaterThanOrEqual(extent[1] - eps);
    expect(doc.bbox![2]).toBeLessThanOrEqual(extent[2] + eps);
    expect(doc.bbox![3]).toBeLessThanOrEqual(extent[3] + eps);
    expect(doc.bbox![0]).toBeLessThan(doc.bbox![2]);
    for (const link of ['self', 'update', 'publish', 'unpublish', 'delete', 'create'] as const) expect(doc.links[link].href).toMatch(/^veda:/);
    expect(doc.links.workflows?.href ?? '').toContain(`VedaDatasetId%3D%22${olinda.id}%22`);
  });

  it('opens by id and by document', async () => {
    const doc = await olinda.doc();
    expect((await stack.veda().fromId(olinda.id)).name).toBe('Olinda Landcover');
    expect((await stack.veda().fromDoc(doc)).id).toBe(olinda.id);
  });
});

describe('ownership and publishing', () => {
  it('keeps a private dataset invisible to others and read-only for them once public', async () => {
    const bob = stack.veda('bob');
    await expect(bob.fromId(olinda.id)).rejects.toBeInstanceOf(NotFoundError);
    expect((await bob.search({ name: 'olinda' })).map((c) => c.id)).not.toContain(olinda.id);

    const alicesCopy = await stack.veda('alice').fromId(olinda.id);
    expect((await alicesCopy.publish()).public).toBe(true);
    const seen = await bob.fromId(olinda.id);
    expect((await bob.search({ name: 'olinda' })).map((c) => c.id)).toContain(olinda.id);
    await expect(seen.unpublish()).rejects.toBeInstanceOf(ForbiddenError);
    await expect(seen.publish()).rejects.toBeInstanceOf(ForbiddenError);
    await expect(seen.delete()).rejects.toBeInstanceOf(ForbiddenError);
    await expect(seen.ingest({ image: OLINDA.image, labels: OLINDA.labels, count: 1 })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(seen.feed([{ source: OLINDA.image, window: [0, 0, 64, 64], label: [1, 0, 0] }])).rejects.toBeInstanceOf(ForbiddenError);
    expect((await seen.slice(0, 2)).length).toBe(2);

    expect((await alicesCopy.unpublish()).public).toBe(false);
    await expect(bob.fromId(olinda.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('lets only the owner delete, and deleting removes datapoints and chips', async () => {
    const coll = await stack.veda().create({ name: 'doomed', mlType: 'classification', tileSize: [32, 32], classes: ['a'] });
    await coll.feed([{ source: OLINDA.image, window: [0, 0, 32, 32], label: [1] }]);
    await coll.save({ wait: true });
    const [pair] = await coll.slice(0, 1);
    await coll.delete();
    await expect(stack.veda().fromId(coll.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(stack.services.chips.has(pair!.data.chipKey!)).resolves.toBe(false);
  });
});

describe('search', () => {
  it('filters by name, ML type, bbox, owner and public flag', async () => {
    const carol = stack.veda('carol');
    const seg = await carol.create({ name: 'carol-seg', mlType: 'segmentation', tileSize: [64, 64], classes: OLINDA.classes, public: true });
    await (await seg.ingest({ image: OLINDA.image, labels: OLINDA.labels, count: 3, seed: 1, cache: false })).result();
    const alice = stack.veda('alice');
    const ids = async (q: Parameters<typeof alice.search>[0]) => (await alice.search(q)).map((c) => c.id).sort();

    expect(await ids({ name: 'CAROL' })).toEqual([seg.id]);
    expect(await ids({ mlType: 'segmentation' })).toContain(seg.id);
    expect(await ids({ mlType: 'segmentation' })).not.toContain(olinda.id);
    expect(await ids({ bbox: [-35.5, -8.5, -34.5, -7.5] })).toEqual([olinda.id, seg.id].sort());
    expect(await ids({ bbox: [10, 40, 11, 41] })).toEqual([]);
    expect(await ids({ userId: 'carol' })).toEqual([seg.id]);
    expect(await ids({ public: true, mlType: 'segmentation', userId: 'carol' })).toEqual([seg.id]);
    expect(await ids({ public: false })).toContain(olinda.id);
  });
});

describe('slicing', () => {
  it('is half-open: slice(0, 5) gives five pairs, slice(3, 3) none, past the end is clipped', async () => {
    expect(await olinda.slice(0, 5)).toHaveLength(5);
    expect(await olinda.slice(3, 3)).toHaveLength(0);
    expect(await olinda.slice(20, 1000)).toHaveLength(5);
    const all = await olinda.slice(0, 25);
    const parts = [...(await olinda.slice(0, 10)), ...(await olinda.slice(10, 25))];
    expect(parts.map((p) => p.data.id)).toEqual(all.map((p) => p.data.id));
    expect(new Set(all.map((p) => p.data.id)).size).toBe(25);
    expect(await olinda.slice(0, 100, { group: 'test' })).toHaveLength(5);
    await expect(olinda.slice(5, 2)).rejects.toBeInstanceOf(InvalidInputError);
  });

  it('reads labels eagerly and images only when asked', async () => {
    const copy = path.join(stack.dataDir, 'lazy.tif');
    await copyFile(OLINDA.image, copy);
    const coll = await stack.veda().create({ name: 'lazy', mlType: 'classification', tileSize: [16, 16], classes: ['a', 'b'] });
    await coll.feed([{ source: copy, window: [10, 20, 16, 16], label: [0, 1] }]);
    const [pair] = await coll.slice(0, 1);
    expect(pair!.y).toEqual(Uint8Array.of(0, 1));
    const chip = await pair!.image();
    expect([chip.bands, chip.height, chip.width]).toEqual([6, 16, 16]);
    await rm(copy);
    const [again] = await coll.slice(0, 1);
    expect(again!.y).toEqual(Uint8Array.of(0, 1)); // the label needs no pixels
    await expect(again!.image()).rejects.toThrow(/lazy\.tif/);
  });
});

describe('feeding explicit pairs', () => {
  it('posts pairs into any group idempotently, validates labels, and save() caches them', async () => {
    const coll = await stack.veda().create({ name: 'fed', mlType: 'object_detection', tileSize: [32, 32], classes: ['boat', 'car'] });
    const pairs = [
      { source: OLINDA.image, window: [0, 0, 32, 32] as [number, number, number, number], label: [[[1, 2, 10, 12]], []] as Array<Array<[number, number, number, number]>> },
      { source: OLINDA.image, window: { x: 40, y: 8, width: 32, height: 32 }, label: [[], [[0, 0, 32, 32]]] as Array<Array<[number, number, number, number]>> },
    ];
    expect(await coll.feed(pairs, { group: 'validate' })).toBe(2);
    expect(await coll.feed(pairs, { group: 'validate' })).toBe(0);
    expect(await coll.count()).toEqual({ validate: 2 });
    await expect(coll.feed([{ source: OLINDA.image, window: [0, 0, 32, 32], label: [[[5, 5, 40, 6]], []] }])).rejects.toBeInstanceOf(InvalidInputError);
    await expect(coll.feed([{ source: OLINDA.image, window: [0, 0, 16, 16], label: [[], []] }])).rejects.toBeInstanceOf(InvalidInputError);
    const seg = await stack.veda().create({ name: 'fed-seg', mlType: 'segmentation', tileSize: [2, 2], classes: ['a'] });
    const at = (label: unknown) => seg.feed([{ source: OLINDA.image, window: [0, 0, 2, 2], label: label as number[] }]);
    await expect(at({ width: 2, height: 2, runs: [0, 3] })).rejects.toBeInstanceOf(InvalidInputError); // covers 3 of 4 pixels
    await expect(at({ width: 2, height: 2, runs: [2, 4] })).rejects.toBeInstanceOf(InvalidInputError); // class 2 of 1
    await expect(at([0, 1, 1, 0])).resolves.toBe(1);
    const [fedMask] = await seg.slice(0, 1);
    expect(fedMask!.y).toEqual({ data: Uint8Array.from([0, 1, 1, 0]), shape: [2, 2] });
    const doc = await coll.save({ wait: true });
    expect(doc.percent_cached).toBe(100);
    // Fed datapoints get the dataset's shape and bbox from their chips when cached.
    expect(doc.shape).toEqual([6, 32, 32]);
    expect(doc.dtype).toBe('uint8');
    // The windows span pixels [0, 72) x [0, 40): GDAL's WGS84 extent of that crop is the expected bbox.
    const crop = path.join(stack.dataDir, 'fed-extent.tif');
    execFileSync('gdal_translate', ['-q', '-srcwin', '0', '0', '72', '40', OLINDA.image, crop]);
    const expected = gdalWgs84Extent(crop);
    doc.bbox!.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
    const [first] = await coll.slice(0, 1);
    expect(first!.y).toEqual([{ box: [1, 2, 10, 12], class: 0 }]);
  });
});

describe('progress', () => {
  it('streams stages in order from the workflow and ends with everything cached', async () => {
    const coll = await stack.veda().create({ name: 'watched', mlType: 'segmentation', tileSize: [48, 48], classes: OLINDA.classes });
    const run = await coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, count: 400, seed: 5 });
    const seen: Progress[] = [];
    for await (const p of run.progress({ intervalMs: 20 })) seen.push(p);
    const order = ['starting', 'planning', 'posting', 'caching', 'done'];
    const stages = seen.map((p) => order.indexOf(p.stage));
    expect(stages.every((s, i) => s >= 0 && (i === 0 || s >= stages[i - 1]!))).toBe(true);
    // The stream shows the run as it goes, not only its end: posting is seen while in progress, caching its windows
    // as it posts them (percent_cached rises), so no cache stage is left to run.
    const distinct = [...new Set(seen.map((p) => p.stage))];
    expect(distinct).toEqual(expect.arrayContaining(['posting', 'done']));
    expect(distinct).not.toContain('caching');
    expect(seen.some((p) => p.stage === 'posting' && p.done < p.total)).toBe(true);
    expect(seen.some((p) => p.stage === 'posting' && p.percentCached > 0 && p.percentCached < 100)).toBe(true);
    const last = seen.at(-1)!;
    expect(last).toMatchObject({ stage: 'done', done: 400, total: 400, percentCached: 100, groups: { train: 400 } });
    expect(await run.query()).toEqual(last);
  });

  it('ends as soon as the run does, not an interval later', async () => {
    const coll = await stack.veda().create({ name: 'prompt', mlType: 'classification', tileSize: [48, 48], classes: OLINDA.classes });
    const run = await coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, count: 20, seed: 5 });
    const started = Date.now();
    const seen: Progress[] = [];
    // An hour between queries: only the run's end can end the stream's first pause.
    for await (const p of run.progress({ intervalMs: 3_600_000 })) seen.push(p);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(seen.at(-1)).toMatchObject({ stage: 'done', done: 20, percentCached: 100 });
  });
});

describe('the embedded catalog', () => {
  it('runs the same ingest with no database server (PGlite in the data directory)', async () => {
    const embedded = await startTestStack({ catalog: 'embedded' });
    try {
      const coll = await embedded.veda().create({ name: 'pglite', mlType: 'classification', tileSize: [64, 64], classes: OLINDA.classes });
      const final = await (await coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, groups: { train: 8, test: 2 }, seed: 9 })).result();
      expect(final.percentCached).toBe(100);
      expect(await coll.count()).toEqual({ train: 8, test: 2 });
    } finally {
      await embedded.teardown();
    }
  });
});
