import { createHash } from 'node:crypto';
import type { PixelWindow } from '../types.js';

/**
 * A datapoint's id is a pure function of what it is: the same window of the same source in the same group of the
 * same dataset is the same datapoint. That is what makes every post idempotent: a retried or replayed chunk
 * computes the same ids and the catalog ignores the ones it already has.
 */
export function datapointId(datasetId: string, source: string, window: PixelWindow, group: string): string {
  const key = JSON.stringify([datasetId, source, window.x, window.y, window.width, window.height, group]);
  return createHash('sha256').update(key).digest('hex').slice(0, 32);
}
