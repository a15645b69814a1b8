import { z } from 'zod';
import { parseRecord } from '../input-schema.js';
import { DTYPES, MAX_CLASSES, ML_TYPES } from '../types.js';
import type { DatapointPage, DatasetPatch, DatasetSearch, IngestRecord, NewDatapoint, NewDataset } from './types.js';

/** Largest tile edge in pixels: bigger chips do not fit the batch writer's memory budget per sample. */
export const MAX_TILE_SIZE = 4096;

/** Checked, never trimmed: ids must round-trip unchanged. */
const nonEmpty = z.string().refine((text) => text.trim().length > 0, { error: 'must not be empty' });
const tileEdge = z.int().positive().max(MAX_TILE_SIZE);
/** A data group names an HDF5 group (`/train`) in batches: one plain path segment, printable. */
export const groupNameSchema = nonEmpty.refine((name) => name !== '.' && name !== '..' && !/[/\\\u0000-\u001f\u007f]/.test(name), {
  error: 'must be one name without /, \\, control characters, "." or ".."',
});
const mlType = z.enum(ML_TYPES);

const classes = z
  .array(nonEmpty)
  .min(1, 'must name at least one class')
  .max(MAX_CLASSES, `may name at most ${MAX_CLASSES} classes (labels are indexed to a byte; masks are uint8)`)
  .superRefine((names, ctx) => {
    const repeated = new Set(names.filter((name, i) => names.indexOf(name) !== i));
    if (repeated.size === 0) return;
    ctx.addIssue({ code: 'custom', message: `must be unique, repeated: ${[...repeated].join(', ')}` });
  });

const longitude = z.number().min(-180).max(180);
const latitude = z.number().min(-90).max(90);
const bbox = z
  .tuple([longitude, latitude, longitude, latitude])
  .refine(([minLon, minLat, maxLon, maxLat]) => minLon <= maxLon && minLat <= maxLat, {
    error: 'must be [minLon, minLat, maxLon, maxLat] with min <= max',
  });

const newDatasetSchema = z.object({
  name: nonEmpty,
  mlType,
  tileSize: z.tuple([tileEdge, tileEdge]),
  classes,
  userId: nonEmpty,
  public: z.boolean().optional(),
  sensors: z.array(z.string()).optional(),
});

/** What a user gives to create a dataset (the owner is who acts; binary classification may leave out classes). */
export const newCollectionSchema = newDatasetSchema.omit({ userId: true }).extend({ classes: classes.optional() }).strict();

const datasetPatchSchema = z
  .object({
    name: nonEmpty,
    public: z.boolean(),
    bbox: bbox.nullable(),
    shape: z.tuple([z.int().positive(), z.int().positive(), z.int().positive()]).nullable(),
    dtype: z.enum(DTYPES).nullable(),
    sensors: z.array(z.string()),
    sources: z.array(z.string()),
    ingests: z.array(z.custom<IngestRecord>((value) => typeof value === 'object' && value !== null, { error: 'must be an ingest record' })),
  })
  .partial()
  .strict();

const datasetSearchSchema = z
  .object({
    name: z.string(),
    mlType,
    bbox,
    userId: nonEmpty,
    public: z.boolean(),
  })
  .partial()
  .extend({ viewer: nonEmpty });

const datapointSchema = z.object({
  id: nonEmpty,
  datasetId: nonEmpty,
  group: groupNameSchema,
  source: nonEmpty,
  window: z.object({
    x: z.int().nonnegative(),
    y: z.int().nonnegative(),
    width: z.int().positive(),
    height: z.int().positive(),
  }),
  // The shape depends on the dataset's ML type, which the label encoders own; here it only has to be JSON.
  label: z.custom<NewDatapoint['label']>((value) => typeof value === 'object' && value !== null, {
    error: 'must be a label (array or object)',
  }),
  chipKey: nonEmpty.nullable(),
});

const rangeSchema = z.object({
  offset: z.int().nonnegative(),
  limit: z.int().nonnegative(),
  group: nonEmpty.optional(),
});

const datapointKey = z.string().regex(/^\d{1,19}$/, 'a datapoint key (from pageDatapoints or datapointChunks)');
const pageSchema = z.object({
  after: datapointKey.nullish(),
  through: datapointKey.nullish(),
  limit: z.int().nonnegative(),
  group: nonEmpty.optional(),
});

const chipsSchema = z.array(z.object({ id: nonEmpty, chipKey: nonEmpty }));

export const parseNewDataset = (value: NewDataset): NewDataset => parseRecord(newDatasetSchema, value, 'dataset');
export const parseDatasetPatch = (value: DatasetPatch): DatasetPatch =>
  parseRecord(datasetPatchSchema, value, 'dataset update');
export const parseDatasetSearch = (value: DatasetSearch): DatasetSearch =>
  parseRecord(datasetSearchSchema, value, 'dataset search');
export const parseDatapoints = (value: NewDatapoint[]): NewDatapoint[] =>
  parseRecord(z.array(datapointSchema), value, 'datapoints');
export const parseRange = (value: { offset: number; limit: number; group?: string }) =>
  parseRecord(rangeSchema, value, 'datapoint range');
export const parsePage = (value: DatapointPage) => parseRecord(pageSchema, value, 'datapoint page');
export const parsePositiveSize = (value: number) => parseRecord(z.int().positive(), value, 'chunk size');
export const parseChips = (value: Array<{ id: string; chipKey: string }>) => parseRecord(chipsSchema, value, 'chips');
export const parseLimit = (value: number) => parseRecord(z.int().nonnegative(), value, 'limit');
export const parseGroupName = (value: string) => parseRecord(groupNameSchema, value, `group name ${JSON.stringify(value)}`);
export const parseRunKind = (value: string) => parseRecord(nonEmpty, value, 'run kind');
