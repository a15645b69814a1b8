/**
 * VedaCollection: one dataset, pyveda-style. Reads go to the catalog and chip store; long work (ingest, cache,
 * batches) starts Temporal workflows and returns a WorkflowRun whose progress is queried from the workflow.
 */
import { z } from 'zod';
import type { Datapoint, DatasetRecord } from '../domain/catalog/types.js';
import { datapointId } from '../domain/datapoints/id.js';
import { ForbiddenError, InvalidInputError, isVedaError, NotFoundError, type VedaError } from '../domain/errors.js';
import { serveLabel, type Target } from '../domain/labels/served-label.js';
import type { ImageInfo, PixelWindow, Raster } from '../domain/types.js';
import { datasetDoc, type DatasetDoc } from '../domain/catalog/dataset-doc.js';
import { normalizeFedLabel, type FedLabel } from './feed-labels.js';
import { absoluteUri, ingestSpec, type IngestOptions } from './ingest-options.js';
import type { Veda } from './veda.js';
import type { WorkflowRun } from './workflow-run.js';
import { openBatch, type OpenedBatch } from '../domain/batches/index.js';
import { fetchBatchFile } from './batch-files.js';
import { batchWorkflowInput, type BatchOptions } from './batch-options.js';
import type { Progress } from '../workflows/progress.js';
import { BatchSchedules } from './schedules.js';
import type { ImageWindow } from './image-windows.js';
import { parseFedPair, parseFeedOptions, type FeedOptions } from './fed-pairs.js';
import { parseOptions } from '../domain/input-schema.js';
// Imagery, previews and batches load when first used: opening a collection (`veda show`) must stay fast.
import type { BandChoice, PreviewOptions, RenderedPreview } from '../domain/preview/index.js';
import { batchManifest } from '../domain/manifest/manifest.js';
import { checkLeakage, type LeakageReport } from '../domain/splits/leakage.js';

