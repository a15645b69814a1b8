/**
 * How workflows show their progress outside the `progress` query: the Web UI's current details (free: no history
 * event) on every update, and the `VedaStage` search attribute (one event) on each stage change.
 */
import { setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { MlType } from '../domain/types.js';
import { DATASET_ID, ML_TYPE, STAGE } from './search-attributes.js';
import { describeProgress, type Progress, type Stage } from './progress.js';

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
