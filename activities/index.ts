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

export interface ActivityDependencies {
  catalog: Catalog;
  chips: ChipStore;
  /** Where batch files go (keys `<dataset>/<name>.h5`): the only place a worker writes them. */
  batches: ObjectStore;
  /** Local scratch space: batch files are written here, then stored. */
  scratchDir: string;
}

export function createActivities(deps: ActivityDependencies) {
  const resources = new ActivityResources(deps.catalog);
  return withFailureMapping({
    ...createIngestActivities(deps.catalog, deps.chips, resources),
    ...createCacheActivities(deps.catalog, deps.chips, resources),
    ...createBatchActivities(deps.catalog, deps.chips, resources, deps.batches, deps.scratchDir),
  });
}

export type VedaActivities = ReturnType<typeof createActivities>;
