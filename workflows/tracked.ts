/**
 * The frame every veda workflow runs in: progress state, its query, and the final `done` / `failed` / `cancelled`
 * report. A cancelled run rethrows the cancellation, so Temporal (and the Web UI) records it as Canceled.
 */
import { defineQuery, isCancellation, setHandler } from '@temporalio/workflow';
import { failureMessage, initialProgress, PROGRESS_QUERY, type Progress, type WorkflowKind } from './progress.js';
import { reportStage } from './reporting.js';

export const progressQuery = defineQuery<Progress>(PROGRESS_QUERY);

export async function runTracked(
  kind: WorkflowKind,
  datasetId: string,
  body: (progress: Progress) => Promise<void>,
): Promise<Progress> {
  const progress = initialProgress(kind, datasetId);
  setHandler(progressQuery, () => progress);
  try {
    await body(progress);
    reportStage(progress, 'done');
    return progress;
  } catch (err) {
    const cancelled = isCancellation(err);
    progress.errors.push(cancelled ? 'cancelled' : failureMessage(err));
    reportStage(progress, cancelled ? 'cancelled' : 'failed');
    throw err;
  }
}
