import { randomBytes } from 'node:crypto';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError, NotFoundError, SetupError } from '../domain/errors.js';
import type { MlType } from '../domain/types.js';
import {
  createPgClient,
  createPGliteClient,
  MIGRATIONS,
  migrate,
  openCatalog,
  openPGlite,
  serveEmbeddedCatalog,
  SqlCatalog,
  type Catalog,
  type Datapoint,
  type DatasetRecord,
  type IngestRecord,
  type NewDataset,
  type SqlClient,
} from '../domain/catalog/index.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';

/** A catalog under test plus its SQL client, to inspect or age rows behind the catalog's back. */
interface Backend {
  catalog: Catalog;
  client: SqlClient;
  teardown(): Promise<void>;
}

const BACKENDS: Array<[string, () => Promise<Backend>]> = [
  [
    'PostgreSQL',
    async () => {
      const database = await createTestDatabase();
      const client = createPgClient(database.url);
      const catalog = await SqlCatalog.open(client);
      return { catalog, client, teardown: async () => (await catalog.close(), await database.drop()) };
    },
  ],
  [
    'PGlite in process',
    async () => {
      const client = createPGliteClient(await openPGlite());
      const catalog = await SqlCatalog.open(client);
      return { catalog, client, teardown: () => catalog.close() };
    },
  ],
  [
    'PGlite served over the wire to pg',
    async () => {
      const server = await serveEmbeddedCatalog();
      const client = createPgClient(server.url);
      const catalog = await SqlCatalog.open(client);
      return { catalog, client, teardown: async () => (await catalog.close(), await server.close()) };
    },
  ],
];

const uniqueToken = () => randomBytes(4).toString('hex');

function newDataset(overrides: Partial<NewDataset> = {}): NewDataset {
  return {
    name: `dataset ${uniqueToken()}`,
    mlType: 'classification',
    tileSize: [256, 256],
    classes: ['building', 'road'],
    userId: `user-${uniqueToken()}`,
    ...overrides,
  };
}

/** Datapoints with random ids, so id order and posting order differ. */
function makePoints(datasetId: string, count: number, group = 'train'): Datapoint[] {
  return Array.from({ length: count }, (_, i) => ({
    id: randomBytes(8).toString('hex'),
    datasetId,
    group,
    source: 's3://bucket/scene.tif',
    window: { x: i * 16, y: i * 8, width: 256, height: 256 },
    label: [i % 2, 1 - (i % 2)],
    chipKey: null,
  }));
}

const ids = (points: Array<{ id: string }>) => points.map((point) => point.id);

