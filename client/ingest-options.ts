/**
 * Turns the user's ingest options (API or CLI) into an IngestSpec: defaults, absolute paths, and the window plan.
 */
import { randomInt } from 'node:crypto';
import path from 'node:path';
import type { IngestSpec } from '../domain/ingest-spec.js';
import { partitionCounts } from '../domain/batches/partition.js';
import type { DatasetRecord } from '../domain/catalog/types.js';
import { InvalidInputError } from '../domain/errors.js';
import { parseGroupName } from '../domain/catalog/validation.js';
// stac-item.js itself, not the imagery index: opening a collection must not load the TIFF readers (`veda show` stays fast).
import { stacImageUri } from '../domain/imagery/stac-item.js';
import { schemeOf } from '../domain/storage/remote-files.js';
import { DEFAULT_MIN_BOX_SIZE, type GroupCount, type WindowPlan } from '../domain/types.js';
import { rejectUnknownOptions } from './option-keys.js';

export interface IngestOptions {
  /**
   * GeoTIFF or STAC item (`.json`): a path or an http(s) URL. Several scenes: one plan over all of them, its
   * counts spread by ground area, each window reading its own scene.
   */
  image: string | string[];
  /** STAC item assets (or band names) to read from each item, in band order (default: its data assets on one grid). */
  assets?: string[];
  /** GeoJSON, GeoPackage or FlatGeobuf path or URL; features carry their class name in `classProperty`. */
  labels: string;
  /** The GeoPackage layer to read (needed when the file has several). */
  layer?: string;
  classProperty?: string;
  windows?: 'random' | 'grid' | 'features';
  /** Windows in the plan (random: required unless `groups` says it; grid/features: all when omitted). */
  count?: number;
  /** Seed of the plan and of the cell draw; drawn at random (and recorded in the dataset) when omitted. */
  seed?: number;
  /** Grid stride in pixels (default: the tile size). */
  stride?: number | [number, number];
  /** Features plan: seeded jitter of the window centre, in pixels. */
  jitter?: number;
  /**
   * The group the windows feed (default `train`), or counts per group, e.g. { train: 100, test: 25 }; with a
   * `count` they are shares of it (percentages), e.g. { train: 70, val: 20, test: 10 }.
   */
  group?: string;
  groups?: Record<string, number>;
  /** Spatially separate groups: the image is cut into cells drawn among the groups (see README, Splits and leakage). */
  spatialSplit?: boolean;
  /** Cell side in pixels of a spatial split (default: from the tile size). */
  cell?: number;
  /** Minimum gap in pixels between windows of two groups. */
  buffer?: number;
  /** Let windows land on pixels other groups of the dataset already hold in this image (off by default). */
  allowOverlap?: boolean;
  /** Region of interest: a GeoJSON file or URL of polygons, any CRS; every window lies inside it. */
  aoi?: string;
  /**
   * Balanced classes (random windows, classification / detection): class ratios of each group's count, e.g.
   * { water: 1, urban: 1 }, or 'equal'. A window counts for every class its label has.
   */
  balance?: Record<string, number> | 'equal';
  /** Segmentation (random windows): keep only windows with at least this share of labelled pixels. */
  minLabelled?: number;
  bands?: number[];
  maxNodata?: number;
  allTouched?: boolean;
  minOverlap?: number;
  minBoxSize?: number;
  /** Cache chips once datapoints are posted (default true). */
  cache?: boolean;
}

/** Every option name, checked against IngestOptions by the compiler: a new option cannot be forgotten here. */
const INGEST_OPTIONS = Object.keys({
  image: true, assets: true, labels: true, layer: true, classProperty: true, windows: true, count: true, seed: true,
  stride: true, jitter: true, group: true, groups: true, bands: true, maxNodata: true, allTouched: true,
  minOverlap: true, minBoxSize: true, cache: true, spatialSplit: true, cell: true, buffer: true, allowOverlap: true,
  aoi: true, balance: true, minLabelled: true,
} satisfies Record<keyof IngestOptions, true>);

