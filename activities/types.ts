/**
 * The contract between workflows and activities: small, JSON-serialisable inputs and outputs (ids, ranges,
 * storage keys; never pixels).
 */
import type { DatapointKey, DatasetCounts } from '../domain/catalog/types.js';
import type { CellLayout } from '../domain/windows/index.js';
import type { BalanceResult } from '../domain/windows/balance.js';

export type { IngestSpec, IngestSplit } from '../domain/ingest-spec.js';
export type { GroupCount } from '../domain/types.js';
import type { IngestSpec } from '../domain/ingest-spec.js';

export interface PreparedIngest {
  /** Windows in the plan. */
  total: number;
  ignoredFeatures: number;
  /** A several-scene ingest: one single-scene spec per scene that gets windows, and its window count. */
  scenes?: Array<{ spec: IngestSpec; total: number; layout?: CellLayout | null; picks?: number[] }>;
  /** The cells each group may use, when the ingest is split or other groups hold pixels of the image. */
  layout?: CellLayout | null;
  /** A balanced ingest: the candidate windows kept (indexes, ascending), and what each group got per class. */
  picks?: number[];
  balanced?: BalanceResult['groups'];
}

export interface IngestChunkInput {
  spec: IngestSpec;
  start: number;
  end: number;
  layout?: CellLayout | null;
  /** A balanced ingest: the candidate indexes of windows [start, end). */
  picks?: number[];
  /** Also read and store each window's chip, posting its datapoint cached (workflows since cache-while-posting). */
  cache?: boolean;
}

export interface IngestChunkResult {
  windows: number;
  posted: number;
  skipped: number;
  /** Chips stored (a caching chunk); absent from chunks of earlier releases. */
  cached?: number;
  /** Pixel extent [minX, minY, maxX, maxY] of the windows kept, for the dataset's bbox. */
  extent: [number, number, number, number] | null;
}

export interface FinishIngestInput {
  spec: IngestSpec;
  extent: [number, number, number, number] | null;
}

export interface AbandonIngestInput {
  spec: IngestSpec;
  /** What the user is told: the failure's own message. */
  message: string;
}

export interface CacheChunkInput {
  datasetId: string;
  /** Half-open range of datapoints in posting order (for the summary and progress). */
  start: number;
  end: number;
  /**
   * The same range as catalog keys (datapointChunks): read by key, never by offset. Absent only in chunks of runs
   * started before keyed chunks, which read [start, end) by offset.
   */
  after?: DatapointKey | null;
  through?: DatapointKey;
}

/** A cache chunk's range, from planCacheChunks. */
export type CacheChunkRange = Required<Omit<CacheChunkInput, 'datasetId'>>;

export interface CacheChunkResult {
  /** Datapoints of the range that are cached now (already cached ones included). */
  cached: number;
  /** Chips this call wrote. */
  stored: number;
}

export type { DatasetCounts };

export interface BuildBatchInput {
  datasetId: string;
  /** Samples to take (all cached datapoints when omitted). */
  size?: number;
  /** Data groups to draw from (all when omitted). */
  groups?: string[];
  /** Re-partition the samples by ratios, e.g. { train: 70, test: 20, validate: 10 }. */
  split?: Record<string, number>;
  /** Re-partition even when windows share pixels (their measured overlap is recorded in the file). */
  allowLeakage?: boolean;
  seed: number;
  shuffle?: boolean;
  /** gzip level 1-9 for images and masks (none by default). */
  compression?: number;
}

/**
 * Where the file went: always the batch store (`<dataset>/<workflow id>.<run>.h5`, and `<dataset>/latest.h5` made
 * the same file). A worker never writes where a caller names: the client fetches its copy from the store.
 */
export interface BuildBatchResult {
  /** Key in the batch store. */
  key: string;
  /** The stored file as a user names it: a local path or an s3:// URI. */
  uri: string;
  /** The dataset's `latest.h5`, now this file. */
  latest: string;
  groups: Record<string, number>;
  samples: number;
}
