/**
 * VedaCollection: one dataset, pyveda-style. Reads go to the catalog and chip store; long work (ingest, cache,
 * batches) starts Temporal workflows and returns a WorkflowRun whose progress is queried from the workflow.
 */
import type { Datapoint, DatasetRecord } from '../domain/catalog/types.js';
import { datapointId } from '../domain/datapoints/id.js';
import { ForbiddenError, InvalidInputError, NotFoundError } from '../domain/errors.js';
import { decodeRle } from '../domain/labels/rle.js';
import type { DetectionLabel, Label, PixelWindow, Raster, SegmentationLabel } from '../domain/types.js';
import { datasetDoc, type DatasetDoc } from '../domain/catalog/dataset-doc.js';
import { parseGroupName } from '../domain/catalog/validation.js';
import { normalizeFedLabel, type FedLabel } from './feed-labels.js';
import { absoluteUri, ingestSpec, type IngestOptions } from './ingest-options.js';
import type { Veda } from './veda.js';
import type { WorkflowRun } from './workflow-run.js';
import { openBatch, type OpenedBatch } from '../domain/batches/index.js';
import { fetchBatchFile } from './batch-files.js';
import { batchWorkflowInput, type BatchOptions } from './batch-options.js';
import type { Progress } from '../workflows/progress.js';
import { BatchSchedules } from './schedules.js';
// Imagery, previews and batches load when first used: opening a collection (`veda show`) must stay fast.
import type { PreviewOptions, RenderedPreview } from '../domain/preview/index.js';

/** A label as served: one-hot, per-class boxes, or a decoded class-index mask (row-major, height x width). */
export type ServedLabel = number[] | DetectionLabel | { width: number; height: number; mask: Uint8Array };

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
}

export interface FeedPair {
  /** Image path or URL the window is read from. */
  source: string;
  /** Pixel window: { x, y, width, height } or [x, y, width, height]; its size must be the dataset's tile size. */
  window: PixelWindow | [number, number, number, number];
  label: FedLabel;
}

export class VedaCollection {
  constructor(
    private readonly veda: Veda,
    private record: DatasetRecord,
  ) {}

  get id(): string {
    return this.record.id;
  }
  get name(): string {
    return this.record.name;
  }
  get mlType() {
    return this.record.mlType;
  }
  get classes(): string[] {
    return [...this.record.classes];
  }
  get tileSize(): [number, number] {
    return this.record.tileSize;
  }
  get userId(): string {
    return this.record.userId;
  }

  private get catalog() {
    return this.veda.services.catalog;
  }

  /** Re-reads the record (after workflows updated it). */
  async refresh(): Promise<this> {
    this.record = await this.veda.visibleRecord(this.record.id);
    return this;
  }

  async doc(): Promise<DatasetDoc> {
    await this.refresh();
    return datasetDoc(this.record, await this.catalog.counts(this.id), this.veda.docContext(this.id));
  }

  /** Datapoints per group, e.g. { train: 100, test: 25 }. */
  async count(): Promise<Record<string, number>> {
    await this.refresh(); // reads check access each time: the dataset may have been unpublished since
    return (await this.catalog.counts(this.id)).groups;
  }

  /** Starts an ingest workflow (plan windows, encode labels, post datapoints, cache chips). */
  async ingest(options: IngestOptions): Promise<WorkflowRun> {
    this.requireOwner('ingest into');
    const spec = ingestSpec(this.record, options);
    return this.veda.startWorkflow('ingest', this.record, { spec, cache: options.cache }, describeIngest(spec.plan, spec.scenes ? `${spec.scenes.length} scenes` : spec.image));
  }

  /**
   * Cancels the dataset's running workflows (ingest, cache, batch) and waits until each has ended; returns their
   * ids. Only the owner may cancel.
   */
  async cancelRuns(): Promise<string[]> {
    this.requireOwner('cancel the workflows of');
    const runs = await this.veda.runningRuns(this.id);
    await Promise.all(runs.map((run) => run.cancel()));
    await Promise.all(runs.map((run) => run.ended()));
    return runs.map((run) => run.workflowId);
  }

