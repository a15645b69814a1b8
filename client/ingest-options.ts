/**
 * Turns the user's ingest options (API or CLI) into an IngestSpec: defaults, absolute paths, and the window plan.
 */
import { randomInt } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import type { IngestSpec } from '../domain/ingest-spec.js';
import { partitionCounts } from '../domain/batches/partition.js';
import type { DatasetRecord } from '../domain/catalog/types.js';
import { InvalidInputError } from '../domain/errors.js';
import { groupNameSchema } from '../domain/catalog/validation.js';
// stac-item.js itself, not the imagery index: opening a collection must not load the TIFF readers (`veda show` stays fast).
import { stacImageUri } from '../domain/imagery/stac-item.js';
import { schemeOf } from '../domain/storage/remote-files.js';
import { DEFAULT_MIN_BOX_SIZE, type GroupCount, type WindowPlan } from '../domain/types.js';
import { parseOptions } from '../domain/input-schema.js';

/** The option's own message, whatever check failed: `count 0 must be a whole number of at least 1`. */
function says(name: string, rule: string, show: (value: unknown) => string = String) {
  return { error: (issue: { input?: unknown }) => `${name} ${show(issue.input)} ${rule}` };
}

function whole(name: string, min: number, unit = '') {
  const message = says(name, `must be a whole number${unit} of at least ${min}`);
  return z.number(message).int(message).min(min, message);
}

function wholePixels(name: string, min: number) {
  const message = says(name, 'must be a whole number of pixels');
  return z.number(message).int(message).min(min, message);
}

/** A count in `groups`; the message names its group. */
const groupCountMessage = {
  error: (issue: { input?: unknown; path?: PropertyKey[] }) =>
    `group ${String(issue.path?.at(-1))}: count ${String(issue.input)} must be a whole number of at least 0`,
};
const groupCount = z.number(groupCountMessage).int(groupCountMessage).min(0, groupCountMessage);

const WINDOW_PLANS = ['random', 'grid', 'features'] as const;
const NEEDS_IMAGE = 'ingest needs an image (a GeoTIFF or STAC item path or URL)';
const NEEDS_LABELS = 'ingest needs labels (a GeoJSON, GeoPackage or FlatGeobuf file with a class property)';

