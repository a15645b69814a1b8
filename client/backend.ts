/**
 * The seam between veda's client API (Veda, VedaCollection) and where the work is done. DirectBackend works on the
 * catalog, the stores and Temporal itself, acting as the user it is given: operators, single-user setups, and the
 * HTTP service (`veda serve`), which gives it the user its API token names. HttpBackend asks that service, which
 * decides who is acting. Who may do what is decided in DirectBackend alone, so both paths enforce the same rules.
 */
import type { z } from 'zod';
import type { DatasetDoc } from '../domain/catalog/dataset-doc.js';
import type { newCollectionSchema } from '../domain/catalog/validation.js';
import type { Datapoint, DatasetCounts, DatasetRecord, DatasetSearch } from '../domain/catalog/types.js';
import type { LeakageReport } from '../domain/splits/leakage.js';
import type { Raster } from '../domain/types.js';
import type { PreviewOptions } from '../domain/preview/index.js';
import type { Progress } from '../workflows/progress.js';
import type { BatchOptions } from './batch-options.js';
import type { ChipPreview, FeedItem } from './collection.js';
import type { FeedOptions } from './fed-pairs.js';
import type { IngestOptions } from './ingest-options.js';
import type { ScheduleCreateOptions, ScheduleSummary } from './schedules.js';
import type { WorkflowRun } from './workflow-run.js';

/** `classes` may be left out for binary classification: it is then `['class1']`, as in pyveda's documents. */
export type NewCollection = z.input<typeof newCollectionSchema>;

/** What a collection handle knows of its dataset without asking again (a catalog record and a document both are). */
export type DatasetInfo = Pick<DatasetRecord, 'id' | 'name' | 'mlType' | 'classes' | 'tileSize' | 'userId'>;

export type DatasetQuery = Omit<DatasetSearch, 'viewer'>;

/** What the owner may change of a dataset's document (`PUT /datasets/<id>`, the document's `update` link). */
export interface DatasetUpdate {
  name?: string;
  public?: boolean;
  sensors?: string[];
}

export interface DatasetManifest {
  datasetId: string;
  vedaVersion: string;
  labelEncodingVersion: number;
  sources: string[];
  ingests: unknown[];
}

/** A batch file in the batch store: `latest.h5` or `<workflow id>.<run>.h5`. */
export interface BatchFile {
  name: string;
  /** Its key in the batch store (`<dataset>/<name>`), what a finished run's `outputKey` names. */
  key: string;
  size: number;
  modified: string;
}

/** A dataset's batch schedules (Temporal Schedules that rebuild its batch); the owner's only. */
export interface DatasetSchedules {
  /** The schedule's id (`veda-<dataset>-batches-<name>`). */
  id(name?: string): string;
  create(options: ScheduleCreateOptions): Promise<ScheduleSummary>;
  list(): Promise<ScheduleSummary[]>;
  describe(name?: string): Promise<ScheduleSummary>;
  trigger(name?: string): Promise<void>;
  pause(name?: string, note?: string): Promise<void>;
  unpause(name?: string, note?: string): Promise<void>;
  delete(name?: string): Promise<void>;
}

export interface VedaBackend {
  /** Who is acting. */
  readonly user: string;
  create(input: NewCollection): Promise<DatasetInfo>;
  /** The dataset if this user may see it; NotFoundError otherwise (another user's private dataset is invisible). */
  dataset(id: string): Promise<DatasetInfo>;
  search(query: DatasetQuery): Promise<DatasetInfo[]>;
  doc(id: string): Promise<DatasetDoc>;
  counts(id: string): Promise<DatasetCounts>;
  update(id: string, patch: DatasetUpdate): Promise<DatasetDoc>;
  delete(id: string): Promise<void>;
  feed(id: string, pairs: FeedItem[], options: FeedOptions): Promise<number>;
  remove(id: string, datapointIds: string[]): Promise<number>;
  /** Datapoints [start, end) in posting order, optionally of one group. */
  slice(id: string, start: number, end: number, group?: string): Promise<Datapoint[]>;
  /** A datapoint's pixels [bands, h, w]: its cached chip, else read from its image. */
  chip(id: string, point: Datapoint): Promise<Raster>;
  preview(id: string, index: number, options: PreviewOptions & { group?: string }): Promise<ChipPreview>;
  manifest(id: string): Promise<DatasetManifest>;
  check(id: string): Promise<LeakageReport & { datasetId: string }>;
  ingest(id: string, options: IngestOptions): Promise<WorkflowRun & { seed: number }>;
  cache(id: string): Promise<WorkflowRun>;
  startBatch(id: string, options: BatchOptions): Promise<WorkflowRun>;
  /** The dataset's stored batch files. */
  batches(id: string): Promise<BatchFile[]>;
  /** Puts a copy of a finished batch's file at `out` (default: in place when it is a local file, else a download). */
  fetchBatch(final: Progress, out?: string): Promise<string>;
  /** Where a finished batch's file is, without copying it: a local path when there is one, and its address. */
  batchLocation(final: Progress): { path: string | null; uri: string };
  schedules(dataset: DatasetInfo): DatasetSchedules;
  /** Cancels the dataset's running workflows (owner only); resolves once they have stopped, with their ids. */
  cancelRuns(id: string): Promise<string[]>;
  /** The dataset's most recent workflow run, of any kind. */
  latestRun(id: string): Promise<WorkflowRun | null>;
  /** A handle on one of veda's workflow runs (`veda-<dataset>-<kind>-<n>`). */
  run(workflowId: string): WorkflowRun;
  close(): Promise<void>;
}
