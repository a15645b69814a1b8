/**
 * What `feed` takes, checked by one schema per part: its options, each pair's form (pyveda's `[window, label]` or
 * `{ source, window, label }`) and its window (`[x, y, w, h]` or an object; the dataset's tile size, at
 * non-negative integer offsets). Labels are checked against the ML type and classes in feed-labels.ts.
 */
import { z } from 'zod';
import { groupNameSchema } from '../domain/catalog/validation.js';
import { InvalidInputError } from '../domain/errors.js';
import { parseOptions } from '../domain/input-schema.js';
import type { PixelWindow } from '../domain/types.js';
import type { FedLabel } from './feed-labels.js';

const feedOptionsSchema = z.strictObject({
  /** Data group the pairs go to (default `train`). */
  group: z.string({ error: 'group must be a group name' }).optional(),
  /** Image of pairs whose window names none. */
  source: z.string({ error: 'source must be an image path or URL' }).optional(),
});

export type FeedOptions = z.input<typeof feedOptionsSchema>;

/** The feed's options, with its group checked as a group name. */
export function parseFeedOptions(options: FeedOptions | undefined): { group: string; source?: string } {
  const { group = 'train', source } = parseOptions(feedOptionsSchema, options, 'feed');
  const name = groupNameSchema.safeParse(group);
  if (!name.success) throw new InvalidInputError(`invalid group name ${JSON.stringify(group)}: value: ${name.error.issues[0]!.message}`);
  return { group, ...(source !== undefined ? { source } : {}) };
}

// Transforms follow the unions: inside a branch, one would hide that branch's own message behind the union's.
const pairSchema = z
  .union(
    [
      z.array(z.unknown()).refine((pair) => pair.length === 2, 'a tuple pair is [window, label]'),
      z.looseObject({ source: z.string({ error: 'source must be an image path or URL' }).optional(), window: z.unknown(), label: z.unknown().optional() }),
    ],
    { error: 'a pair is [window, label] or { source, window, label }' },
  )
  .transform((pair) => (Array.isArray(pair) ? { window: pair[0], label: pair[1], source: undefined } : pair));

/** The window of a pair, and the image it names (a window from `image.windows()` carries its `source`). */
function windowSchema([tileW, tileH]: [number, number]) {
  const size = { error: `the window must be at non-negative integer offsets and ${tileW}x${tileH} pixels` };
  const offset = z.int(size).min(0, size);
  const fields = z.object({ x: offset, y: offset, width: z.literal(tileW, size), height: z.literal(tileH, size) });
  return z
    .union(
      [z.array(z.unknown()).refine((window) => window.length === 4, 'a window array is [x, y, width, height]'), z.record(z.string(), z.unknown())],
      { error: 'a window is { x, y, width, height } or [x, y, width, height]' },
    )
    .transform((window) => (Array.isArray(window) ? { x: window[0], y: window[1], width: window[2], height: window[3] } : window))
    .pipe(z.looseObject(fields.shape));
}

export interface CheckedPair {
  window: PixelWindow;
  /** The pair's image (its own `source`, else its window's), undefined when it names none. */
  source: string | undefined;
  label: FedLabel;
}

/** Checks one fed pair; errors name it (`pair 3: ...`). */
export function parseFedPair(item: unknown, tile: [number, number], where: string): CheckedPair {
  const pair = describeFailure(pairSchema.safeParse(item), where);
  const window = describeFailure(windowSchema(tile).safeParse(pair.window), where);
  const windowSource = 'source' in window && typeof window.source === 'string' ? window.source : undefined;
  return {
    window: { x: window.x, y: window.y, width: window.width, height: window.height },
    source: pair.source ?? windowSource,
    label: pair.label as FedLabel,
  };
}

function describeFailure<T>(result: z.ZodSafeParseResult<T>, where: string): T {
  if (result.success) return result.data;
  throw new InvalidInputError(`${where}: ${result.error.issues[0]!.message}`);
}
