/**
 * VedaCollection: one dataset, pyveda-style. Every call goes through the Veda's backend (client/backend.ts): reads
 * to the catalog and chip store, long work (ingest, cache, batches) to Temporal workflows, whose progress the
 * returned WorkflowRun queries from the workflow; directly or through a veda HTTP service, the same way.
 */
import { z } from 'zod';
import type { Datapoint } from '../domain/catalog/types.js';
import { serveLabel, type Target } from '../domain/labels/served-label.js';
import type { PixelWindow, Raster } from '../domain/types.js';
import type { DatasetDoc } from '../domain/catalog/dataset-doc.js';
import type { FedLabel } from './feed-labels.js';
import type { IngestOptions } from './ingest-options.js';
import type { WorkflowRun } from './workflow-run.js';
import type { OpenedBatch } from '../domain/batches/index.js';
import type { BatchOptions } from './batch-options.js';
import type { Progress } from '../workflows/progress.js';
import type { ImageWindow } from './image-windows.js';
import { parseOptions } from '../domain/input-schema.js';
import type { PreviewOptions, RenderedPreview } from '../domain/preview/index.js';
import type { FeedOptions } from './fed-pairs.js';
import type { LeakageReport } from '../domain/splits/leakage.js';
import type { BatchFile, DatasetInfo, DatasetManifest, DatasetSchedules, VedaBackend } from './backend.js';

/** A label as served, the same form as in batches (see domain/labels/served-label.ts). */
export type ServedLabel = Target;

export interface DatasetPair {
  /** The datapoint's document: id, group, source, window, cache key. */
  data: Datapoint;
  /** The label, read eagerly. */
  y: ServedLabel;
  /** The chip's pixels [bands, h, w], read only when called (from the chip store when cached, else the image). */
  image(): Promise<Raster>;
}

/** A rendered chip preview: the PNG bytes, the datapoint shown, and the class colours (see domain/preview). */
export interface ChipPreview extends Omit<RenderedPreview, 'rgba'> {
  png: Buffer;
  datapoint: Datapoint;
  /** Why these bands: the user's choice, or what the image and sensor said (natural colour when they say it). */
  bandsReason: string;
}

/** A window to feed: from `image.windows()` (it names its image), or pixel offsets with a `source` beside them. */
export type FeedWindow = ImageWindow | PixelWindow | [x: number, y: number, width: number, height: number];

export interface FeedPair {
  /** Image path or URL the window is read from (default: the window's own `source`, then feed's `source` option). */
  source?: string;
  /** Its size must be the dataset's tile size, and it must lie inside the image. */
  window: FeedWindow;
  label: FedLabel;
}

/** An object pair, or pyveda's tuple form `[window, label]`. */
export type FeedItem = FeedPair | [window: FeedWindow, label: FedLabel];

const saveOptionsSchema = z.strictObject({
  /** Wait until every chip is cached (`percent_cached` 100); by default save returns once caching has started. */
  wait: z.boolean({ error: 'wait is true or false' }).optional(),
});

export type SaveOptions = z.input<typeof saveOptionsSchema>;

export class VedaCollection {
  constructor(
    private readonly backend: VedaBackend,
    private info: DatasetInfo,
  ) {}

  get id(): string {
    return this.info.id;
  }
  get name(): string {
    return this.info.name;
  }
  get mlType() {
    return this.info.mlType;
  }
  get classes(): string[] {
    return [...this.info.classes];
  }
  get tileSize(): [number, number] {
    return this.info.tileSize;
  }
  get userId(): string {
    return this.info.userId;
  }

  /** Reads the dataset again (after workflows updated it); NotFoundError once it is no longer visible. */
  async refresh(): Promise<this> {
    this.info = await this.backend.dataset(this.id);
    return this;
  }

  async doc(): Promise<DatasetDoc> {
    const doc = await this.backend.doc(this.id);
    this.info = doc;
    return doc;
  }

  /** Datapoints per group, e.g. { train: 100, test: 25 }. */
  async count(): Promise<Record<string, number>> {
    return (await this.backend.counts(this.id)).groups;
  }

  /**
   * Starts an ingest workflow (plan windows, encode labels, post datapoints, cache chips). The run carries the
   * seed the plan used: the one given, or the one drawn for it.
   */
  ingest(options: IngestOptions): Promise<WorkflowRun & { seed: number }> {
    return this.backend.ingest(this.id, options);
  }

  /** Cancels the dataset's running workflows (owner only); resolves once they have stopped, with their ids. */
  cancelRuns(): Promise<string[]> {
    return this.backend.cancelRuns(this.id);
  }

  /** Starts a cache workflow for datapoints not cached yet (after `feed`, or to finish an interrupted cache). */
  cache(): Promise<WorkflowRun> {
    return this.backend.cache(this.id);
  }

  /**
   * Starts a batch workflow (cache what is missing, then write the HDF5 file); see `batch` to wait and open it.
   * The owner, or anyone for a public dataset that is fully cached (caching writes to the dataset).
   */
  startBatch(options: BatchOptions = {}): Promise<WorkflowRun> {
    return this.backend.startBatch(this.id, options);
  }

