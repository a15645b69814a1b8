/**
 * Cache activities: read each datapoint's window from its image and store the chip. Idempotent: a datapoint
 * already cached is skipped, a chip is written atomically under a key derived from its datapoint id, and the
 * catalog is told only after the chip is safely stored.
 */
import { Context } from '@temporalio/activity';
import type { Catalog, DatapointRef, DatasetCounts, DatasetRecord } from '../domain/catalog/types.js';
import type { Raster } from '../domain/types.js';
import type { ChipStore } from '../domain/chips/types.js';
import { chipKey } from '../domain/chips/index.js';
import type { CacheChunkInput, CacheChunkRange, CacheChunkResult } from './types.js';
import { bandsForSource, ingestOf } from '../domain/catalog/dataset-ingests.js';
import type { ActivityResources, ImageLeases } from './worker-caches.js';
import { checkChipShape } from './chip-shape.js';
import { extendDatasetBbox } from './dataset-bbox.js';
import { batchesOf, CHIP_WRITES, eachConcurrently, eachLoadingNext } from './read-ahead.js';
import { unionBounds, windowBox, type Bounds } from '../domain/geo/index.js';

/** Chips read per compute task, and stored between two catalog updates (and heartbeats). */
const MARK_BATCH = 32;

export function createCacheActivities(catalog: Catalog, chips: ChipStore, resources: ActivityResources) {
  const cacheChunk = (input: CacheChunkInput) => resources.withImages((images) => cacheRange(input, images));

  /** The chips of the points not cached yet, by datapoint id, read on the compute threads (one task per image). */
  async function readChips(dataset: DatasetRecord, points: DatapointRef[]): Promise<Map<string, Raster>> {
    const bySource = new Map<string, DatapointRef[]>();
    for (const point of points) {
      if (point.chipKey !== null) continue;
      const uncached = bySource.get(point.source);
      if (uncached) uncached.push(point);
      else bySource.set(point.source, [point]);
    }
    const chipsOf = new Map<string, Raster>();
    await Promise.all(
      [...bySource].map(async ([source, uncached]) => {
        const bands = bandsForSource(dataset, source);
        const read = await resources.compute.readWindows({ image: source, ...(bands ? { bands } : {}), windows: uncached.map((p) => p.window) });
        uncached.forEach((point, i) => chipsOf.set(point.id, read[i]!));
      }),
    );
    return chipsOf;
  }

  async function cacheRange({ datasetId, start, end, after, through }: CacheChunkInput, images: ImageLeases): Promise<CacheChunkResult> {
    const ctx = Context.current();
    let dataset = await resources.dataset(datasetId);
    // Caching needs windows, not labels (a segmentation mask each).
    const points: DatapointRef[] =
      through === undefined
        ? await catalog.listDatapoints(datasetId, { offset: start, limit: end - start }) // a run from before keyed chunks
        : (await catalog.pageDatapointRefs(datasetId, { after, through, limit: end - start })).points;
    // Fed datapoints carry no image metadata: their chips give the dataset its shape, and their windows its bbox.
    const extents = new Map<string, Bounds>();
    const result: CacheChunkResult = { cached: 0, stored: 0 };
    let pending: Array<{ id: string; chipKey: string }> = [];
    const flush = async () => {
      if (pending.length) await catalog.markCached(datasetId, pending);
      pending = [];
      ctx.heartbeat(result);
    };
    // The next batch's windows are read (on compute threads) while this batch's chips are stored.
    await eachLoadingNext(batchesOf(points, MARK_BATCH), (batch) => readChips(dataset, batch), async (read, batch) => {
      if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
      const stores: Array<{ key: string; chip: Raster }> = [];
      for (const point of batch) {
        const chip = read.get(point.id);
        if (chip) {
          dataset = await checkChipShape(catalog, dataset, chip, point.source);
          // An ingest already put its windows in the bbox (finishIngest); fed windows are added here.
          if (!ingestOf(dataset, point.source)) extents.set(point.source, unionBounds(extents.get(point.source) ?? null, windowBox(point.window)));
          const key = chipKey(datasetId, point.id);
          stores.push({ key, chip });
          pending.push({ id: point.id, chipKey: key });
          result.stored++;
        }
        result.cached++;
      }
      // Chips first, then the rows that say they are cached.
      await eachConcurrently(stores, CHIP_WRITES, ({ key, chip }) => chips.put(key, chip));
      resources.compute.recycle(stores.map((stored) => stored.chip));
      await flush();
    });
    for (const [source, extent] of extents) await extendDatasetBbox(catalog, datasetId, (await images.get(source)).info, extent);
    return result;
  }

  /**
   * The dataset cut into cache chunks of `chunkSize` datapoints, as key ranges: a chunk reads its datapoints by key
   * (an index range), so the last chunk of a 100,000-point dataset costs what the first does.
   */
  async function planCacheChunks({ datasetId, chunkSize }: { datasetId: string; chunkSize: number }): Promise<CacheChunkRange[]> {
    await resources.dataset(datasetId);
    let start = 0;
    return (await catalog.datapointChunks(datasetId, chunkSize)).map(({ after, through, count }) => {
      const range = { start, end: start + count, after, through };
      start += count;
      return range;
    });
  }

  async function datasetCounts({ datasetId }: { datasetId: string }): Promise<DatasetCounts> {
    await resources.dataset(datasetId);
    return catalog.counts(datasetId);
  }

  return { cacheChunk, planCacheChunks, datasetCounts };
}
