/** The frame every veda workflow runs in: progress state, its query, and the final `done` / `failed` report. */
import { defineQuery, setHandler } from '@temporalio/workflow';
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
    progress.errors.push(failureMessage(err));
    reportStage(progress, 'failed');
    throw err;
  }
}