/** The user's ingest options (API and CLI): their names, types and the rules the client can judge alone. */
const ingestOptionsSchema = z
  .strictObject({
    /**
     * GeoTIFF or STAC item (`.json`): a path or an http(s) URL. Several scenes: one plan over all of them, its
     * counts spread by ground area, each window reading its own scene.
     */
    image: z.union([z.string(), z.array(z.string())], { error: NEEDS_IMAGE }),
    /** STAC item assets (or band names) to read from each item, in band order (default: its data assets on one grid). */
    assets: z.array(z.string(), says('assets', 'must be a list of asset keys or band names', (v) => JSON.stringify(v))).optional(),
    /** GeoJSON, GeoPackage or FlatGeobuf path or URL; features carry their class name in `classProperty`. */
    labels: z.string({ error: NEEDS_LABELS }),
    /** The GeoPackage layer to read (needed when the file has several). */
    layer: z.string(says('layer', 'must be a layer name')).optional(),
    classProperty: z.string(says('classProperty', 'must be a property name')).optional(),
    windows: z.enum(WINDOW_PLANS, { error: (issue) => `unknown window plan "${String(issue.input)}" (use random, grid or features)` }).optional(),
    /** Windows in the plan (random: required unless `groups` says it; grid/features: all when omitted). */
    count: whole('count', 1).optional(),
    /** Seed of the plan and of the cell draw; drawn at random (and recorded in the dataset) when omitted. */
    seed: z.number(says('seed', 'must be an integer')).refine(Number.isSafeInteger, says('seed', 'must be an integer')).optional(),
    /** Grid stride in pixels (default: the tile size), or [x, y]. */
    stride: z
      .union([z.number(), z.array(z.number())])
      .refine(
        (stride) => {
          const strides = typeof stride === 'number' ? [stride] : stride;
          return strides.length >= 1 && strides.length <= 2 && strides.every((n) => Number.isInteger(n) && n >= 1);
        },
        says('stride', 'must be a whole number of pixels of at least 1 (or [x, y])', (v) => JSON.stringify(v)),
      )
      .optional(),
    /** Features plan: seeded jitter of the window centre, in pixels. */
    jitter: whole('jitter', 0, ' of pixels').optional(),
    /**
     * The group the windows feed (default `train`), or counts per group, e.g. { train: 100, test: 25 }; with a
     * `count` they are shares of it (percentages), e.g. { train: 70, val: 20, test: 10 }.
     */
    group: z.string(says('group', 'must be a group name')).optional(),
    groups: z.record(z.string(), groupCount, says('groups', 'must be counts per group, e.g. { train: 70, test: 30 }', (v) => JSON.stringify(v))).optional(),
    /** Spatially separate groups: the image is cut into cells drawn among the groups (see README, Splits and leakage). */
    spatialSplit: z.boolean(says('spatialSplit', 'must be true or false')).optional(),
    /** Cell side in pixels of a spatial split (default: from the tile size). */
    cell: wholePixels('cell', 1).optional(),
    /** Minimum gap in pixels between windows of two groups. */
    buffer: wholePixels('buffer', 0).optional(),
    /** Let windows land on pixels other groups of the dataset already hold in this image (off by default). */
    allowOverlap: z.boolean(says('allowOverlap', 'must be true or false')).optional(),
    /** Region of interest: a GeoJSON file or URL of polygons, any CRS; every window lies inside it. */
    aoi: z.string(says('aoi', 'must be a GeoJSON path or URL')).optional(),
    /**
     * Balanced classes (random windows, classification / detection): class ratios of each group's count, e.g.
     * { water: 1, urban: 1 }, or 'equal'. A window counts for every class its label has.
     */
    balance: z
      .union([z.literal('equal'), z.record(z.string(), z.number())], says('balance', "must be 'equal' or class ratios like { water: 1, urban: 2 }", (v) => JSON.stringify(v)))
      .optional(),
    /** Segmentation (random windows): keep only windows with at least this share of labelled pixels. */
    minLabelled: z.number(says('minLabelled', 'must be a share between 0 and 1')).optional(),
    // Bands, shares and sizes the worker checks against the image and the labels (a failed run says which).
    bands: z.array(z.number(), says('bands', 'must be a list of 1-based band numbers', (v) => JSON.stringify(v))).optional(),
    maxNodata: z.number(says('maxNodata', 'must be a share between 0 and 1')).optional(),
    allTouched: z.boolean(says('allTouched', 'must be true or false')).optional(),
    minOverlap: z.number(says('minOverlap', 'must be between 0 and 1')).optional(),
    minBoxSize: z.number(says('minBoxSize', 'must be a number of pixels')).optional(),
    /** Cache chips once datapoints are posted (default true). */
    cache: z.boolean(says('cache', 'must be true or false')).optional(),
  })
  .superRefine((o, ctx) => {
    const problem = (message: string) => ctx.addIssue({ code: 'custom', message });
    const strategy = o.windows ?? 'random';
    if ((Array.isArray(o.image) ? o.image : [o.image]).every((image) => !image)) problem(NEEDS_IMAGE);
    if (!o.labels) problem(NEEDS_LABELS);
    // Options of another plan would be silently ignored: say so instead.
    if (o.stride !== undefined && strategy !== 'grid') problem(`stride applies to grid windows, not ${strategy}`);
    if (o.jitter !== undefined && strategy !== 'features') problem(`jitter applies to features windows, not ${strategy}`);
    const groups = o.groups ? Object.keys(o.groups) : [o.group ?? 'train'];
    if (groups.length === 0) problem('groups must name at least one group');
    for (const group of groups) {
      const name = groupNameSchema.safeParse(group);
      if (!name.success) problem(`invalid group name ${JSON.stringify(group)}: value: ${name.error.issues[0]!.message}`);
    }
    if (!o.spatialSplit && (o.cell !== undefined || o.buffer !== undefined) && groups.length > 1) {
      problem('cell and buffer apply to a spatial split (or to one group kept apart from the others)');
    }
    if (strategy === 'random' && o.count === undefined && !o.groups) problem('a random window plan needs a count of at least 1');
  });

