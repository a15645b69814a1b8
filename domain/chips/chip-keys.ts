import { isAbsolute, resolve, sep } from 'node:path';
import { InvalidInputError } from '../errors.js';

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

function isPlainSegment(segment: string): boolean {
  return segment !== '' && segment !== '.' && segment !== '..' && !/[/\\\0]/.test(segment);
}

/**
 * The file of a key (or the path a prefix starts) under `root`. Keys are relative, '/'-separated paths of plain
 * segments: no absolute paths, backslashes, '.', '..' or empty segments, so a key can never leave the root or
 * name one file two ways. A prefix may end with '/' or part way through a name; it cannot be empty.
 */
export function pathUnderRoot(root: string, key: string, kind: 'key' | 'prefix'): string {
  const segments = key.split('/');
  if (kind === 'prefix' && segments.length > 1 && segments.at(-1) === '') segments.pop();
  const file = resolve(root, key);
  if (isAbsolute(key) || !segments.every(isPlainSegment) || !file.startsWith(root + sep)) {
    throw new InvalidInputError(`chip ${kind} "${key}" must be a relative path of plain segments inside the chip store`);
  }
  return file;
}
