import { InvalidInputError } from '../errors.js';
import { isPlainSegment } from '../storage/object-keys.js';

/**
 * The key of a datapoint's chip: one folder per dataset (deleting a dataset deletes one prefix), sharded by the
 * first two characters of the datapoint id so no folder holds more than a few thousand chips.
 */
export function chipKey(datasetId: string, datapointId: string): string {
  for (const [what, id] of [['dataset id', datasetId], ['datapoint id', datapointId]] as const) {
    if (!isPlainSegment(id)) throw new InvalidInputError(`${what} "${id}" cannot name a chip (a path segment)`);
  }
  return `${datasetChipPrefix(datasetId)}${datapointId.slice(0, 2)}/${datapointId}.chip`;
}

/** The prefix of every chip key of a dataset (what deletePrefix takes to remove them all). */
export function datasetChipPrefix(datasetId: string): string {
  return `datasets/${datasetId}/chips/`;
}
