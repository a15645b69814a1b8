/**
 * The API's JSON schemas: request bodies, query strings and path parameters are validated against them (a bad one
 * is a 400 that says what is wrong), and the OpenAPI document at `/openapi.json` is made from them. Checks the
 * schemas cannot say (a window inside its image, labels of the dataset's classes) are the domain's, as in direct use.
 */
import { DTYPES, ML_TYPES } from '../domain/types.js';

const string = { type: 'string' } as const;
const names = { type: 'array', items: string } as const;
const integer = { type: 'integer' } as const;
const nonNegative = { type: 'integer', minimum: 0 } as const;
const share = { type: 'number', minimum: 0, maximum: 1 } as const;
const bool = { type: 'boolean' } as const;
const anything = {} as const;

export const errorBody = {
  description: 'an error: its kind (the domain error type) and a message that says what to do',
  type: 'object',
  required: ['error'],
  properties: {
    error: { type: 'object', required: ['kind', 'message'], properties: { kind: string, message: string } },
  },
} as const;

const link = { type: 'object', properties: { href: string, method: { type: 'string', enum: ['GET', 'POST', 'PUT', 'DELETE'] }, command: string } } as const;

export const datasetDoc = {
  description: "the dataset document (pyveda's fields); `links` are this service's URLs with their methods",
  type: 'object',
  additionalProperties: true,
  properties: {
    id: string,
    name: string,
    classes: names,
    nclasses: integer,
    mlType: { type: 'string', enum: [...ML_TYPES] },
    count: { type: 'object', additionalProperties: integer },
    total: integer,
    tileSize: { type: 'array', items: integer },
    bbox: { type: 'array', items: { type: 'number' }, nullable: true },
    shape: { type: 'array', items: integer, nullable: true },
    dtype: { type: 'string', enum: [...DTYPES], nullable: true },
    sensors: names,
    source: { type: 'string', nullable: true },
    sources: names,
    userId: string,
    public: bool,
    created_at: string,
    updated_at: string,
    percent_cached: { type: 'number' },
    last_ingest: { type: 'object', nullable: true, additionalProperties: true },
    links: {
      type: 'object',
      properties: { self: link, update: link, publish: link, unpublish: link, delete: link, create: link, workflows: link },
    },
  },
} as const;

export const progress = {
  description: "a workflow's `progress` query answer (`warning` while no worker polls its task queue)",
  type: 'object',
  additionalProperties: true,
  properties: {
    kind: { type: 'string', enum: ['ingest', 'cache', 'batch'] },
    datasetId: string,
    stage: string,
    done: integer,
    total: integer,
    planned: integer,
    groups: { type: 'object', additionalProperties: integer },
    posted: integer,
    percentCached: { type: 'number' },
    output: string,
    outputKey: string,
    errors: names,
    warning: string,
  },
} as const;

export const runInfo = {
  description: 'a workflow run: its id, how it stands and its links',
  type: 'object',
  additionalProperties: true,
  properties: {
    workflowId: string,
    datasetId: string,
    uiUrl: { type: 'string', nullable: true },
    status: string,
    seed: integer,
    progress: { ...progress, nullable: true },
    links: { type: 'object', additionalProperties: link },
  },
} as const;

export const datasetParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', maxLength: 200, description: 'dataset id' } },
} as const;

export const newDataset = {
  type: 'object',
  required: ['name', 'mlType', 'tileSize'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1 },
    mlType: { type: 'string', enum: [...ML_TYPES] },
    tileSize: { type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 2, maxItems: 2 },
    classes: { ...names, description: 'class names in label order (classification may leave them out: class1)' },
    public: bool,
    sensors: names,
  },
} as const;

export const datasetUpdate = {
  type: 'object',
  additionalProperties: false,
  properties: { name: { type: 'string', minLength: 1 }, public: bool, sensors: names },
} as const;

export const searchQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    name: { type: 'string', description: 'name contains (case-insensitive)' },
    mlType: { type: 'string', enum: [...ML_TYPES] },
    bbox: { type: 'string', pattern: '^\\s*-?[\\d.]+(\\s*,\\s*-?[\\d.]+){3}\\s*$', description: 'minLon,minLat,maxLon,maxLat (WGS84) the dataset intersects' },
    owner: { type: 'string', description: 'owned by this user' },
    public: bool,
  },
} as const;

/** Pairs per feed request: bigger uploads go in several requests. */
export const MAX_FED_PAIRS = 10_000;

export const feedBody = {
  type: 'object',
  required: ['pairs'],
  additionalProperties: false,
  properties: {
    group: string,
    source: { type: 'string', description: 'image of pairs that name none' },
    pairs: {
      type: 'array',
      maxItems: MAX_FED_PAIRS,
      description: '[window, label] or { source, window, label }; a window is [x, y, width, height] or { x, y, width, height, source? }',
      items: {
        anyOf: [
          { type: 'array', minItems: 2, maxItems: 2 },
          { type: 'object', required: ['window', 'label'], additionalProperties: false, properties: { source: string, window: anything, label: anything } },
        ],
      },
    },
  },
} as const;