export { DEFAULT_MIN_BOX_SIZE };

/** URLs stay as they are; local paths become absolute, since workers may run elsewhere than the client. */
export function absoluteUri(uri: string): string {
  return schemeOf(uri) !== undefined ? uri : path.resolve(uri);
}

export function ingestSpec(dataset: DatasetRecord, options: IngestOptions): IngestSpec {
  rejectUnknownOptions(options, INGEST_OPTIONS, 'ingest');
  const images = (Array.isArray(options.image) ? options.image : [options.image]).filter((i) => i);
  if (images.length === 0) throw new InvalidInputError('ingest needs an image (a GeoTIFF or STAC item path or URL)');
  const scenes = [...new Set(images.map((image) => (options.assets ? stacImageUri(absoluteUri(image), options.assets) : absoluteUri(image))))];
  if (!options.labels) throw new InvalidInputError('ingest needs labels (a GeoJSON, GeoPackage or FlatGeobuf file with a class property)');
  const strategy = options.windows ?? 'random';
  if (options.count !== undefined && !(Number.isInteger(options.count) && options.count >= 1)) {
    throw new InvalidInputError(`count ${String(options.count)} must be a whole number of at least 1`);
  }
  // Options of another plan would be silently ignored: say so instead.
  if (options.stride !== undefined && strategy !== 'grid') throw new InvalidInputError(`stride applies to grid windows, not ${strategy}`);
  if (options.jitter !== undefined && strategy !== 'features') throw new InvalidInputError(`jitter applies to features windows, not ${strategy}`);
  let groups: GroupCount[];
  if (options.groups) {
    groups = Object.entries(options.groups).map(([group, count]) => ({ group, count }));
    if (groups.length === 0) throw new InvalidInputError('groups must name at least one group');
  } else {
    groups = [{ group: options.group ?? 'train', count: options.count ?? 0 }];
  }
  for (const { group, count } of groups) {
    parseGroupName(group);
    if (options.groups && !(Number.isInteger(count) && count >= 0)) {
      throw new InvalidInputError(`group ${group}: count ${String(count)} must be a whole number of at least 0`);
    }
  }
  const strides = options.stride === undefined ? [] : typeof options.stride === 'number' ? [options.stride] : options.stride;
  if (strides.length > 2 || strides.some((s) => !(Number.isInteger(s) && s >= 1))) {
    throw new InvalidInputError(`stride ${JSON.stringify(options.stride)} must be a whole number of pixels of at least 1 (or [x, y])`);
  }
  if (options.jitter !== undefined && !(Number.isInteger(options.jitter) && options.jitter >= 0)) {
    throw new InvalidInputError(`jitter ${String(options.jitter)} must be a whole number of pixels of at least 0`);
  }
  if (options.seed !== undefined && !Number.isSafeInteger(options.seed)) throw new InvalidInputError(`seed ${String(options.seed)} must be an integer`);
  const sum = groups.reduce((n, g) => n + g.count, 0);
  if (options.groups && options.count !== undefined && options.count !== sum) {
    // Shares of the count: largest-remainder rounding, so the counts add up to it exactly.
    const counts = partitionCounts(options.count, Object.fromEntries(groups.map((g) => [g.group, g.count])));
    groups = groups.map((g) => ({ group: g.group, count: counts[g.group]! }));
  }
  const count = options.groups ? (options.count ?? sum) : options.count;
  for (const [name, value] of [['cell', options.cell], ['buffer', options.buffer]] as const) {
    if (value !== undefined && !(Number.isInteger(value) && value >= (name === 'cell' ? 1 : 0))) {
      throw new InvalidInputError(`${name} ${String(value)} must be a whole number of pixels`);
    }
  }
  if (!options.spatialSplit && (options.cell !== undefined || options.buffer !== undefined) && groups.length > 1) {
    throw new InvalidInputError('cell and buffer apply to a spatial split (or to one group kept apart from the others)');
  }
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
    default:
      throw new InvalidInputError(`unknown window plan "${String(strategy)}" (use random, grid or features)`);
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
