import type { IngestSpec } from '../ingest-spec.js';
import type { Dtype, Label, MlType, PixelWindow, SceneInfo } from '../types.js';
import type { ApiTokens } from './api-tokens.js';
import type { PackedSegmentationLabel } from './stored-label.js';

/** A dataset as the catalog stores it. `DatasetDoc` (client/) is the user-facing view of this. */
export interface DatasetRecord {
  id: string;
  name: string;
  mlType: MlType;
  tileSize: [number, number];
  classes: string[];
  userId: string;
  public: boolean;
  /** WGS84 [minLon, minLat, maxLon, maxLat] of every datapoint's window, null until one is posted. */
  bbox: [number, number, number, number] | null;
  /** [bands, height, width] of a chip, null until the first ingest reads the image. */
  shape: [number, number, number] | null;
  dtype: Dtype | null;
  sensors: string[];
  /** Image URIs that fed the dataset. */
  sources: string[];
  /** Every ingest's plan, label source and options, in order, so a dataset can be rebuilt identically. */
  ingests: IngestRecord[];
  createdAt: Date;
  updatedAt: Date;
}

export interface NewDataset {
  name: string;
  mlType: MlType;
  tileSize: [number, number];
  classes: string[];
  userId: string;
  public?: boolean;
  sensors?: string[];
}

export type DatasetPatch = Partial<
  Pick<DatasetRecord, 'name' | 'public' | 'bbox' | 'shape' | 'dtype' | 'sensors' | 'sources' | 'ingests'>
>;

export interface Datapoint {
  /** Deterministic: a hash of (dataset, source, window, group), so a retried post never duplicates. */
  id: string;
  datasetId: string;
  group: string;
  /** Image URI the window is read from. */
  source: string;
  window: PixelWindow;
  label: Label;
  /** Storage key of the cached chip, null until cached. */
  chipKey: string | null;
}

/** A datapoint to post: its label as an encoder gave it, or a mask's runs already packed (stored-label.ts). */
export type NewDatapoint = Omit<Datapoint, 'label'> & { label: Label | PackedSegmentationLabel };

/** A datapoint without its label: what caching, batch selection and split checks need (labels can be large). */
export type DatapointRef = Omit<Datapoint, 'label'>;

/**
 * An ingest as its dataset records it: the spec, the run that made it (null outside a workflow), when, the scene and
 * manifest of what it read, and `failed` once that run failed. Records of earlier releases may lack spec fields.
 */
export interface IngestRecord extends Partial<IngestSpec> {
  workflowId: string | null;
  at?: string;
  scene?: SceneInfo;
  /** Versions, sources with sizes and checksums, split cells (domain/manifest/manifest.ts). */
  manifest?: unknown;
  failed?: IngestFailure;
}

/** Why an ingest run failed, kept on its ingest record (`ingests[i].failed`) and shown in the dataset document. */
export interface IngestFailure {
  at: string;
  message: string;
  /** Datapoints the run had posted, removed again (they never count as the dataset's data). */
  removed: number;
}

export interface DatasetCounts {
  /** Datapoints per group, e.g. { train: 100, test: 25 }. */
  groups: Record<string, number>;
  total: number;
  cached: number;
}

export interface DatasetSearch {
  name?: string;
  mlType?: MlType;
  /** WGS84 [minLon, minLat, maxLon, maxLat]: datasets whose bbox intersects it. */
  bbox?: [number, number, number, number];
  userId?: string;
  public?: boolean;
  /** Who is asking: private datasets of other users are never returned. */
  viewer: string;
}

/**
 * The catalog of datasets and datapoints. One implementation over SQL serves both PostgreSQL (pg) and the
 * embedded PGlite; every write is idempotent so activities can retry freely.
 */
