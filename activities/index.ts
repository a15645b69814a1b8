/**
 * Builds veda's activities from their dependencies. Workflows import only the type `VedaActivities`.
 */
import type { Catalog } from '../domain/catalog/types.js';
import type { ChipStore } from '../domain/chips/types.js';
import type { ObjectStore } from '../domain/storage/object-store.js';
import { createBatchActivities } from './batch.js';
import { createCacheActivities } from './cache.js';
import { withFailureMapping } from './errors.js';
import { createIngestActivities } from './ingest.js';
import { ActivityResources } from './worker-caches.js';
import { ComputePool, defaultComputeThreads } from '../compute/pool.js';

export interface ActivityDependencies {
  catalog: Catalog;
  chips: ChipStore;
  /** Where batch files go (keys `<dataset>/<name>.h5`): the only place a worker writes them. */
  batches: ObjectStore;
  /** Local scratch space: batch files are written here, then stored. */
  scratchDir: string;
  /** Batch files written around the page cache where the filesystem allows (default true; VedaConfig.directIo). */
  directIo?: boolean;
}

export interface ActivityOptions {
  /** Threads for the chunks' pixel work (window reads, label encoding); default defaultComputeThreads(), 0 for none. */
  computeThreads?: number;
  /** Decoded imagery blocks the worker keeps, in bytes (see ComputePoolOptions.blockCacheBytes). */
  blockCacheBytes?: number;
}

export function createActivities(deps: ActivityDependencies, options: ActivityOptions = {}) {
  const compute = new ComputePool({
    threads: options.computeThreads ?? defaultComputeThreads(),
    ...(options.blockCacheBytes !== undefined ? { blockCacheBytes: options.blockCacheBytes } : {}),
  });
  const resources = new ActivityResources(deps.catalog, compute);
  return withFailureMapping({
    ...createIngestActivities(deps.catalog, deps.chips, resources),
    ...createCacheActivities(deps.catalog, deps.chips, resources),
    ...createBatchActivities(deps.catalog, deps.chips, resources, deps.batches, deps.scratchDir, deps.directIo ?? true),
  });
}

export type VedaActivities = ReturnType<typeof createActivities>;