  /** Starts a cache workflow for datapoints not cached yet (after `feed`, or to finish an interrupted cache). */
  async cache(): Promise<WorkflowRun> {
    this.requireOwner('cache');
    return this.veda.startWorkflow('cache', this.record, { datasetId: this.id }, `cache the chips of dataset ${this.id}`);
  }

  /**
   * Starts a batch workflow (cache what is missing, then write the HDF5 file); see `batch` to wait and open it.
   * The owner, or anyone for a public dataset that is fully cached (caching writes to the dataset).
   */
  async startBatch(options: BatchOptions = {}): Promise<WorkflowRun> {
    await this.refresh(); // it may have been unpublished or deleted since this handle was opened
    if (this.record.userId !== this.veda.user) {
      const { cached, total } = await this.catalog.counts(this.id);
      if (cached < total) {
        throw new ForbiddenError(
          `${this.veda.user} may not build a batch of dataset ${this.id} yet: ${total - cached} of its ${total} datapoints ` +
            `are not cached, and only its owner ${this.record.userId} may cache them`,
        );
      }
    }
    const input = batchWorkflowInput(this.id, options);
    return this.veda.startWorkflow('batch', this.record, input, `batch of ${input.size ?? 'all'} samples`);
  }

  /**
   * pyveda's `batch(n)`: builds an HDF5 batch of `size` samples through the batch workflow and opens it. The result
   * has one sample array per group (`batch.train`, `batch.test`), read from the file on demand; close it when done.
   */
  async batch(size?: number, options: BatchOptions = {}): Promise<OpenedBatch> {
    return openBatch((await this.buildBatch({ ...options, size: size ?? options.size })).path);
  }

  /**
   * Builds a batch and waits for it. The worker stores the file in the batch store; the client fetches its copy to
   * `out` (with a local store and no `out`, the stored file itself).
   */
  async buildBatch(options: BatchOptions = {}, follow?: (run: WorkflowRun) => Promise<Progress>): Promise<{ run: WorkflowRun; final: Progress; path: string }> {
    const { out, ...rest } = options;
    const run = await this.startBatch(rest);
    const final = await (follow ? follow(run) : run.result());
    return { run, final, path: await fetchBatchFile(this.veda.services, final, out) };
  }

  /** The dataset's batch schedules (Temporal Schedules that rebuild batches). */
  get schedules(): BatchSchedules {
    this.requireOwner('schedule batches of');
    return this.veda.batchSchedules(this.record);
  }

  /** Posts explicit (window, label) pairs into a group; returns how many were new. Idempotent. */
  async feed(pairs: FeedPair[], options: { group?: string } = {}): Promise<number> {
    this.requireOwner('feed');
    const group = options.group ?? 'train';
    parseGroupName(group);
    const [tileW, tileH] = this.record.tileSize;
    const points = pairs.map((pair, i): Datapoint => {
      const w = Array.isArray(pair.window)
        ? { x: pair.window[0], y: pair.window[1], width: pair.window[2], height: pair.window[3] }
        : pair.window;
      const where = `pair ${i}`;
      if (![w.x, w.y].every((v) => Number.isInteger(v) && v >= 0) || w.width !== tileW || w.height !== tileH) {
        throw new InvalidInputError(`${where}: the window must be at non-negative integer offsets and ${tileW}x${tileH} pixels`);
      }
      const label = normalizeFedLabel(this.mlType, this.record.classes.length, this.record.tileSize, pair.label, where);
      const source = absoluteUri(pair.source);
      return { id: datapointId(this.id, source, w, group), datasetId: this.id, group, source, window: w, label, chipKey: null };
    });
    this.record = await this.catalog.addSources(this.id, [...new Set(points.map((p) => p.source))]);
    return this.catalog.upsertDatapoints(points);
  }