  /**
   * pyveda's `batch(n)`: builds an HDF5 batch of `size` samples through the batch workflow and opens it. The result
   * has one sample array per group (`batch.train`, `batch.test`), read from the file on demand; close it when done.
   */
  async batch(size?: number, options: BatchOptions = {}): Promise<OpenedBatch> {
    const { openBatch } = await import('../domain/batches/index.js');
    return openBatch((await this.buildBatch({ ...options, size: size ?? options.size })).path);
  }

  /**
   * Builds a batch and waits for it. The worker stores the file in the batch store; the client fetches its copy to
   * `out` (with a local store and no `out`, the stored file itself; over HTTP, a download).
   */
  async buildBatch(options: BatchOptions = {}, follow?: (run: WorkflowRun) => Promise<Progress>): Promise<{ run: WorkflowRun; final: Progress; path: string }> {
    const { out, ...rest } = options;
    const run = await this.startBatch(rest);
    const final = await (follow ? follow(run) : run.result());
    return { run, final, path: await this.backend.fetchBatch(final, out) };
  }

  /** The dataset's stored batch files (`latest.h5` and one per run). */
  batches(): Promise<BatchFile[]> {
    return this.backend.batches(this.id);
  }

  /** The dataset's batch schedules (Temporal Schedules that rebuild batches); the owner's only. */
  get schedules(): DatasetSchedules {
    return this.backend.schedules(this.info);
  }

  /**
   * Posts explicit (window, label) pairs into a group; returns how many were new. Idempotent. Every pair is checked
   * before any is posted: its label against the ML type and classes, its image exists, its window is the tile size
   * and lies inside the image, and the image's bands match the dataset's chips.
   */
  feed(pairs: FeedItem[], options: FeedOptions = {}): Promise<number> {
    return this.backend.feed(this.id, pairs, options);
  }

  /**
   * Deletes datapoints by id, with their cached chips; returns how many were deleted (unknown ids are ignored).
   * A chip a running cache workflow stores for a deleted datapoint afterwards stays unreferenced until the dataset goes.
   */
  remove(ids: string | string[]): Promise<number> {
    return this.backend.remove(this.id, typeof ids === 'string' ? [ids] : ids);
  }

  /**
   * pyveda's save: starts caching whatever is not cached yet and returns the dataset document at once, while
   * `percent_cached` rises (`doc()` again to see it); `{ wait: true }` returns once everything is cached.
   */
  async save(options: SaveOptions = {}): Promise<DatasetDoc> {
    const { wait } = parseOptions(saveOptionsSchema, options, 'save');
    const counts = await this.backend.counts(this.id);
    if (counts.cached < counts.total && this.info.userId === this.backend.user) {
      const run = await this.cache();
      if (wait) await run.result();
    }
    return this.doc();
  }

  async publish(): Promise<DatasetDoc> {
    return (this.info = await this.backend.update(this.id, { public: true }));
  }

  async unpublish(): Promise<DatasetDoc> {
    return (this.info = await this.backend.update(this.id, { public: false }));
  }

  /** Deletes the dataset, its datapoints and its cached chips. */
  delete(): Promise<void> {
    return this.backend.delete(this.id);
  }

  /**
   * How the dataset was made: veda and label-encoding versions, and every ingest in order with its plan, options,
   * seed, split cells per group, and its image and label sources with sizes and checksums (or ETags). Re-running
   * an ingest's spec into the dataset posts the same datapoint ids (nothing new); into a fresh dataset, the same
   * windows and labels.
   */
  manifest(): Promise<DatasetManifest> {
    return this.backend.manifest(this.id);
  }

  /**
   * The leakage check over every datapoint (ingested or fed): pixels shared by each pair of groups (count and
   * share of each group's pixels), windows present in two groups, and per-group class counts.
   */
  check(): Promise<LeakageReport & { datasetId: string }> {
    return this.backend.check(this.id);
  }

  /** Pairs [start, end) in posting order (half-open, like Array.prototype.slice), optionally of one group. */
  async slice(start: number, end: number, options: { group?: string } = {}): Promise<DatasetPair[]> {
    const points = await this.backend.slice(this.id, start, end, options.group);
    return points.map((p) => this.pair(p));
  }

  /** The pair at index i (posting order), or undefined past the end. */
  async at(i: number, options: { group?: string } = {}): Promise<DatasetPair | undefined> {
    return (await this.slice(i, i + 1, options))[0];
  }

  /** The chip at index i (posting order) as a PNG with its label drawn over it, so a user can check the alignment. */
  preview(index: number, options: PreviewOptions & { group?: string } = {}): Promise<ChipPreview> {
    return this.backend.preview(this.id, index, options);
  }

  private pair(point: Datapoint): DatasetPair {
    return {
      data: point,
      y: serveLabel(point.label, this.mlType),
      image: () => this.backend.chip(this.id, point),
    };
  }
}
