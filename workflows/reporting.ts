/**
 * How workflows show their progress outside the `progress` query: the Web UI's current details (free: no history
 * event) on every update, and the `VedaStage` search attribute (one event) on each stage change.
 */
import { ActivityCancellationType, setCurrentDetails, upsertSearchAttributes, type ActivityOptions } from '@temporalio/workflow';
import { NON_RETRYABLE_ERROR_KINDS } from '../domain/errors.js';
import type { MlType } from '../domain/types.js';
import { DATASET_ID, ML_TYPE, STAGE } from './search-attributes.js';
import { describeProgress, type Progress, type Stage } from './progress.js';

export const ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30 minutes',
  // Chunk activities heartbeat every few windows; a silent worker is presumed dead after this, and its chunk
  // resumes elsewhere from the last heartbeat.
  heartbeatTimeout: '15 seconds',
  // A cancelled run ends only once its activities have stopped (they see the cancellation at their next
  // heartbeat), so when `veda cancel` returns nothing is still writing to the catalog or the chip store.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 10,
    nonRetryableErrorTypes: NON_RETRYABLE_ERROR_KINDS,
  },
};

export function reportProgress(progress: Progress): void {
  setCurrentDetails(describeProgress(progress));
}

export function reportStage(progress: Progress, stage: Stage, mlType?: MlType): void {
  progress.stage = stage;
  upsertSearchAttributes([
    { key: DATASET_ID, value: progress.datasetId },
    { key: STAGE, value: stage },
    ...(mlType ? [{ key: ML_TYPE, value: mlType }] : []),
  ]);
  reportProgress(progress);
}
