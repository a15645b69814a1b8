/**
 * Batch: cache whatever is not cached yet, then stream the selected chips and labels into one HDF5 file that
 * users train from, in the batch store. Started by the client, the CLI, or a Temporal Schedule (`veda schedule
 * create`), whose runs each write a new versioned file and make the dataset's `latest.h5` that file. The write is one long activity:
 * its heartbeats carry how far it is (WorkflowRun.progress folds them in), and a retry rewrites the file whole.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { BuildBatchInput } from '../activities/types.js';
import type { VedaActivities } from '../activities/index.js';
import { runCacheStage } from './cache.js';
import type { Progress } from './progress.js';
import { runTracked } from './tracked.js';
import { reportProgress, reportStage } from './reporting.js';
import { ACTIVITY_OPTIONS } from './retry-policy.js';

export interface BatchWorkflowInput extends Omit<BuildBatchInput, 'seed'> {
  seed?: number;
  chunkSize?: number;
  parallelism?: number;
}

export async function batchWorkflow(input: BatchWorkflowInput): Promise<Progress> {
  const activities = proxyActivities<VedaActivities>(ACTIVITY_OPTIONS);
  const { chunkSize = 128, parallelism = 4, ...build } = input;
  return runTracked('batch', input.datasetId, async (progress) => {
    const counts = await activities.datasetCounts({ datasetId: input.datasetId });
    progress.groups = counts.groups;
    if (counts.cached < counts.total) await runCacheStage(activities, progress, counts.total, chunkSize, parallelism);
    else progress.percentCached = counts.total > 0 ? 100 : 0;

    reportStage(progress, 'batching');
    const pool = input.groups?.length ? input.groups.reduce((n, g) => n + (counts.groups[g] ?? 0), 0) : counts.total;
    progress.done = 0;
    progress.total = input.size === undefined ? pool : Math.min(input.size, pool);
    reportProgress(progress);
    const result = await activities.buildBatch.executeWithOptions(
      {
        ...ACTIVITY_OPTIONS,
        startToCloseTimeout: '6 hours',
        summary: `write ${progress.total} samples of dataset ${input.datasetId} to HDF5` +
          (input.split ? `, split ${Object.entries(input.split).map(([g, r]) => `${g} ${r}`).join('/')}` : ''),
      },
      [{ ...build, seed: input.seed ?? 0 }],
    );
    progress.done = progress.total = result.samples;
    progress.groups = result.groups;
    progress.output = result.uri;
    progress.outputKey = result.key;
  });
}
