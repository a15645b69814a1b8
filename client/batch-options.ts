/** The user's batch options (API and CLI), checked and turned into the batch workflow's input. */
import { InvalidInputError } from '../domain/errors.js';
import type { BatchWorkflowInput } from '../workflows/batch.js';

export interface BatchOptions {
  /** Samples in the batch (all cached datapoints when omitted). */
  size?: number;
  /** Groups to draw from (all when omitted). */
  groups?: string[];
  /** Re-partition into train/test/validate by ratios: { train: 70, test: 20, validate: 10 } or [70, 20, 10]. */
  split?: Record<string, number> | number[];
  /** Split even when windows share pixels (refused otherwise: the same pixels would land in two splits). */
  allowLeakage?: boolean;
  seed?: number;
  shuffle?: boolean;
  /** gzip level 1-9 for images and masks (none by default: h5wasm's gzip is 10x slower to write). */
  compression?: number;
  /**
   * Where the client puts its copy of the file (the worker stores it in the batch store, as
   * `<dataset>/<workflow id>.<run>.h5` and `<dataset>/latest.h5`, and never writes a path a caller names).
   */
  out?: string;
}

/** Every option name, checked against BatchOptions by the compiler: a new option cannot be forgotten here. */
export const BATCH_OPTIONS = Object.keys({
  size: true, groups: true, split: true, seed: true, shuffle: true, compression: true, out: true, allowLeakage: true,
} satisfies Record<keyof BatchOptions, true>);

const SPLIT_NAMES = ['train', 'test', 'validate'];

export function batchWorkflowInput(datasetId: string, options: BatchOptions): BatchWorkflowInput {
  // Checked here as well as in the worker, so a bad option fails before a workflow (or a schedule) exists.
  if (options.size !== undefined && !(Number.isInteger(options.size) && options.size >= 1)) {
    throw new InvalidInputError(`batch size ${options.size} must be a positive integer`);
  }
  if (options.seed !== undefined && !Number.isSafeInteger(options.seed)) throw new InvalidInputError(`seed ${options.seed} must be an integer`);
  let split: Record<string, number> | undefined;
  if (Array.isArray(options.split)) {
    if (options.split.length < 1 || options.split.length > 3) throw new InvalidInputError('--split takes 1 to 3 ratios: train,test,validate');
    split = Object.fromEntries(options.split.map((r, i) => [SPLIT_NAMES[i]!, r]));
  } else {
    split = options.split;
  }
  if (split) {
    const ratios = Object.values(split);
    if (ratios.some((r) => !(r >= 0) || !Number.isFinite(r)) || !ratios.some((r) => r > 0)) {
      throw new InvalidInputError('split ratios are non-negative numbers, at least one of them positive');
    }
  }
  if (options.out !== undefined) {
    throw new InvalidInputError(
      `out (${options.out}) is where batch() and \`veda batch --out\` put the client's copy: a started batch is stored in the batch store (<dataset>/<run>.h5 and <dataset>/latest.h5)`,
    );
  }
  if (options.compression !== undefined && !(Number.isInteger(options.compression) && options.compression >= 0 && options.compression <= 9)) {
    throw new InvalidInputError('compression is a gzip level from 0 to 9');
  }
  return {
    datasetId,
    ...(options.size !== undefined ? { size: options.size } : {}),
    ...(options.groups?.length ? { groups: options.groups } : {}),
    ...(split ? { split } : {}),
    ...(split && options.allowLeakage ? { allowLeakage: true } : {}),
    seed: options.seed ?? 0,
    ...(options.shuffle !== undefined ? { shuffle: options.shuffle } : {}),
    ...(options.compression ? { compression: options.compression } : {}),
  };
}