export const removeBody = {
  type: 'object',
  required: ['ids'],
  additionalProperties: false,
  properties: { ids: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1, maxItems: MAX_FED_PAIRS } },
} as const;

/** Datapoints per slice request. */
export const MAX_SLICE = 10_000;

export const sliceQuery = {
  type: 'object',
  required: ['start', 'end'],
  additionalProperties: false,
  properties: { start: nonNegative, end: nonNegative, group: string },
} as const;

export const datapointParams = {
  type: 'object',
  required: ['id', 'datapointId'],
  properties: { id: datasetParams.properties.id, datapointId: { type: 'string', maxLength: 200 } },
} as const;

export const previewParams = {
  type: 'object',
  required: ['id', 'index'],
  properties: { id: datasetParams.properties.id, index: nonNegative },
} as const;

export const previewQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    bands: { type: 'string', pattern: '^\\d+(,\\d+)*$', description: 'chip bands (1-based) shown as red,green,blue, or one as grey' },
    scale: { type: 'integer', minimum: 1 },
    group: string,
    percentiles: { type: 'string', pattern: '^[\\d.]+,[\\d.]+$' },
  },
} as const;

const counts = { type: 'object', additionalProperties: { type: 'number', minimum: 0 } } as const;

export const ingestBody = {
  type: 'object',
  required: ['image', 'labels'],
  additionalProperties: false,
  properties: {
    image: { anyOf: [string, { ...names, minItems: 1 }], description: 'GeoTIFF / COG or STAC item: a path the workers can read, an http(s) or s3:// URL; several for several scenes' },
    assets: names,
    labels: { type: 'string', description: 'GeoJSON, GeoPackage or FlatGeobuf: a path the workers can read, an http(s) or s3:// URL' },
    layer: string,
    classProperty: string,
    windows: { type: 'string', enum: ['random', 'grid', 'features'] },
    count: integer,
    seed: integer,
    stride: { anyOf: [integer, { type: 'array', items: integer, minItems: 2, maxItems: 2 }] },
    jitter: { type: 'number' },
    group: string,
    groups: counts,
    spatialSplit: bool,
    cell: integer,
    buffer: integer,
    allowOverlap: bool,
    aoi: string,
    balance: { anyOf: [{ type: 'string', enum: ['equal'] }, counts] },
    minLabelled: share,
    bands: { type: 'array', items: integer },
    maxNodata: share,
    allTouched: bool,
    minOverlap: share,
    minBoxSize: nonNegative,
    cache: bool,
  },
} as const;

const batchProperties = {
  size: { type: 'integer', minimum: 1 },
  groups: names,
  split: { anyOf: [counts, { type: 'array', items: { type: 'number', minimum: 0 }, minItems: 1, maxItems: 3 }] },
  allowLeakage: bool,
  seed: integer,
  shuffle: bool,
  compression: { type: 'integer', minimum: 0, maximum: 9 },
} as const;

export const batchBody = { type: 'object', additionalProperties: false, properties: batchProperties } as const;

export const scheduleBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...batchProperties,
    name: string,
    every: { type: 'string', description: 'an interval: 30m, 24h, 7d' },
    cron: { type: 'string', description: 'a cron expression: "0 3 * * *"' },
    triggerNow: bool,
  },
} as const;

export const scheduleParams = {
  type: 'object',
  required: ['id', 'name'],
  properties: { id: datasetParams.properties.id, name: { type: 'string', maxLength: 200 } },
} as const;

export const scheduleSummary = { description: 'a batch schedule', type: 'object', additionalProperties: true } as const;

export const noteBody = { type: 'object', additionalProperties: false, properties: { note: string } } as const;

export const runParams = {
  type: 'object',
  required: ['id', 'workflowId'],
  properties: { id: datasetParams.properties.id, workflowId: { type: 'string', maxLength: 300 } },
} as const;

export const batchFileParams = {
  type: 'object',
  required: ['id', 'name'],
  properties: { id: datasetParams.properties.id, name: { type: 'string', maxLength: 300 } },
} as const;

export const batchFile = {
  type: 'object',
  properties: { name: string, key: string, size: integer, modified: string, href: string },
} as const;

/** Response schemas for an endpoint: its answer, and the errors it may give. */
export function answers(ok: Record<number, object>, ...errors: number[]): Record<number, object> {
  const out: Record<number, object> = { ...ok };
  for (const status of [400, 401, 404, 429, ...errors]) out[status] = { ...errorBody, description: ERROR_WORDS[status] ?? errorBody.description };
  return out;
}

const ERROR_WORDS: Record<number, string> = {
  400: 'the request is not valid (the message says why)',
  401: 'no API token, or an unknown or revoked one',
  403: 'you may read this dataset but not change it (it is public, and not yours)',
  404: 'no such dataset, or one you may not see (another user\'s private datasets are not found)',
  409: 'the request clashes with what exists',
  413: 'the body is over the size limit',
  429: 'too many requests: wait for Retry-After seconds',
};
