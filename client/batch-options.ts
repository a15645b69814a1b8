/** The user's batch options (API and CLI): one schema checks them, and they become the batch workflow's input. */
import { z } from 'zod';
import { InvalidInputError } from '../domain/errors.js';
import { parseOptions } from '../domain/input-schema.js';
import type { BatchWorkflowInput } from '../workflows/batch.js';

const SPLIT_NAMES = ['train', 'test', 'validate'];
const RATIOS = 'split ratios are non-negative numbers, at least one of them positive';
const SIZE = { error: (issue: { input?: unknown }) => `batch size ${String(issue.input)} must be a positive integer` };
const SEED = { error: (issue: { input?: unknown }) => `seed ${String(issue.input)} must be an integer` };
const COMPRESSION = { error: 'compression is a gzip level from 0 to 9' };

const batchOptionsSchema = z.strictObject({
  /** Samples in the batch (all cached datapoints when omitted). */
  size: z.number(SIZE).int(SIZE).min(1, SIZE).optional(),
  /** Groups to draw from (all when omitted). */
  groups: z.array(z.string(), { error: 'groups is a list of group names' }).optional(),
  /** Re-partition into train/test/validate by ratios: { train: 70, test: 20, validate: 10 } or [70, 20, 10]. */
  split: z
    .union([z.array(z.number({ error: RATIOS })), z.record(z.string(), z.number({ error: RATIOS }))], { error: RATIOS })
    .superRefine((split, ctx) => {
      const ratios = Object.values(split);
      if (Array.isArray(split) && (split.length < 1 || split.length > 3)) ctx.addIssue({ code: 'custom', message: '--split takes 1 to 3 ratios: train,test,validate' });
      else if (ratios.some((r) => !(r >= 0) || !Number.isFinite(r)) || !ratios.some((r) => r > 0)) ctx.addIssue({ code: 'custom', message: RATIOS });
    })
    .transform((split): Record<string, number> => (Array.isArray(split) ? Object.fromEntries(split.map((r, i) => [SPLIT_NAMES[i]!, r])) : split))
    .optional(),
  /** Split even when windows share pixels (refused otherwise: the same pixels would land in two splits). */
  allowLeakage: z.boolean({ error: 'allowLeakage is true or false' }).optional(),
  seed: z.number(SEED).refine(Number.isSafeInteger, SEED).optional(),
  shuffle: z.boolean({ error: 'shuffle is true or false' }).optional(),
  /** gzip level 1-9 for images and masks (none by default: h5wasm's gzip is 10x slower to write). */
  compression: z.number(COMPRESSION).int(COMPRESSION).min(0, COMPRESSION).max(9, COMPRESSION).optional(),
  /**
   * Where the client puts its copy of the file (the worker stores it in the batch store, as
   * `<dataset>/<workflow id>.<run>.h5` and `<dataset>/latest.h5`, and never writes a path a caller names).
   */
  out: z.string({ error: 'out is a file path' }).optional(),
});

export type BatchOptions = z.input<typeof batchOptionsSchema>;

/** Checked here as well as in the worker, so a bad option fails before a workflow (or a schedule) exists. */
export function batchWorkflowInput(datasetId: string, input: BatchOptions, what = 'batch'): BatchWorkflowInput {
  const options = parseOptions(batchOptionsSchema, input, what);
  if (options.out !== undefined) {
    throw new InvalidInputError(
      `out (${options.out}) is where batch() and \`veda batch --out\` put the client's copy: a started batch is stored in the batch store (<dataset>/<run>.h5 and <dataset>/latest.h5)`,
    );
  }
  const { split } = options;
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