/** Datapoints read per catalog query by the leakage check. */
const CHECK_PAGE = 5000;

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

  /**
   * Starts an ingest workflow (plan windows, encode labels, post datapoints, cache chips). The run carries the
   * seed the plan used: the one given, or the one drawn for it.
   */
  async ingest(options: IngestOptions): Promise<WorkflowRun & { seed: number }> {
    this.requireOwner('ingest into');
    const spec = ingestSpec(this.record, options);
    const run = await this.veda.startWorkflow('ingest', this.record, { spec, cache: options.cache }, describeIngest(spec.plan, spec.scenes ? `${spec.scenes.length} scenes` : spec.image));
    return Object.assign(run, { seed: spec.split!.seed });
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
    const input = batchWorkflowInput(this.id, options);
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

  /**
   * Posts explicit (window, label) pairs into a group; returns how many were new. Idempotent. Every pair is checked
   * before any is posted: its label against the ML type and classes, its image exists, its window is the tile size
   * and lies inside the image, and the image's bands match the dataset's chips.
   */
  async feed(pairs: FeedItem[], options: FeedOptions = {}): Promise<number> {
    this.requireOwner('feed');
    const { group, source: defaultSource } = parseFeedOptions(options);
    if (!Array.isArray(pairs)) throw new InvalidInputError('feed takes a list of pairs: [window, label] or { source, window, label }');
    const fed = pairs.map((item, i) => {
      const where = `pair ${i}`;
      const pair = parseFedPair(item, this.record.tileSize, where);
      const source = pair.source ?? defaultSource;
      if (!source) throw new InvalidInputError(`${where}: no image: give the pair a source, feed a window from image.windows(), or pass { source }`);
      const label = normalizeFedLabel(this.mlType, this.record.classes.length, this.record.tileSize, pair.label, where);
      return { where, window: pair.window, source: absoluteUri(source), label };
    });
    const images = await this.imagesOf(fed);
    const [checks, { bandsForSource }] = await Promise.all([import('../domain/imagery/window-checks.js'), import('../domain/catalog/dataset-ingests.js')]);
    for (const { where, window, source } of fed) {
      try {
        checks.assertWindowInImage(images.get(source)!, window);
        this.checkBands(images.get(source)!, checks.resolveBands(images.get(source)!, bandsForSource(this.record, source)));
      } catch (err) {
        if (err instanceof InvalidInputError) throw new InvalidInputError(`${where}: ${err.message}`);
        throw err;
      }
    }
    const points = fed.map(({ window, source, label }): Datapoint => ({
      id: datapointId(this.id, source, window, group), datasetId: this.id, group, source, window, label, chipKey: null,
    }));
    this.record = await this.catalog.addSources(this.id, [...new Set(points.map((p) => p.source))]);
    return this.catalog.insertDatapoints(points);
  }

  /** Each fed image's header, read once; a missing or unreadable image names the first pair that uses it. */
  private async imagesOf(fed: Array<{ where: string; source: string }>): Promise<Map<string, ImageInfo>> {
    const images = new Map<string, ImageInfo>();
    const { openImage } = await import('../domain/imagery/index.js');
    for (const { where, source } of fed) {
      if (images.has(source)) continue;
      try {
        const image = await openImage(source);
        images.set(source, image.info);
        await image.close();
      } catch (err) {
        if (!isVedaError(err)) throw err;
        const Kind = err.constructor as new (message: string) => VedaError;
        throw new Kind(`${where}: ${err.message}`);
      }
    }
    return images;
  }

  /** Chips of the image's (selected) bands must stack with the dataset's. */
  private checkBands(info: ImageInfo, bands: number[]): void {
    const { shape, dtype } = this.record;
    if (shape && (bands.length !== shape[0] || info.dtype !== dtype)) {
      throw new InvalidInputError(`${info.uri}: ${bands.length} band(s) of ${info.dtype}, but the dataset's chips are ${shape[0]} band(s) of ${dtype}`);
    }
  }

  /**
   * Deletes datapoints by id, with their cached chips; returns how many were deleted (unknown ids are ignored).
   * A chip a running cache workflow stores for a deleted datapoint afterwards stays unreferenced until the dataset goes.
   */
  async remove(ids: string | string[]): Promise<number> {
    this.requireOwner('remove datapoints from');
    const list = typeof ids === 'string' ? [ids] : ids;
    if (!Array.isArray(list) || list.some((id) => typeof id !== 'string' || !id)) throw new InvalidInputError('remove takes datapoint ids (strings)');
    const removed = await this.catalog.deleteDatapoints(this.id, list);
    for (const point of removed) if (point.chipKey) await this.veda.services.chips.deletePrefix(point.chipKey);
    return removed.length;
  }

  /**
   * pyveda's save: starts caching whatever is not cached yet and returns the dataset document at once, while
   * `percent_cached` rises (`doc()` again to see it); `{ wait: true }` returns once everything is cached.
   */
  async save(options: SaveOptions = {}): Promise<DatasetDoc> {
    const { wait } = parseOptions(saveOptionsSchema, options, 'save');
    const counts = await this.catalog.counts(this.id);
    if (counts.cached < counts.total && this.record.userId === this.veda.user) {
      const run = await this.cache();
      if (wait) await run.result();
    }
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

  /**
   * How the dataset was made: veda and label-encoding versions, and every ingest in order with its plan, options,
   * seed, split cells per group, and its image and label sources with sizes and checksums (or ETags). Re-running
   * an ingest's spec into the dataset posts the same datapoint ids (nothing new); into a fresh dataset, the same
   * windows and labels.
   */
  async manifest(): Promise<{ datasetId: string; vedaVersion: string; labelEncodingVersion: number; sources: string[]; ingests: unknown[] }> {
    await this.refresh();
    return { datasetId: this.id, ...batchManifest(this.record.sources), ingests: this.record.ingests };
  }

  /**
   * The leakage check over every datapoint (ingested or fed): pixels shared by each pair of groups (count and
   * share of each group's pixels), windows present in two groups, and per-group class counts.
   */
  async check(): Promise<LeakageReport & { datasetId: string }> {
    const points: Datapoint[] = [];
    for (let after: string | null = null; ; ) {
      const page = await this.catalog.pageDatapoints(this.id, { after, limit: CHECK_PAGE });
      points.push(...page.points);
      if (page.points.length < CHECK_PAGE || !page.last) break;
      after = page.last;
    }
    return { datasetId: this.id, ...checkLeakage(points, this.mlType, this.record.classes) };
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
    const chip = await pair.image();
    const choice = options.bands ? { bands: options.bands, reason: 'as asked' } : await this.previewBands(pair.data.source, chip.bands);
    const { rgba, ...rendered } = renderPreview(chip, pair.data.label, this.mlType, this.record.classes, { ...options, bands: choice.bands });
    return { ...rendered, png: await encodePng({ ...rendered, rgba }), datapoint: pair.data, bandsReason: choice.reason };
  }

  /** Natural colour when the image (band colour interpretation or descriptions) or the dataset's sensor says how. */
  private async previewBands(source: string, chipBandCount: number): Promise<BandChoice> {
    const [{ naturalColourBands }, { readBandLabels }, { bandsForSource }] = await Promise.all([
      import('../domain/preview/natural-colour.js'), import('../domain/imagery/band-labels.js'), import('../domain/catalog/dataset-ingests.js'),
    ]);
    const sourceBands = bandsForSource(this.record, source) ?? Array.from({ length: chipBandCount }, (_, i) => i + 1);
    // A chip cached from an image that is gone still previews, with what the sensor says.
    const labels = await readBandLabels(source).catch(() => []);
    return naturalColourBands(labels, sourceBands, this.record.sensors);
  }

  private pair(point: Datapoint): DatasetPair {
    const { chips } = this.veda.services;
    return {
      data: point,
      y: serveLabel(point.label, this.mlType),
      image: async () => {
        if (point.chipKey) return chips.get(point.chipKey);
        const [{ openImage }, { bandsForSource }] = await Promise.all([import('../domain/imagery/index.js'), import('../domain/catalog/dataset-ingests.js')]);
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

function describeIngest(plan: { strategy: string; count?: number }, image: string): string {
  const count = plan.count ? `${plan.count} ` : '';
  return `ingest ${count}${plan.strategy} windows of ${image.split('/').pop()}`;
}
