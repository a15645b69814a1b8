/**
 * The batch activity: stream cached chips and labels of the selected datapoints into one HDF5 file in this
 * worker's scratch space, then put it in the batch store (multipart to S3) and make the dataset's `latest.h5` the
 * same file. The store's writes are atomic, so a retry or a killed worker leaves the old object or a complete new
 * one. The name derives from the workflow run, so a retried build rewrites the same version while every run (a
 * schedule's runs may share a workflow id) writes a new one. Workers write only there: clients fetch copies.
 */
import { chmod, mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { whileHeartbeating } from './heartbeat.js';
import type { Catalog } from '../domain/catalog/types.js';
import type { ChipStore } from '../domain/chips/types.js';
import type { ObjectStore } from '../domain/storage/object-store.js';
import { datasetDoc } from '../domain/catalog/dataset-doc.js';
import { InvalidInputError } from '../domain/errors.js';
import { selectBatch, type BatchSample } from '../domain/batches/index.js';
import type { BuildBatchInput, BuildBatchResult } from './types.js';
import type { PixelWindow } from '../domain/types.js';
import { checkLeakage, windowOverlap } from '../domain/splits/leakage.js';
import { batchManifest } from '../domain/manifest/manifest.js';
import type { ActivityResources } from './worker-caches.js';
import { formatShare } from '../domain/percent.js';
import { CHIP_READS_AHEAD, loadedAhead } from './read-ahead.js';

/** Datapoints read from the catalog per query while collecting candidates, and while writing. */
const PAGE = 5000;
const WRITE_PAGE = 256;

export function createBatchActivities(
  catalog: Catalog,
  chips: ChipStore,
  resources: ActivityResources,
  batches: ObjectStore,
  scratchDir: string,
  directIo: boolean,
) {
  async function buildBatch(input: BuildBatchInput): Promise<BuildBatchResult> {
    const ctx = Context.current();
    const dataset = await resources.dataset(input.datasetId);
    const counts = await catalog.counts(dataset.id);
    // Select on ids and groups only: labels (a segmentation mask each) are fetched a page at a time while writing,
    // so memory follows the page size, not the dataset. Pages follow the key, so each costs the same.
    const candidates: Array<{ id: string; group: string; source: string; window: PixelWindow }> = [];
    for (let after: string | null = null; ; ) {
      const page = await catalog.pageDatapointRefs(dataset.id, { after, limit: PAGE });
      for (const p of page.points) if (p.chipKey !== null) candidates.push({ id: p.id, group: p.group, source: p.source, window: p.window });
      ctx.heartbeat({ collected: candidates.length });
      if (page.points.length < PAGE) break;
      after = page.last;
    }
    const selected = selectBatch(candidates, input);
    const leakage = input.split ? resplitLeakage(dataset.id, selected.map((s) => s.item), input.allowLeakage) : undefined;

    // Started outside a workflow (a standalone activity), a build is a run of its own.
    const { workflowId, runId } = ctx.info.workflowExecution ?? { workflowId: `batch-${ctx.info.activityId}`, runId: ctx.info.activityId };
    const name = `${workflowId}.${runId.slice(-8)}.h5`;
    const key = `${dataset.id}/${name}`;
    const file = path.join(scratchDir, 'batches', dataset.id, `${name}.${ctx.info.attempt}`);
    await mkdir(path.dirname(file), { recursive: true });
    // An earlier attempt of this build died mid-write (a killed worker) on this machine: drop its scratch files.
    await removeScratch(path.dirname(file), name);

    async function* samples(): AsyncGenerator<BatchSample> {
      for (let start = 0; start < selected.length; start += WRITE_PAGE) {
        const slice = selected.slice(start, start + WRITE_PAGE);
        const points = await catalog.getDatapoints(dataset.id, slice.map((s) => s.item.id));
        if (points.length !== slice.length) throw new Error(`datapoints of dataset ${dataset.id} were deleted while its batch was written`);
        // The next chips are read while HDF5 writes this one.
        const loads = points.map((point, i) => async (): Promise<BatchSample> => {
          const { id, source, window, label, chipKey } = point;
          return { id, group: slice[i]!.group, source, window, label, image: await chips.get(chipKey!) };
        });
        yield* loadedAhead(loads, CHIP_READS_AHEAD);
      }
    }
    // File group order: the split's, else the requested groups', else posting order (not the shuffled draw's).
    const drawn = new Set(selected.map((s) => s.group));
    const posted = [...new Set(candidates.map((c) => c.group))];
    const groups = input.split ? Object.keys(input.split) : (input.groups ?? posted).filter((g) => drawn.has(g));
    const summary = await resources.compute.writeBatch(
      file,
      {
        dataset: datasetDoc(dataset, counts),
        classes: dataset.classes,
        mlType: dataset.mlType,
        seed: input.seed,
        inputs: {
          ...batchManifest(dataset.sources),
          ingests: dataset.ingests,
          selection: { ...input, output: undefined },
          ...(leakage ? { leakage } : {}),
          workflowId,
          runId,
        },
        groups,
      },
      samples(),
      {
        compression: input.compression,
        directIo,
        onProgress: (done) => ctx.heartbeat({ done, total: selected.length }),
        signal: ctx.cancellationSignal,
      },
    );

    try {
      const storing = { done: selected.length, total: selected.length, storing: key };
      ctx.heartbeat(storing);
      const latest = `${dataset.id}/latest.h5`;
      // Uploading a batch of many GB to S3 outlasts the heartbeat timeout: heartbeat meanwhile.
      await whileHeartbeating(
        async () => {
          // A stored batch never changes: read-only, so a local store links it to the clients' copies (`--out`).
          await chmod(file, 0o444);
          await batches.putFile(key, file);
          await batches.copy(key, latest);
        },
        { details: storing },
      );
      return { key, uri: batches.uri(key), latest: batches.uri(latest), groups: summary.groups, samples: summary.samples };
    } finally {
      await rm(file, { force: true });
    }
  }

  return { buildBatch };
}

/**
 * A --split shuffles samples across new groups. Refused when the dataset's own groups are spatially separate
 * (the split would undo that), and when windows share pixels (the same pixels would land in two splits) unless
 * the user allows it; then the measured overlap is returned to be recorded in the file.
 */
function resplitLeakage(datasetId: string, items: ReadonlyArray<{ group: string; source: string; window: PixelWindow }>, allow?: boolean) {
  const groups = [...new Set(items.map((i) => i.group))];
  if (groups.length > 1 && !checkLeakage(items.map((i) => ({ ...i, label: [] })), 'classification', []).leaks && !allow) {
    throw new InvalidInputError(
      `dataset ${datasetId}'s groups ${groups.join(', ')} share no pixel: --split would shuffle them into one another. ` +
        'Drop --split to keep them (choose with --groups)',
    );
  }
  const overlap = windowOverlap(items);
  if (overlap.overlapping > 0 && !allow) {
    throw new InvalidInputError(
      `${overlap.overlapping} of ${overlap.windows} windows of dataset ${datasetId} share pixels with another window ` +
        `(${formatShare(overlap.pixelShare)} of the pixels they cover lie in two or more): a shuffled --split ` +
        'would put the same pixels in two splits. Ingest with --spatial-split instead, or pass --allow-leakage',
    );
  }
  return overlap;
}

/** Removes this build's scratch files: `<name>.<attempt>` and the writer's `.tmp-*` beside them. */
async function removeScratch(dir: string, name: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => n.startsWith(`${name}.`)).map((n) => rm(path.join(dir, n), { force: true })));
}
