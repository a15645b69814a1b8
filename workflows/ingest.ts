/**
 * Ingest: plan windows over an image, encode each window's label, store its chip and post its datapoint, cached.
 * A cache stage follows only for datapoints still uncached (ones an earlier run posted without chips).
 *
 * The plan is a pure function of the image and the spec, so every chunk activity recomputes its slice of it:
 * only ranges travel through the history, and a retried chunk posts the same datapoint ids (no duplicates).
 * A run that fails takes back the datapoints (and chips) it posted and records why on the dataset, so a broken
 * input never leaves anything that looks like data; a cancelled run keeps them, for a new run to resume.
 */
import { ApplicationFailure, isCancellation, patched, proxyActivities } from '@temporalio/workflow';
import type { DatasetCounts, IngestSpec } from '../activities/types.js';
import type { VedaActivities } from '../activities/index.js';
import { unionBounds } from '../domain/geo/bounds.js';
import { percent } from '../domain/percent.js';
import { chunkRanges, mapBounded } from './chunks.js';
import { runCacheStage } from './cache.js';
import { failureMessage, type Progress } from './progress.js';
import { runTracked } from './tracked.js';
import { reportStage, reportProgress } from './reporting.js';
import { ACTIVITY_OPTIONS } from './retry-policy.js';

export interface IngestWorkflowInput {
  spec: IngestSpec;
  /** Cache chips after posting (default true). */
  cache?: boolean;
  /** Windows per ingest activity and datapoints per cache activity. */
  chunkSize?: number;
  /** Chunk activities in flight at once. */
  parallelism?: number;
}

const activities = proxyActivities<VedaActivities>(ACTIVITY_OPTIONS);

/** patched() id: a failed run takes back what it posted (runs of the previous release failed without doing so). */
const ABANDON_FAILED_INGEST = 'veda-abandon-failed-ingest';
/**
 * patched() id: posting chunks store the chips of the windows they post, so the cache stage runs only for what is
 * still uncached (runs of earlier releases posted, then cached everything in a stage of its own).
 */
const CACHE_WHILE_POSTING = 'veda-cache-while-posting';

export async function ingestWorkflow(input: IngestWorkflowInput): Promise<Progress> {
  const { spec } = input;
  if (!spec?.datasetId || !spec.image) throw ApplicationFailure.nonRetryable('ingest needs a dataset id and an image');
  const chunkSize = input.chunkSize ?? 128;
  const parallelism = input.parallelism ?? 4;
  return runTracked('ingest', spec.datasetId, async (progress) => {
    try {
      await ingestStages(input, progress, chunkSize, parallelism);
    } catch (err) {
      if (isCancellation(err) || !patched(ABANDON_FAILED_INGEST)) throw err;
      try {
        const { removed } = await activities.abandonIngest.executeWithOptions(
          { ...ACTIVITY_OPTIONS, summary: `take back the datapoints this failed run posted to dataset ${spec.datasetId}` },
          [{ spec, message: failureMessage(err) }],
        );
        progress.posted = 0;
        progress.removed = removed;
      } catch (cleanup) {
        // The dataset is gone (deleted meanwhile) or the catalog is down for good: the run's own failure is the news.
        progress.errors.push(`could not take back this run's datapoints: ${failureMessage(cleanup)}`);
      }
      throw err;
    }
  });
}

async function ingestStages(input: IngestWorkflowInput, progress: Progress, chunkSize: number, parallelism: number): Promise<void> {
  const { spec } = input;
  reportStage(progress, 'planning', spec.mlType);
  const prepared = await activities.prepareIngest.executeWithOptions(
    { ...ACTIVITY_OPTIONS, summary: `check ${spec.image.split('/').pop()} and the labels, plan ${spec.plan.strategy} windows of dataset ${spec.datasetId}` },
    [spec],
  );
  progress.total = progress.planned = prepared.total;
  progress.ignoredFeatures = prepared.ignoredFeatures;

  reportStage(progress, 'posting');
  const cacheWhilePosting = input.cache !== false && patched(CACHE_WHILE_POSTING);
  let cachedWhilePosting = 0;
  // One part per scene; each chunk is a range of one scene's plan and reads that scene.
  // A single scene may carry a cell layout (splits, held pixels, a region) and balanced picks, sliced per chunk.
  const parts = prepared.scenes ?? [{ spec, total: prepared.total, layout: prepared.layout, picks: prepared.picks }];
  const sceneNote = (part: number) => (parts.length > 1 ? ` (scene ${part + 1}/${parts.length}: ${parts[part]!.spec.image.split('/').pop()})` : '');
  const extents: Array<[number, number, number, number] | null> = parts.map(() => null);
  const ranges = parts.flatMap((part, p) => chunkRanges(part.total, chunkSize).map((range) => ({ part: p, ...range })));
  await mapBounded(ranges, parallelism, async ({ part, start, end }, i) => {
    const { spec: sceneSpec, total, layout, picks } = parts[part]!;
    const result = await activities.ingestChunk.executeWithOptions(
      { ...ACTIVITY_OPTIONS, summary: `${cacheWhilePosting ? 'label, cache and post' : 'label and post'} windows ${start}-${end - 1} of ${total} of dataset ${spec.datasetId} (chunk ${i + 1}/${ranges.length})${sceneNote(part)}` },
      [{ spec: sceneSpec, start, end, ...(layout ? { layout } : {}), ...(picks ? { picks: picks.slice(start, end) } : {}), ...(cacheWhilePosting ? { cache: true } : {}) }],
    );
    progress.done += result.windows;
    progress.posted += result.posted;
    progress.skipped += result.skipped;
    if (cacheWhilePosting) {
      cachedWhilePosting += result.cached ?? 0;
      progress.percentCached = percent(cachedWhilePosting, progress.total);
    }
    if (result.extent) extents[part] = unionBounds(extents[part] ?? null, result.extent);
    reportProgress(progress);
  });
  let counts!: DatasetCounts;
  for (const [p, part] of parts.entries()) {
    counts = await activities.finishIngest.executeWithOptions(
      { ...ACTIVITY_OPTIONS, summary: `count datapoints and update the bbox of dataset ${spec.datasetId}${sceneNote(p)}` },
      [{ spec: part.spec, extent: extents[p] ?? null }],
    );
  }
  progress.groups = counts.groups;
  progress.percentCached = percent(counts.cached, counts.total);

  const uncached = counts.total - counts.cached;
  if (input.cache !== false && (!cacheWhilePosting || uncached > 0)) await runCacheStage(activities, progress, counts.total, chunkSize, parallelism);
}