describe.each(BACKENDS)('catalog on %s', (_name, start) => {
  let backend: Backend;
  let catalog: Catalog;
  beforeAll(async () => {
    backend = await start();
    catalog = backend.catalog;
  });
  afterAll(() => backend?.teardown());

  describe('datasets', () => {
    it('creates a dataset with a short URL-safe id and empty metadata, and reads it back', async () => {
      const input = newDataset({ mlType: 'segmentation', tileSize: [128, 64], sensors: ['landsat-7'] });
      const created = await catalog.createDataset(input);
      expect(created.id).toMatch(/^[0-9a-z]{12}$/);
      expect(created).toMatchObject({
        name: input.name,
        mlType: 'segmentation',
        tileSize: [128, 64],
        classes: ['building', 'road'],
        userId: input.userId,
        public: false,
        bbox: null,
        shape: null,
        dtype: null,
        sensors: ['landsat-7'],
        sources: [],
        ingests: [],
      });
      expect(created.createdAt).toBeInstanceOf(Date);
      expect(await catalog.getDataset(created.id)).toEqual(created);
      expect(await catalog.getDataset('nosuchdataset')).toBeNull();
    });

    it('gives every dataset a different id', async () => {
      const created = await Promise.all(Array.from({ length: 20 }, () => catalog.createDataset(newDataset())));
      expect(new Set(ids(created)).size).toBe(20);
    });

    it('updates only the patched fields and touches updatedAt', async () => {
      const created = await catalog.createDataset(newDataset());
      await backend.client.query(`update datasets set updated_at = '2000-01-01T00:00:00Z' where id = $1::text`, [
        created.id,
      ]);
      const ingest: IngestRecord = { workflowId: null, plan: { strategy: 'random', count: 10, seed: 1, tileSize: [256, 256] }, labels: { uri: 'a.geojson', classProperty: 'class' } };
      const updated = await catalog.updateDataset(created.id, {
        public: true,
        bbox: [-35.1, -8.2, -34.8, -7.9],
        shape: [3, 256, 256],
        dtype: 'uint16',
        sources: ['examples/data/olinda.tif'],
        ingests: [ingest],
      });
      expect(updated).toMatchObject({
        name: created.name,
        classes: created.classes,
        public: true,
        bbox: [-35.1, -8.2, -34.8, -7.9],
        shape: [3, 256, 256],
        dtype: 'uint16',
        sources: ['examples/data/olinda.tif'],
        ingests: [ingest],
      });
      expect(updated.createdAt).toEqual(created.createdAt);
      expect(updated.updatedAt.getTime()).toBeGreaterThan(Date.parse('2000-01-01T00:00:00Z'));
      expect(await catalog.getDataset(created.id)).toEqual(updated);

      const cleared = await catalog.updateDataset(created.id, { bbox: null, shape: null, dtype: null, name: 'new' });
      expect(cleared).toMatchObject({ name: 'new', bbox: null, shape: null, dtype: null, public: true });
    });

    it('claims the chip shape once: the first shape wins, a matching one is accepted, another refused', async () => {
      const { id } = await catalog.createDataset(newDataset());
      const shapes: Array<[number, number, number]> = [[3, 64, 64], [4, 64, 64], [3, 32, 32]];
      const claims = await Promise.all(shapes.map((shape) => catalog.claimChipShape(id, shape, 'uint8')));
      const winners = claims.filter((c) => c !== null);
      expect(winners).toHaveLength(1);
      const { shape } = (await catalog.getDataset(id))!;
      expect(await catalog.claimChipShape(id, shape!, 'uint8')).not.toBeNull();
      expect(await catalog.claimChipShape(id, shape!, 'uint16')).toBeNull();
      await expect(catalog.claimChipShape('nosuchdataset', [1, 1, 1], 'uint8')).rejects.toThrow(NotFoundError);
    });

    it('adds sources and records ingests atomically, without duplicates or lost updates', async () => {
      const { id } = await catalog.createDataset(newDataset());
      await Promise.all([
        catalog.addSources(id, ['a.tif', 'b.tif']),
        catalog.addSources(id, ['b.tif', 'c.tif', 'c.tif']),
        catalog.addSources(id, ['d.tif']),
      ]);
      const { sources } = (await catalog.getDataset(id))!;
      expect([...sources].sort()).toEqual(['a.tif', 'b.tif', 'c.tif', 'd.tif']);
      await Promise.all(['w1', 'w2', 'w3', 'w1'].map((workflowId, i) => catalog.recordIngest(id, { workflowId, at: String(i) })));
      const { ingests } = (await catalog.getDataset(id))!;
      expect(ingests.map((i) => i.workflowId).sort()).toEqual(['w1', 'w2', 'w3']);
    });

    it('grows the bbox atomically: concurrent extensions keep their union', async () => {
      const { id } = await catalog.createDataset(newDataset());
      const boxes: Array<[number, number, number, number]> = Array.from({ length: 12 }, (_, i) => [i, -i, i + 1, 2 * i]);
      await Promise.all(boxes.map((b) => catalog.extendBbox(id, b)));
      expect((await catalog.getDataset(id))!.bbox).toEqual([0, -11, 12, 22]);
      await expect(catalog.extendBbox(id, [1, 1, 0, 0])).rejects.toThrow(InvalidInputError);
      await expect(catalog.extendBbox('nosuchdataset', [0, 0, 1, 1])).rejects.toThrow(NotFoundError);
    });

    it('refuses to update a dataset that does not exist', async () => {
      await expect(catalog.updateDataset('nosuchdataset', { name: 'x' })).rejects.toThrow(NotFoundError);
    });

    it('deletes a dataset with its datapoints and run numbers; false when there is nothing to delete', async () => {
      const created = await catalog.createDataset(newDataset());
      const points = makePoints(created.id, 5);
      await catalog.insertDatapoints(points);
      await catalog.nextRunNumber(created.id, 'ingest');

      expect(await catalog.deleteDataset(created.id)).toBe(true);
      expect(await catalog.getDataset(created.id)).toBeNull();
      expect(await catalog.getDatapoint(created.id, points[0]!.id)).toBeNull();
      const { rows } = await backend.client.query<{ n: number }>(
        `select (select count(*) from datapoints where dataset_id = $1::text)
              + (select count(*) from run_numbers where dataset_id = $1::text) as n`,
        [created.id],
      );
      expect(Number(rows[0]!.n)).toBe(0);
      expect(await catalog.deleteDataset(created.id)).toBe(false);
    });
  });

  describe('schema', () => {
    it('migrates once: opening again applies nothing and records each version once', async () => {
      expect(await migrate(backend.client)).toEqual([]);
      const { rows } = await backend.client.query<{ version: number }>(
        'select version from veda_migrations order by version',
      );
      expect(rows.map((row) => row.version)).toEqual(MIGRATIONS.map((migration) => migration.version));
    });

    it('stores labels compressed with lz4 where the server has it, else as PostgreSQL does by default', async () => {
      const { rows } = await backend.client.query<{ method: string; lz4: boolean }>(
        `select attcompression as method,
                exists (select 1 from pg_settings where name = 'default_toast_compression' and 'lz4' = any(enumvals)) as lz4
           from pg_attribute where attrelid = 'datapoints'::regclass and attname = 'label'`,
      );
      // 'l': lz4; '': the server's default_toast_compression (pglz unless set otherwise).
      expect(rows[0]!.method).toBe(rows[0]!.lz4 ? 'l' : '');
    });
  });

  describe('datapoints', () => {
    it('inserts only new ids: posting the same batch twice adds nothing the second time', async () => {
      const { id } = await catalog.createDataset(newDataset());
      const train = makePoints(id, 30, 'train');
      const test = makePoints(id, 12, 'test');
      expect(await catalog.insertDatapoints([...train, ...test])).toBe(42);
      expect(await catalog.insertDatapoints([...train, ...test])).toBe(0);
      // Overlapping batch: half old, half new.
      const more = makePoints(id, 8, 'test');
      expect(await catalog.insertDatapoints([...test.slice(0, 8), ...more])).toBe(8);
      expect(await catalog.counts(id)).toEqual({ groups: { train: 30, test: 20 }, total: 50, cached: 0 });
    });

    it('leaves an existing datapoint untouched when its id is posted again', async () => {
      const { id } = await catalog.createDataset(newDataset());
      const [point] = makePoints(id, 1);
      await catalog.insertDatapoints([point!]);
      await catalog.insertDatapoints([{ ...point!, group: 'test', label: [9, 9] }]);
      expect(await catalog.getDatapoint(id, point!.id)).toEqual(point);
    });

    it('counts an id repeated within one batch once', async () => {
      const { id } = await catalog.createDataset(newDataset());
      const points = makePoints(id, 4);
      expect(await catalog.insertDatapoints([...points, points[1]!, points[3]!])).toBe(4);
      expect((await catalog.counts(id)).total).toBe(4);
    });

    it('inserts each id exactly once when overlapping batches are posted concurrently', async () => {
      const { id } = await catalog.createDataset(newDataset());
      const pool = makePoints(id, 400);
      // Four batches of 200 with overlaps, two of them in reverse order (the deadlock-prone case).
      const batches = [
        pool.slice(0, 200),
        pool.slice(100, 300).reverse(),
        pool.slice(200, 400),
        [...pool.slice(300, 400), ...pool.slice(0, 100)].reverse(),
      ];
      const inserted = await Promise.all(batches.map((batch) => catalog.insertDatapoints(batch)));
      expect(inserted.reduce((a, b) => a + b, 0)).toBe(400);
      expect((await catalog.counts(id)).total).toBe(400);
      const listed = await catalog.listDatapoints(id, { offset: 0, limit: 1000 });
      expect(new Set(ids(listed))).toEqual(new Set(ids(pool)));
      expect(listed).toHaveLength(400);
    });

    it('fetches datapoints by id in the order asked, leaving unknown ids out', async () => {
      const { id } = await catalog.createDataset(newDataset());
      const points = makePoints(id, 5, 'train');
      await catalog.insertDatapoints(points);
      const order = [points[3]!, points[0]!, points[4]!];
      expect(await catalog.getDatapoints(id, [...ids(order).slice(0, 2), 'nosuchpoint', ids(order)[2]!])).toEqual(order);
      expect(await catalog.getDatapoints(id, [])).toEqual([]);
      expect(await catalog.getDatapoints('nosuchdataset', ids(points))).toEqual([]);
    });

    it('lists datapoints in posting order over half-open ranges, optionally one group', async () => {
      const { id } = await catalog.createDataset(newDataset());
      const first = [...makePoints(id, 7, 'train'), ...makePoints(id, 3, 'test')];
      const second = [...makePoints(id, 4, 'test'), ...makePoints(id, 6, 'train')];
      await catalog.insertDatapoints(first);
      await catalog.insertDatapoints([...first.slice(0, 2), ...second]); // reposts keep their first place
      const posted = [...first, ...second];

      expect(await catalog.listDatapoints(id, { offset: 0, limit: 100 })).toEqual(posted);
      expect(ids(await catalog.listDatapoints(id, { offset: 3, limit: 5 }))).toEqual(ids(posted.slice(3, 8)));
      // Pages of 6 tile the whole list with no gap or overlap.
      const pages = [];
      for (let offset = 0; offset < posted.length; offset += 6) {
        pages.push(...(await catalog.listDatapoints(id, { offset, limit: 6 })));
      }
      expect(ids(pages)).toEqual(ids(posted));
      expect(await catalog.listDatapoints(id, { offset: 20, limit: 5 })).toEqual([]);
      expect(await catalog.listDatapoints(id, { offset: 0, limit: 0 })).toEqual([]);

      const tests = posted.filter((point) => point.group === 'test');
      expect(ids(await catalog.listDatapoints(id, { offset: 0, limit: 100, group: 'test' }))).toEqual(ids(tests));
      expect(ids(await catalog.listDatapoints(id, { offset: 2, limit: 3, group: 'test' }))).toEqual(
        ids(tests.slice(2, 5)),
      );
      expect(await catalog.listDatapoints(id, { offset: 0, limit: 10, group: 'validate' })).toEqual([]);
    });

    it('pages by key: pages and chunks tile the datapoints in posting order, also while more are posted', async () => {
      const { id } = await catalog.createDataset(newDataset());
      const other = await catalog.createDataset(newDataset()); // interleaved keys of another dataset are skipped
      const posted: Datapoint[] = [];
      for (let i = 0; i < 5; i++) {
        const batch = [...makePoints(id, 5, 'train'), ...makePoints(id, 2, 'test')];
        await catalog.insertDatapoints(batch);
        await catalog.insertDatapoints(makePoints(other.id, 3));
        posted.push(...batch);
      }

      const pages: Datapoint[] = [];
      let after: string | null = null;
      for (let page = 0; ; page++) {
        const next = await catalog.pageDatapoints(id, { after, limit: 6 });
        pages.push(...next.points);
        if (page === 1) await catalog.insertDatapoints(makePoints(id, 4, 'late')); // appended while paging
        if (next.points.length < 6) break;
        after = next.last;
      }
      expect(ids(pages.slice(0, posted.length))).toEqual(ids(posted));
      expect(pages.slice(posted.length).map((p) => p.group)).toEqual(['late', 'late', 'late', 'late']);
      const end = (await catalog.pageDatapoints(id, { limit: 1000 })).last;
      expect(await catalog.pageDatapoints(id, { after: end, limit: 5 })).toEqual({ points: [], last: null });

      const tests = posted.filter((p) => p.group === 'test');
      const firstTests = await catalog.pageDatapoints(id, { limit: 4, group: 'test' });
      expect(ids(firstTests.points)).toEqual(ids(tests.slice(0, 4)));
      expect(ids((await catalog.pageDatapoints(id, { after: firstTests.last, limit: 100, group: 'test' })).points)).toEqual(ids(tests.slice(4)));

      // Chunks of 8 as key ranges: each reads exactly its slice of the posting order.
      const all = [...posted, ...pages.slice(posted.length)];
      const chunks = await catalog.datapointChunks(id, 8);
      expect(chunks.map((c) => c.count)).toEqual([8, 8, 8, 8, 7]);
      expect(chunks[0]!.after).toBeNull();
      let start = 0;
      for (const chunk of chunks) {
        const { points } = await catalog.pageDatapoints(id, { after: chunk.after, through: chunk.through, limit: 100 });
        expect(ids(points)).toEqual(ids(all.slice(start, start + chunk.count)));
        // The same page without labels: everything else equal, and the same key to go on from.
        const refs = await catalog.pageDatapointRefs(id, { after: chunk.after, through: chunk.through, limit: 100 });
        expect(refs.points).toEqual(points.map(({ label: _label, ...ref }) => ref));
        expect(refs.last).toBe(chunk.through);
        start += chunk.count;
      }
      expect(await catalog.datapointChunks((await catalog.createDataset(newDataset())).id, 8)).toEqual([]);
      await expect(catalog.pageDatapoints(id, { after: '1; drop table datapoints', limit: 5 })).rejects.toThrow(InvalidInputError);
      await expect(catalog.pageDatapointRefs(id, { after: '1; drop table datapoints', limit: 5 })).rejects.toThrow(InvalidInputError);
      await expect(catalog.datapointChunks(id, 0)).rejects.toThrow(InvalidInputError);
    });

    it('stores labels of every ML type exactly', async () => {
      const { id } = await catalog.createDataset(newDataset());
      const [a, b, c] = makePoints(id, 3);
      const points: Datapoint[] = [
        { ...a!, label: [0, 1, 0] },
        { ...b!, label: [[[1, 2, 30, 40], [0, 0, 255, 255]], []] },
        { ...c!, label: { width: 4, height: 2, runs: [0, 3, 2, 5] } },
      ];
      await catalog.insertDatapoints(points);
      for (const point of points) expect(await catalog.getDatapoint(id, point.id)).toEqual(point);
    });

    it('packs segmentation runs into one string, reads them back exactly, and still reads rows stored unpacked', async () => {
      const { id } = await catalog.createDataset(newDataset({ mlType: 'segmentation' }));
      const [a, b, c, d] = makePoints(id, 4);
      const busy = Array.from({ length: 4000 }, (_, i) => (i % 2 === 0 ? (i * 7) % 256 : 1 + ((i * 131) % 300)));
      const packable: Datapoint[] = [
        { ...a!, label: { width: 64, height: 64, runs: busy.slice(0, 3998).concat([0, 4096 * 4096]) } },
        { ...b!, label: { width: 65536, height: 65536, runs: [255, 2 ** 32] } },
      ];
      // Not a plain (byte value, whole length) run list: kept as JSON, exactly as given.
      const kept: Datapoint[] = [
        { ...c!, label: { width: 4, height: 2, runs: [0, 3, 300, 5] } },
        { ...d!, label: { width: 4, height: 2, runs: [0, 8], note: 'extra' } as unknown as Datapoint['label'] },
      ];
      await catalog.insertDatapoints([...packable, ...kept]);
      for (const point of [...packable, ...kept]) expect(await catalog.getDatapoint(id, point.id)).toEqual(point);
      const { rows } = await backend.client.query<{ id: string; label: Record<string, unknown> }>(
        'select id, label from datapoints where dataset_id = $1::text',
        [id],
      );
      const stored = new Map(rows.map((row) => [row.id, row.label]));
      expect(Object.keys(stored.get(a!.id)!).sort()).toEqual(['height', 'packedRuns', 'width']);
      expect((stored.get(a!.id)!.packedRuns as string).length).toBeLessThan(JSON.stringify(busy).length);
      expect(stored.get(c!.id)).toEqual(kept[0]!.label);
      expect(stored.get(d!.id)).toEqual(kept[1]!.label);

      // A row written before packing (runs as a jsonb array) reads as it was.
      const [old] = makePoints(id, 1);
      await catalog.insertDatapoints([{ ...old!, label: [1] }]);
      await backend.client.query('update datapoints set label = $3::text::jsonb where dataset_id = $1::text and id = $2::text', [
        id,
        old!.id,
        JSON.stringify({ width: 2, height: 2, runs: [1, 4] }),
      ]);
      expect((await catalog.getDatapoint(id, old!.id))!.label).toEqual({ width: 2, height: 2, runs: [1, 4] });
    });

    it('touches the dataset updatedAt when datapoints are added', async () => {
      const { id } = await catalog.createDataset(newDataset());
      await backend.client.query(`update datasets set updated_at = '2000-01-01T00:00:00Z' where id = $1::text`, [id]);
      await catalog.insertDatapoints(makePoints(id, 2));
      const dataset = await catalog.getDataset(id);
      expect(dataset!.updatedAt.getTime()).toBeGreaterThan(Date.parse('2000-01-01T00:00:00Z'));
    });

    it('refuses datapoints for a dataset that does not exist, inserting none of the batch', async () => {
      const { id } = await catalog.createDataset(newDataset());
      const batch = [...makePoints(id, 2), ...makePoints('nosuchdataset', 1)];
      await expect(catalog.insertDatapoints(batch)).rejects.toThrow(/nosuchdataset/);
      await expect(catalog.insertDatapoints(batch)).rejects.toThrow(NotFoundError);
      expect((await catalog.counts(id)).total).toBe(0);
    });

    it('counts zero for a dataset without datapoints and refuses an unknown dataset', async () => {
      const { id } = await catalog.createDataset(newDataset());
      expect(await catalog.counts(id)).toEqual({ groups: {}, total: 0, cached: 0 });
      await expect(catalog.counts('nosuchdataset')).rejects.toThrow(NotFoundError);
    });
  });

  describe('chips', () => {
    it('marks chips cached idempotently; counts and the uncached list follow', async () => {
      const { id } = await catalog.createDataset(newDataset());
      const train = makePoints(id, 6, 'train');
      const test = makePoints(id, 4, 'test');
      const posted = [...train, ...test];
      await catalog.insertDatapoints(posted);
      expect(ids(await catalog.listUncached(id, 100))).toEqual(ids(posted));
      expect(ids(await catalog.listUncached(id, 3))).toEqual(ids(posted.slice(0, 3)));

      const chips = [train[0]!, train[2]!, test[1]!].map((point) => ({ id: point.id, chipKey: `chips/${point.id}` }));
      await catalog.markCached(id, chips);
      await catalog.markCached(id, chips);
      await catalog.markCached(id, [{ id: 'unknown-point', chipKey: 'chips/x' }]);

      expect(await catalog.counts(id)).toEqual({ groups: { train: 6, test: 4 }, total: 10, cached: 3 });
      const cachedIds = new Set(ids(chips));
      expect(ids(await catalog.listUncached(id, 100))).toEqual(ids(posted.filter((p) => !cachedIds.has(p.id))));
      expect((await catalog.getDatapoint(id, train[2]!.id))!.chipKey).toBe(`chips/${train[2]!.id}`);
      expect((await catalog.getDatapoint(id, train[1]!.id))!.chipKey).toBeNull();

      // Posting a cached point again keeps its chip.
      await catalog.insertDatapoints([train[0]!]);
      expect((await catalog.getDatapoint(id, train[0]!.id))!.chipKey).toBe(`chips/${train[0]!.id}`);
    });
  });

  describe('run numbers', () => {
    it('counts up from 1 per dataset and kind, without repeats under concurrency', async () => {
      const { id } = await catalog.createDataset(newDataset());
      const { id: other } = await catalog.createDataset(newDataset());
      expect(await catalog.nextRunNumber(id, 'ingest')).toBe(1);
      const concurrent = await Promise.all(Array.from({ length: 10 }, () => catalog.nextRunNumber(id, 'ingest')));
      expect([...concurrent].sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      expect(await catalog.nextRunNumber(id, 'cache')).toBe(1);
      expect(await catalog.nextRunNumber(other, 'ingest')).toBe(1);
      await expect(catalog.nextRunNumber('nosuchdataset', 'ingest')).rejects.toThrow(NotFoundError);
    });
  });

  describe('search', () => {
    // Datasets of two users; every name carries this run's token so other tests' datasets stay out of the way.
    const token = uniqueToken();
    const alice = `alice-${token}`;
    const bob = `bob-${token}`;
    let made: DatasetRecord[];

    type Spec = { name: string; userId: string; mlType: MlType; public: boolean; bbox: DatasetRecord['bbox'] };
    const specs: Spec[] = [
      { name: `Olinda Roofs ${token}`, userId: alice, mlType: 'segmentation', public: false, bbox: [0, 0, 10, 10] },
      { name: `olinda road ${token}`, userId: alice, mlType: 'object_detection', public: true, bbox: [20, 20, 30, 30] },
      { name: `Recife 100%_ ${token}`, userId: alice, mlType: 'classification', public: true, bbox: null },
      { name: `OLINDA bob ${token}`, userId: bob, mlType: 'segmentation', public: true, bbox: [5, 5, 6, 6] },
      { name: `secret bob ${token}`, userId: bob, mlType: 'segmentation', public: false, bbox: [0, 0, 50, 50] },
    ];

    /** The expected result, by a predicate written independently of the SQL. */
    function expected(viewer: string, keep: (spec: Spec) => boolean): string[] {
      return made
        .filter((_, i) => (specs[i]!.public || specs[i]!.userId === viewer) && keep(specs[i]!))
        .map((dataset) => dataset.id)
        .sort();
    }
    const intersects = (a: DatasetRecord['bbox'], b: [number, number, number, number]) =>
      a !== null && a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3];

    beforeAll(async () => {
      made = [];
      for (const spec of specs) {
        const created = await catalog.createDataset(
          newDataset({ name: spec.name, userId: spec.userId, mlType: spec.mlType, public: spec.public }),
        );
        made.push(spec.bbox ? await catalog.updateDataset(created.id, { bbox: spec.bbox }) : created);
      }
    });

    /** Search results limited to this block's datasets (other tests' public datasets may match too). */
    async function search(query: Parameters<Catalog['searchDatasets']>[0]): Promise<string[]> {
      const ours = new Set(ids(made));
      const found = await catalog.searchDatasets(query);
      for (const dataset of found) expect(dataset.public || dataset.userId === query.viewer).toBe(true);
      return ids(found)
        .filter((id) => ours.has(id))
        .sort();
    }

    it('never shows another user their private datasets', async () => {
      expect(await search({ viewer: alice, name: token })).toEqual(expected(alice, () => true));
      expect(await search({ viewer: bob, name: token })).toEqual(expected(bob, () => true));
      expect(await search({ viewer: alice, userId: bob })).toEqual(expected(alice, (s) => s.userId === bob));
      expect(await search({ viewer: 'carol', name: token, public: false })).toEqual([]);
    });

    it('matches names case-insensitively by substring, with % and _ taken literally', async () => {
      expect(await search({ viewer: alice, name: `olinda` })).toEqual(
        expected(alice, (s) => s.name.toLowerCase().includes('olinda')),
      );
      expect(await search({ viewer: alice, name: `100%_ ${token}` })).toEqual([made[2]!.id]);
      expect(await search({ viewer: alice, name: `100_% ${token}` })).toEqual([]);
    });

    it('filters by ML type, owner, visibility and bbox intersection, alone and combined', async () => {
      expect(await search({ viewer: alice, mlType: 'segmentation' })).toEqual(
        expected(alice, (s) => s.mlType === 'segmentation'),
      );
      expect(await search({ viewer: alice, userId: alice })).toEqual(expected(alice, (s) => s.userId === alice));
      expect(await search({ viewer: alice, public: true })).toEqual(expected(alice, (s) => s.public));
      expect(await search({ viewer: alice, public: false })).toEqual(expected(alice, (s) => !s.public));

      const boxes: Array<[number, number, number, number]> = [
        [5, 5, 25, 25],
        [11, 11, 19, 19],
        [10, 10, 12, 12], // touches alice's first dataset at a corner
        [-5, -5, -1, -1],
      ];
      for (const bbox of boxes) {
        expect(await search({ viewer: bob, bbox })).toEqual(expected(bob, (s) => intersects(s.bbox, bbox)));
      }

      expect(await search({ viewer: bob, name: 'olinda', mlType: 'segmentation', bbox: [0, 0, 7, 7] })).toEqual(
        expected(bob, (s) => /olinda/i.test(s.name) && s.mlType === 'segmentation' && intersects(s.bbox, [0, 0, 7, 7])),
      );
      expect(await search({ viewer: bob, userId: bob, public: false, bbox: [40, 40, 60, 60] })).toEqual([made[4]!.id]);
      expect(await search({ viewer: alice, userId: alice, mlType: 'classification', public: false })).toEqual([]);
    });
  });

  describe('validation', () => {
    const invalid = async (promise: Promise<unknown>, message: RegExp) => {
      await expect(promise).rejects.toThrow(InvalidInputError);
      await expect(promise).rejects.toThrow(message);
    };

    it('refuses bad datasets with a message naming the field', async () => {
      await invalid(catalog.createDataset(newDataset({ name: '  ' })), /name/);
      await invalid(catalog.createDataset(newDataset({ classes: [] })), /classes/);
      await invalid(catalog.createDataset(newDataset({ classes: ['a', 'b', 'a'] })), /classes.*repeated: a/);
      await invalid(catalog.createDataset(newDataset({ tileSize: [0, 256] })), /tileSize/);
      await invalid(catalog.createDataset(newDataset({ tileSize: [256, 4097] })), /tileSize/);
      await invalid(catalog.createDataset(newDataset({ tileSize: [25.5, 256] })), /tileSize/);
      await invalid(catalog.createDataset(newDataset({ mlType: 'regression' as MlType })), /mlType/);
      await invalid(catalog.createDataset(newDataset({ userId: '' })), /userId/);
      expect(await catalog.createDataset(newDataset({ tileSize: [4096, 1] }))).toMatchObject({ tileSize: [4096, 1] });
    });

    it('refuses bad updates, searches, ranges, datapoints and chips', async () => {
      const { id } = await catalog.createDataset(newDataset());
      await invalid(catalog.updateDataset(id, { bbox: [10, 0, 0, 10] }), /bbox/);
      await invalid(catalog.updateDataset(id, { bbox: [0, -91, 1, 1] }), /bbox/);
      await invalid(catalog.updateDataset(id, { dtype: 'complex64' as 'uint8' }), /dtype/);
      await invalid(catalog.updateDataset(id, { userId: 'someone' } as object), /userId/);
      await invalid(catalog.searchDatasets({ viewer: '' }), /viewer/);
      await invalid(catalog.listDatapoints(id, { offset: -1, limit: 10 }), /offset/);
      await invalid(catalog.listDatapoints(id, { offset: 0, limit: 1.5 }), /limit/);
      await invalid(catalog.listUncached(id, -1), /limit/);
      const [point] = makePoints(id, 1);
      const flat = { ...point!, window: { ...point!.window, width: 0 } };
      await invalid(catalog.insertDatapoints([flat]), /\[0\]\.window\.width/);
      await invalid(catalog.insertDatapoints([{ ...point!, id: '' }]), /\[0\]\.id/);
      await invalid(catalog.markCached(id, [{ id: point!.id, chipKey: '' }]), /chipKey/);
      await invalid(catalog.nextRunNumber(id, ''), /run kind/);
      expect((await catalog.getDataset(id))!.updatedAt).toBeInstanceOf(Date);
    });
  });
});

