/**
 * Cache: read every datapoint's window from its image and store the chip, so batches never touch the source
 * imagery again. `percent_cached` rises as chunks finish. Runs as the last stage of an ingest, or alone
 * (`veda cache`, or after `feed()`), and is idempotent: cached chips are skipped.
 */
import { patched, proxyActivities } from '@temporalio/workflow';
import type { CacheChunkRange } from '../activities/types.js';
import type { VedaActivities } from '../activities/index.js';
import { chunkRanges, mapBounded, type ChunkRange } from './chunks.js';
import { percent } from '../domain/percent.js';
import type { Progress } from './progress.js';
import { runTracked } from './tracked.js';
import { reportProgress, reportStage } from './reporting.js';
import { ACTIVITY_OPTIONS } from './retry-policy.js';

/** patched() id: cache chunks read datapoints by key ranges from planCacheChunks, not by offset. */
const CACHE_CHUNKS_BY_KEY = 'cache-chunks-by-key';

export interface CacheWorkflowInput {
  datasetId: string;
  chunkSize?: number;
  parallelism?: number;
}

type Activities = ReturnType<typeof proxyActivities<VedaActivities>>;

export async function runCacheStage(
  activities: Activities,
  progress: Progress,
  total: number,
  chunkSize: number,
  parallelism: number,
): Promise<void> {
  reportStage(progress, 'caching');
  progress.done = 0;
  progress.total = total;
  let cached = 0;
  // Chunk sizes as chunkRanges grows them (so a run schedules at most its 2000 chunks), cut by catalog key. Runs
  // started before keyed chunks existed keep their offset ranges (a deploy must not break runs in flight).
  const offsetRanges = chunkRanges(total, chunkSize);
  const size = offsetRanges[0]?.end ?? chunkSize;
  const ranges: Array<ChunkRange & Partial<CacheChunkRange>> = patched(CACHE_CHUNKS_BY_KEY)
    ? await activities.planCacheChunks.executeWithOptions(
        { ...ACTIVITY_OPTIONS, summary: `cut the datapoints of dataset ${progress.datasetId} into chunks of ${size}` },
        [{ datasetId: progress.datasetId, chunkSize: size }],
      )
    : offsetRanges;
  await mapBounded(ranges, parallelism, async (range, i) => {
    const result = await activities.cacheChunk.executeWithOptions(
      { ...ACTIVITY_OPTIONS, summary: `cache datapoints ${range.start}-${range.end - 1} of dataset ${progress.datasetId} (chunk ${i + 1}/${ranges.length})` },
      [{ datasetId: progress.datasetId, ...range }],
    );
    cached += result.cached;
    progress.done += range.end - range.start;
    progress.percentCached = percent(cached, total);
    reportProgress(progress);
  });
}

export async function cacheWorkflow(input: CacheWorkflowInput): Promise<Progress> {
  const activities = proxyActivities<VedaActivities>(ACTIVITY_OPTIONS);
  return runTracked('cache', input.datasetId, async (progress) => {
    const counts = await activities.datasetCounts({ datasetId: input.datasetId });
    progress.groups = counts.groups;
    await runCacheStage(activities, progress, counts.total, input.chunkSize ?? 128, input.parallelism ?? 4);
  });
}