export type IngestOptions = z.input<typeof ingestOptionsSchema>;

export { DEFAULT_MIN_BOX_SIZE };

/** URLs stay as they are; local paths become absolute, since workers may run elsewhere than the client. */
export function absoluteUri(uri: string): string {
  return schemeOf(uri) !== undefined ? uri : path.resolve(uri);
}

export function ingestSpec(dataset: DatasetRecord, input: IngestOptions): IngestSpec {
  const options = parseOptions(ingestOptionsSchema, input, 'ingest');
  const images = (Array.isArray(options.image) ? options.image : [options.image]).filter((i) => i);
  const scenes = [...new Set(images.map((image) => (options.assets ? stacImageUri(absoluteUri(image), options.assets) : absoluteUri(image))))];
  const strategy = options.windows ?? 'random';
  let groups: GroupCount[] = options.groups
    ? Object.entries(options.groups).map(([group, count]) => ({ group, count }))
    : [{ group: options.group ?? 'train', count: options.count ?? 0 }];
  const sum = groups.reduce((n, g) => n + g.count, 0);
  if (options.groups && options.count !== undefined && options.count !== sum) {
    // Shares of the count: largest-remainder rounding, so the counts add up to it exactly.
    const counts = partitionCounts(options.count, Object.fromEntries(groups.map((g) => [g.group, g.count])));
    groups = groups.map((g) => ({ group: g.group, count: counts[g.group]! }));
  }
  const count = options.groups ? (options.count ?? sum) : options.count;
  const tileSize = dataset.tileSize;
  // Never a fixed default: two ingests without a seed would plan the very same windows.
  const seed = options.seed ?? randomInt(1, 2 ** 31);
  let plan: WindowPlan;
  switch (strategy) {
    case 'random':
      if (count === undefined || count < 1) throw new InvalidInputError('a random window plan needs a count of at least 1');
      plan = { strategy, count, seed, tileSize };
      break;
    case 'grid': {
      const stride = options.stride === undefined ? undefined : typeof options.stride === 'number' ? [options.stride, options.stride] : options.stride;
      plan = { strategy, tileSize, ...(stride ? { stride: stride as [number, number] } : {}), ...(count ? { count } : {}) };
      break;
    }
    case 'features':
      plan = { strategy, tileSize, seed, jitter: options.jitter ?? 0, ...(count ? { count } : {}) };
      break;
  }
  return {
    datasetId: dataset.id,
    mlType: dataset.mlType,
    image: scenes[0]!,
    ...(scenes.length > 1 ? { scenes } : {}),
    labels: {
      uri: absoluteUri(options.labels),
      classProperty: options.classProperty ?? 'class',
      ...(options.layer !== undefined ? { layer: options.layer } : {}),
    },
    plan,
    groups,
    labelOptions: {
      ...(options.allTouched !== undefined ? { allTouched: options.allTouched } : {}),
      ...(options.minOverlap !== undefined ? { minOverlap: options.minOverlap } : {}),
      ...(options.minBoxSize !== undefined || dataset.mlType === 'object_detection'
        ? { minBoxSize: options.minBoxSize ?? DEFAULT_MIN_BOX_SIZE }
        : {}),
    },
    ...(options.bands ? { bands: options.bands } : {}),
    ...(options.maxNodata !== undefined ? { maxNodata: options.maxNodata } : {}),
    split: {
      spatial: Boolean(options.spatialSplit),
      seed,
      ...(options.cell !== undefined ? { cell: options.cell } : {}),
      ...(options.buffer !== undefined ? { buffer: options.buffer } : {}),
    },
    ...(options.allowOverlap ? { allowOverlap: true } : {}),
    ...(options.aoi ? { aoi: absoluteUri(options.aoi) } : {}),
    ...(options.balance !== undefined || options.minLabelled !== undefined
      ? { balance: { ...(options.balance !== undefined ? { classes: options.balance } : {}), ...(options.minLabelled !== undefined ? { minLabelled: options.minLabelled } : {}) } }
      : {}),
  };
}