export interface Catalog {
  /** API tokens of the HTTP service (`veda serve`), stored hashed. */
  readonly tokens: ApiTokens;
  createDataset(input: NewDataset): Promise<DatasetRecord>;
  getDataset(id: string): Promise<DatasetRecord | null>;
  updateDataset(id: string, patch: DatasetPatch): Promise<DatasetRecord>;
  /**
   * Sets the dataset's chip shape and dtype when it has none; returns the record, or null when it already holds
   * chips of another shape or dtype. Atomic, so two ingests of different imagery cannot both win.
   */
  claimChipShape(id: string, shape: [number, number, number], dtype: Dtype): Promise<DatasetRecord | null>;
  /** Adds image URIs to the dataset's sources (those already there are left), atomically. */
  addSources(id: string, sources: string[]): Promise<DatasetRecord>;
  /**
   * Appends an ingest record (its plan and options) unless one with the same `workflowId` is there: a retried
   * activity records its ingest once, and concurrent ingests never overwrite each other's record.
   */
  recordIngest(id: string, ingest: IngestRecord): Promise<DatasetRecord>;
  /** Grows the dataset's bbox to cover `bbox` (WGS84), atomically, so concurrent chunks never lose an update. */
  extendBbox(id: string, bbox: [number, number, number, number]): Promise<DatasetRecord>;
  /** Deletes the dataset and its datapoints; returns false when there was nothing to delete. */
  deleteDataset(id: string): Promise<boolean>;
  searchDatasets(query: DatasetSearch): Promise<DatasetRecord[]>;
  /**
   * Inserts datapoints whose id is new; returns how many were inserted (existing ids are left untouched, and keep
   * the run that first posted them). `ingestRun` (the ingest's workflow id) lets removeIngestRun take them back.
   */
  insertDatapoints(points: NewDatapoint[], options?: { ingestRun?: string }): Promise<number>;
  /** Ids of the datapoints `ingestRun` posted, in posting order. */
  ingestRunIds(datasetId: string, ingestRun: string): Promise<string[]>;
  /** Deletes the datapoints `ingestRun` posted (a failed ingest); returns how many. */
  removeIngestRun(datasetId: string, ingestRun: string): Promise<number>;
  /** Marks the ingest record of `ingest.workflowId` failed (appending `ingest` when the run never recorded one). */
  markIngestFailed(id: string, ingest: IngestRecord & { workflowId: string }, failure: IngestFailure): Promise<DatasetRecord>;
  counts(datasetId: string): Promise<DatasetCounts>;
  /**
   * Datapoints in posting order (stable), half-open [offset, offset + limit), optionally one group only. For random
   * access (`slice`); to read a whole dataset page by page use pageDatapoints, whose cost does not grow with the
   * offset.
   */
  listDatapoints(datasetId: string, range: { offset: number; limit: number; group?: string }): Promise<Datapoint[]>;
  /**
   * Keyset paging in posting order: up to `limit` datapoints whose key is after `after` (exclusive; from the start
   * when null) and at most `through` (inclusive; to the end when null). Pass the page's `last` as the next `after`.
   */
  pageDatapoints(datasetId: string, page: DatapointPage): Promise<{ points: Datapoint[]; last: DatapointKey | null }>;
  /** pageDatapoints without the labels (a segmentation mask each), for callers that only need windows and chips. */
  pageDatapointRefs(datasetId: string, page: DatapointPage): Promise<{ points: DatapointRef[]; last: DatapointKey | null }>;
  /**
   * The dataset cut into consecutive chunks of `size` datapoints in posting order, as key ranges for pageDatapoints
   * (one index scan; nothing but keys is read).
   */
  datapointChunks(datasetId: string, size: number): Promise<DatapointChunk[]>;
  getDatapoint(datasetId: string, id: string): Promise<Datapoint | null>;
  /** The datapoints with these ids, in the order of `ids` (unknown ids are left out). */
  getDatapoints(datasetId: string, ids: string[]): Promise<Datapoint[]>;
  /** Deletes the datapoints with these ids (unknown ids are left out); returns those deleted, with their chip keys. */
  deleteDatapoints(datasetId: string, ids: string[]): Promise<Datapoint[]>;
  /** Up to `limit` datapoints not cached yet, in posting order. */
  listUncached(datasetId: string, limit: number): Promise<Datapoint[]>;
  markCached(datasetId: string, chips: Array<{ id: string; chipKey: string }>): Promise<void>;
  /** Next run number for readable workflow ids (veda-<dataset>-ingest-<n>); atomic per (dataset, kind). */
  nextRunNumber(datasetId: string, kind: string): Promise<number>;
  close(): Promise<void>;
}

/** A datapoint's position in its dataset's posting order (a bigint, as a decimal string). */
export type DatapointKey = string;

export interface DatapointPage {
  after?: DatapointKey | null;
  through?: DatapointKey | null;
  limit: number;
  group?: string;
}

/** Datapoints with key in (after, through]: `count` of them when the chunk was cut. */
export interface DatapointChunk {
  after: DatapointKey | null;
  through: DatapointKey;
  count: number;
}

