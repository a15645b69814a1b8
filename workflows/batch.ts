/**
 * Batch: cache whatever is not cached yet, then stream the selected chips and labels into one HDF5 file that
 * users train from. Started by the client, the CLI, or a Temporal Schedule (`veda schedule create`), whose runs
 * each write a new versioned file and move the dataset's `latest.h5` pointer.
 */
import { proxyActivities, setHandler } from '@temporalio/workflow';
import type { BuildBatchInput } from '../activities/types.js';
import type { VedaActivities } from '../activities/index.js';
import { runCacheStage } from './cache.js';
import { failureMessage, initialProgress, progressQuery, type Progress } from './progress.js';
import { ACTIVITY_OPTIONS, reportProgress, reportStage } from './reporting.js';

export interface BatchWorkflowInput extends Omit<BuildBatchInput, 'seed'> {
  seed?: number;
  chunkSize?: number;
  parallelism?: number;
}

export async function batchWorkflow(input: BatchWorkflowInput): Promise<Progress> {
  const activities = proxyActivities<VedaActivities>(ACTIVITY_OPTIONS);
  const progress = initialProgress('batch', input.datasetId);
  setHandler(progressQuery, () => progress);
  try {
    const counts = await activities.datasetCounts({ datasetId: input.datasetId });
    progress.groups = counts.groups;
    if (counts.cached < counts.total) {
      await runCacheStage(activities, progress, counts.total, input.chunkSize ?? 128, input.parallelism ?? 4);
    } else {
      progress.percentCached = counts.total > 0 ? 100 : 0;
    }
    reportStage(progress, 'batching');
    progress.done = 0;
    progress.total = input.size === undefined ? counts.total : Math.min(input.size, counts.total);
    reportProgress(progress);
    const { chunkSize: _c, parallelism: _p, ...build } = input;
    const result = await activities.buildBatch.executeWithOptions(
      {
        ...ACTIVITY_OPTIONS,
        startToCloseTimeout: '6 hours',
        summary: `write ${input.size ?? 'all'} samples of dataset ${input.datasetId} to HDF5` +
          (input.split ? ` split ${Object.entries(input.split).map(([g, r]) => `${g} ${r}`).join('/')}` : ''),
      },
      [{ ...build, seed: input.seed ?? 0 }],
    );
    progress.done = progress.total = result.samples;
    progress.groups = result.groups;
    progress.output = result.path;
    reportStage(progress, 'done');
    return progress;
  } catch (err) {
    progress.errors.push(failureMessage(err));
    reportStage(progress, 'failed');
    throw err;
  }
}