describe('PostgreSQL shared by several processes', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database?.drop());

  it('migrates a fresh database once when several processes open it at the same moment', async () => {
    const catalogs = await Promise.all(Array.from({ length: 4 }, () => openCatalog({ databaseUrl: database.url })));
    const client = createPgClient(database.url);
    try {
      const { rows } = await client.query<{ version: number }>('select version from veda_migrations order by version');
      expect(rows.map((row) => row.version)).toEqual(MIGRATIONS.map((migration) => migration.version));
      const created = await catalogs[0]!.createDataset(newDataset());
      expect(await catalogs[3]!.getDataset(created.id)).toEqual(created);
    } finally {
      await client.close();
      await Promise.all(catalogs.map((catalog) => catalog.close()));
    }
  });
});

describe('embedded catalog on disk', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'veda-catalog-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('keeps datasets in <dataDir>/catalog across reopening, and admits one process at a time', async () => {
    const first = await openCatalog({ dataDir });
    await access(join(dataDir, 'catalog'));
    await expect(openCatalog({ dataDir })).rejects.toThrow(SetupError);
    const created = await first.createDataset(newDataset());
    await first.insertDatapoints(makePoints(created.id, 3));
    await first.close();

    const again = await openCatalog({ dataDir });
    try {
      // updatedAt moved when the datapoints were posted.
      expect(await again.getDataset(created.id)).toEqual({ ...created, updatedAt: expect.any(Date) });
      expect((await again.counts(created.id)).total).toBe(3);
    } finally {
      await again.close();
    }
  });

  it('serves the directory to pg clients, which openCatalog({ dataDir }) finds by itself', async () => {
    const server = await serveEmbeddedCatalog({ dataDir });
    expect(server.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
    let datasetId: string;
    try {
      await expect(serveEmbeddedCatalog({ dataDir })).rejects.toThrow(SetupError);
      const viaUrl = await openCatalog({ databaseUrl: server.url });
      const viaDir = await openCatalog({ dataDir });
      try {
        const { id } = await viaUrl.createDataset(newDataset());
        datasetId = id;
        const points = makePoints(id, 50);
        const inserted = await Promise.all([
          viaUrl.insertDatapoints(points.slice(0, 30)),
          viaDir.insertDatapoints(points.slice(20, 50)),
          viaUrl.nextRunNumber(id, 'ingest'),
          viaDir.nextRunNumber(id, 'ingest'),
        ]);
        expect(inserted[0] + inserted[1]).toBe(50);
        expect([inserted[2], inserted[3]].sort()).toEqual([1, 2]);
        expect((await viaDir.counts(id)).total).toBe(50);
      } finally {
        await viaUrl.close();
        await viaDir.close();
      }
    } finally {
      await server.close();
    }
    // Closed: the directory is free to open in process again, with what the clients wrote.
    const direct = await openCatalog({ dataDir });
    try {
      expect((await direct.counts(datasetId)).total).toBe(50);
    } finally {
      await direct.close();
    }
  });
});

describe('openCatalog without options', () => {
  it('opens an empty catalog in memory', async () => {
    const catalog = await openCatalog({});
    try {
      const created = await catalog.createDataset(newDataset());
      expect(await catalog.searchDatasets({ viewer: created.userId })).toEqual([created]);
    } finally {
      await catalog.close();
    }
  });
});