  /**
   * Caches whatever is not cached yet and returns the dataset document. Waits for the cache workflow, so
   * `percent_cached` is 100 afterwards.
   */
  async save(): Promise<DatasetDoc> {
    const counts = await this.catalog.counts(this.id);
    if (counts.cached < counts.total && this.record.userId === this.veda.user) await (await this.cache()).result();
    return this.doc();
  }

  async publish(): Promise<DatasetDoc> {
    return this.setPublic(true);
  }

  async unpublish(): Promise<DatasetDoc> {
    return this.setPublic(false);
  }

  private async setPublic(value: boolean): Promise<DatasetDoc> {
    this.requireOwner(value ? 'publish' : 'unpublish');
    this.record = await this.catalog.updateDataset(this.id, { public: value });
    return this.doc();
  }

  /** Deletes the dataset, its datapoints and its cached chips. */
  async delete(): Promise<void> {
    this.requireOwner('delete');
    await this.catalog.deleteDataset(this.id);
    await this.veda.services.chips.deletePrefix(`datasets/${this.id}/`);
  }

  /** Pairs [start, end) in posting order (half-open, like Array.prototype.slice), optionally of one group. */
  async slice(start: number, end: number, options: { group?: string } = {}): Promise<DatasetPair[]> {
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start) {
      throw new InvalidInputError(`slice(${start}, ${end}): start and end are integers with 0 <= start <= end`);
    }
    await this.refresh();
    const points = await this.catalog.listDatapoints(this.id, { offset: start, limit: end - start, group: options.group });
    return points.map((p) => this.pair(p));
  }

  /** The pair at index i (posting order), or undefined past the end. */
  async at(i: number, options: { group?: string } = {}): Promise<DatasetPair | undefined> {
    return (await this.slice(i, i + 1, options))[0];
  }

  /** The chip at index i (posting order) as a PNG with its label drawn over it, so a user can check the alignment. */
  async preview(index: number, options: PreviewOptions & { group?: string } = {}): Promise<ChipPreview> {
    const pair = await this.at(index, { group: options.group });
    if (!pair) {
      const { total, groups } = await this.catalog.counts(this.id);
      const size = options.group ? (groups[options.group] ?? 0) : total;
      throw new NotFoundError(`dataset ${this.id} has no datapoint at index ${index}${options.group ? ` of group ${options.group}` : ''} (it has ${size})`);
    }
    const { encodePng, renderPreview } = await import('../domain/preview/index.js');
    const { rgba, ...rendered } = renderPreview(await pair.image(), pair.data.label, this.mlType, this.record.classes, options);
    return { ...rendered, png: await encodePng({ ...rendered, rgba }), datapoint: pair.data };
  }

  private pair(point: Datapoint): DatasetPair {
    const { chips } = this.veda.services;
    return {
      data: point,
      y: serveLabel(point.label),
      image: async () => {
        if (point.chipKey) return chips.get(point.chipKey);
        const [{ openImage }, { bandsForSource }] = await Promise.all([import('../domain/imagery/index.js'), import('../activities/cache.js')]);
        const bands = bandsForSource(this.record, point.source);
        const source = await openImage(point.source);
        try {
          return await source.readWindow(point.window, bands);
        } finally {
          await source.close();
        }
      },
    };
  }

  private requireOwner(action: string): void {
    if (this.record.userId !== this.veda.user) {
      throw new ForbiddenError(`${this.veda.user} may not ${action} dataset ${this.id}: it belongs to ${this.record.userId}`);
    }
  }
}

export function serveLabel(label: Label): ServedLabel {
  if (!Array.isArray(label)) {
    const rle = label as SegmentationLabel;
    return { width: rle.width, height: rle.height, mask: decodeRle(rle) };
  }
  return label as number[] | DetectionLabel;
}

function describeIngest(plan: { strategy: string; count?: number }, image: string): string {
  const count = plan.count ? `${plan.count} ` : '';
  return `ingest ${count}${plan.strategy} windows of ${image.split('/').pop()}`;
}
