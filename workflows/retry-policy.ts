/** How long veda's activities may run, when they are presumed dead, how they are cancelled and how they are retried. */
import { ActivityCancellationType, type ActivityOptions } from '@temporalio/workflow';
import { NON_RETRYABLE_ERROR_KINDS } from '../domain/errors.js';

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
