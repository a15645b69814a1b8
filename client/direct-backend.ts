/**
 * veda's work done here: the catalog, the chip and batch stores and Temporal, reached with this process's own
 * credentials, acting as the user it is given. Who may do what is decided here and nowhere else: the owner may do
 * everything; others may read a public dataset (and build a batch of it once it is cached) and never see a private
 * one (NotFoundError, so ids do not leak). The HTTP service (`veda serve`) runs one per request, as the user its
 * API token names.
 */
import type { Client } from '@temporalio/client';
import { clientSdk } from '../temporal/client-sdk.js';
import { z } from 'zod';
import type { VedaConfig } from '../config/config.js';
import type { Datapoint, DatasetCounts, DatasetRecord } from '../domain/catalog/types.js';
import { datapointId } from '../domain/datapoints/id.js';
import { ForbiddenError, InvalidInputError, isVedaError, messageWithCauses, NotFoundError, SetupError, type VedaError } from '../domain/errors.js';
import { datasetDoc, type DatasetDoc, type DocContext } from '../domain/catalog/dataset-doc.js';
import { newCollectionSchema } from '../domain/catalog/validation.js';
import { parseOptions } from '../domain/input-schema.js';
import type { ImageInfo, Raster } from '../domain/types.js';
import { batchManifest } from '../domain/manifest/manifest.js';
import { checkLeakage, type LeakageReport } from '../domain/splits/leakage.js';
import type { BandChoice, PreviewOptions } from '../domain/preview/index.js';
import type { Services } from '../runtime/services.js';
import { datasetWorkflowsUrl } from '../temporal/ui-links.js';
import { registerCommands } from '../temporal/register-search-attributes.js';
import { DATASET_ID, ML_TYPE, STAGE, VEDA_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';
import type { Progress } from '../workflows/progress.js';
import type { BatchFile, DatasetInfo, DatasetManifest, DatasetQuery, DatasetSchedules, DatasetUpdate, NewCollection, VedaBackend } from './backend.js';
import { fetchBatchFile } from './batch-files.js';
import { batchWorkflowInput, type BatchOptions } from './batch-options.js';
import type { ChipPreview, FeedItem } from './collection.js';
import { parseFedPair, parseFeedOptions, type FeedOptions } from './fed-pairs.js';
import { normalizeFedLabel } from './feed-labels.js';
import { absoluteUri, ingestSpec, type IngestOptions } from './ingest-options.js';
import { BatchSchedules } from './schedules.js';
import { TemporalRun, type WorkflowRun } from './workflow-run.js';
import { WORKFLOW_TYPES, type WorkflowInput, type WorkflowName } from './workflow-types.js';

export interface VedaOptions {
  /** Null when no Temporal server is configured: catalog operations work, workflow operations say how to get one. */
  client: Client | null;
  namespace: string;
  taskQueue: string;
  /** Web UI base address, for links. */
  uiUrl?: string;
  services: Services;
  user: string;
  /** Windows / datapoints per activity, and activities in flight per workflow. */
  chunkSize?: number;
  parallelism?: number;
  /** Base URL of the HTTP service serving this backend's documents (their links become its URLs). */
  apiUrl?: string;
}

/** The class of a binary classification dataset created without classes (pyveda's document names it so). */
export const BINARY_CLASSES = ['class1'];
/** What the owner may change of a dataset's document (`update`, the document's `update` link). */
const datasetUpdateSchema = z.strictObject({
  name: z.string({ error: 'name must be a text' }).optional(),
  public: z.boolean({ error: 'public is true or false' }).optional(),
  sensors: z.array(z.string(), { error: 'sensors must be a list of names' }).optional(),
}) satisfies z.ZodType<DatasetUpdate>;

/** Datapoints read per catalog query by the leakage check. */
const CHECK_PAGE = 5000;

export class DirectBackend implements VedaBackend {
  constructor(readonly options: VedaOptions) {}

  /**
   * Connects as configured: TEMPORAL_ADDRESS, else the server of a running `veda dev`; DATABASE_URL, else the
   * embedded catalog under VEDA_DATA_DIR. `close()` closes what it opened.
   */
  static async connect(config: VedaConfig): Promise<DirectBackend> {
    const [{ openServices }, { readDevState }, { lazyClient }] = await Promise.all([
      import('../runtime/services.js'), import('../runtime/dev-state.js'), import('../temporal/connection.js'),
    ]);
    // The catalog first: while `veda dev` starts, opening it waits until dev.json below names its server.
    const services = await openServices(config);
    let { address, namespace, uiUrl } = config.temporal;
    if (!address) {
      const dev = await readDevState(config.dataDir);
      if (dev) {
        ({ temporalAddress: address, namespace } = dev);
        uiUrl ??= dev.uiUrl;
      }
    }
    const client = address ? lazyClient({ ...config.temporal, address, namespace }) : null;
    const backend = new DirectBackend({
      client, namespace, taskQueue: config.temporal.taskQueue, uiUrl, services, user: config.user, parallelism: config.worker.chunkParallelism,
    });
    backend.closeOwned = async () => {
      await services.close();
      await client?.connection.close();
    };
    return backend;
  }

  private closeOwned: (() => Promise<void>) | null = null;

  get user(): string {
    return this.options.user;
  }
  get services(): Services {
    return this.options.services;
  }
  private get catalog() {
    return this.options.services.catalog;
  }
  /** The Temporal client; throws SetupError (saying how to get a server) when none is configured. */
  get temporal(): Client {
    if (!this.options.client) {
      throw new SetupError('No Temporal server configured: set TEMPORAL_ADDRESS (and TEMPORAL_NAMESPACE), or run `veda dev` in another terminal.');
    }
    return this.options.client;
  }

  /** The same connections, acting as another user (and serving documents from `apiUrl` when given). */
  acting(user: string, apiUrl = this.options.apiUrl): DirectBackend {
    return new DirectBackend({ ...this.options, user, apiUrl });
  }

  docContext(datasetId: string): DocContext {
    const { uiUrl, namespace, apiUrl } = this.options;
    return { workflowsUrl: uiUrl ? datasetWorkflowsUrl(uiUrl, namespace, datasetId) : undefined, apiUrl };
  }

  // ---- datasets ---------------------------------------------------------------------------------------------

  async create(options: NewCollection): Promise<DatasetRecord> {
    const input = parseOptions(newCollectionSchema, options, 'create', 'dataset');
    let classes = input.classes;
    if (classes === undefined) {
      if (input.mlType !== 'classification') throw new InvalidInputError(`a ${input.mlType} dataset needs its classes (class names in label order)`);
      classes = BINARY_CLASSES;
    }
    return this.catalog.createDataset({ ...input, classes: [...classes], userId: this.user });
  }

  /** The record if this user may see it: another user's private dataset is not found. Every read checks again. */
  async dataset(id: string): Promise<DatasetRecord> {
    const record = await this.catalog.getDataset(id);
    if (!record || (!record.public && record.userId !== this.user)) throw new NotFoundError(`dataset ${id} not found`);
    return record;
  }

  /** The record if this user owns it (NotFoundError when it is invisible, ForbiddenError when it is someone else's). */
  async ownedDataset(id: string, action: string): Promise<DatasetRecord> {
    const record = await this.dataset(id);
    this.requireOwner(record, action);
    return record;
  }

  async search(query: DatasetQuery = {}): Promise<DatasetRecord[]> {
    return this.catalog.searchDatasets({ ...query, viewer: this.user });
  }

  async doc(id: string): Promise<DatasetDoc> {
    const record = await this.dataset(id);
    return datasetDoc(record, await this.catalog.counts(id), this.docContext(id));
  }

  /** The documents of the datasets a search finds. */
  async docs(query: DatasetQuery = {}): Promise<DatasetDoc[]> {
    const records = await this.search(query);
    return Promise.all(records.map(async (r) => datasetDoc(r, await this.catalog.counts(r.id), this.docContext(r.id))));
  }

  async counts(id: string): Promise<DatasetCounts> {
    await this.dataset(id); // reads check access each time: the dataset may have been unpublished since
    return this.catalog.counts(id);
  }

  async update(id: string, changes: DatasetUpdate): Promise<DatasetDoc> {
    const patch = parseOptions(datasetUpdateSchema, changes, 'update');
    const action = patch.public === true ? 'publish' : patch.public === false ? 'unpublish' : 'update';
    await this.ownedDataset(id, action);
    const record = await this.catalog.updateDataset(id, patch);
    return datasetDoc(record, await this.catalog.counts(id), this.docContext(id));
  }

  /** Deletes the dataset, its datapoints and its cached chips. */
  async delete(id: string): Promise<void> {
    await this.ownedDataset(id, 'delete');
    await this.catalog.deleteDataset(id);
    await this.services.chips.deletePrefix(`datasets/${id}/`);
  }

  async manifest(id: string): Promise<DatasetManifest> {
    const record = await this.dataset(id);
    return { datasetId: id, ...batchManifest(record.sources), ingests: record.ingests };
  }

  async check(id: string): Promise<LeakageReport & { datasetId: string }> {
    const record = await this.dataset(id);
    const points: Datapoint[] = [];
    for (let after: string | null = null; ; ) {
      const page = await this.catalog.pageDatapoints(id, { after, limit: CHECK_PAGE });
      points.push(...page.points);
      if (page.points.length < CHECK_PAGE || !page.last) break;
      after = page.last;
    }
    return { datasetId: id, ...checkLeakage(points, record.mlType, record.classes) };
  }

  // ---- datapoints -------------------------------------------------------------------------------------------

  /**
   * Posts explicit (window, label) pairs into a group; returns how many were new. Idempotent. Every pair is checked
   * before any is posted: its label against the ML type and classes, its image exists, its window is the tile size
   * and lies inside the image, and the image's bands match the dataset's chips.
   */
  async feed(id: string, pairs: FeedItem[], options: FeedOptions = {}): Promise<number> {
    const record = await this.ownedDataset(id, 'feed');
    const { group, source: defaultSource } = parseFeedOptions(options);
    if (!Array.isArray(pairs)) throw new InvalidInputError('feed takes a list of pairs: [window, label] or { source, window, label }');
    const fed = pairs.map((item, i) => {
      const where = `pair ${i}`;
      const pair = parseFedPair(item, record.tileSize, where);
      const source = pair.source ?? defaultSource;
      if (!source) throw new InvalidInputError(`${where}: no image: give the pair a source, feed a window from image.windows(), or pass { source }`);
      const label = normalizeFedLabel(record.mlType, record.classes.length, record.tileSize, pair.label, where);
      return { where, window: pair.window, source: absoluteUri(source), label };
    });
    const images = await imagesOf(fed);
    const [checks, { bandsForSource }] = await Promise.all([import('../domain/imagery/window-checks.js'), import('../domain/catalog/dataset-ingests.js')]);
    for (const { where, window, source } of fed) {
      try {
        checks.assertWindowInImage(images.get(source)!, window);
        checkBands(record, images.get(source)!, checks.resolveBands(images.get(source)!, bandsForSource(record, source)));
      } catch (err) {
        if (err instanceof InvalidInputError) throw new InvalidInputError(`${where}: ${err.message}`);
        throw err;
      }
    }
    const points = fed.map(({ window, source, label }): Datapoint => ({
      id: datapointId(id, source, window, group), datasetId: id, group, source, window, label, chipKey: null,
    }));
    await this.catalog.addSources(id, [...new Set(points.map((p) => p.source))]);
    return this.catalog.insertDatapoints(points);
  }

  /**
   * Deletes datapoints by id, with their cached chips; returns how many were deleted (unknown ids are ignored).
   * A chip a running cache workflow stores for a deleted datapoint afterwards stays unreferenced until the dataset goes.
   */
  async remove(id: string, datapointIds: string[]): Promise<number> {
    await this.ownedDataset(id, 'remove datapoints from');
    if (!Array.isArray(datapointIds) || datapointIds.some((d) => typeof d !== 'string' || !d)) throw new InvalidInputError('remove takes datapoint ids (strings)');
    const removed = await this.catalog.deleteDatapoints(id, datapointIds);
    for (const point of removed) if (point.chipKey) await this.services.chips.deletePrefix(point.chipKey);
    return removed.length;
  }

  async slice(id: string, start: number, end: number, group?: string): Promise<Datapoint[]> {
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start) {
      throw new InvalidInputError(`slice(${start}, ${end}): start and end are integers with 0 <= start <= end`);
    }
    await this.dataset(id);
    return this.catalog.listDatapoints(id, { offset: start, limit: end - start, group });
  }

  /** One datapoint of a dataset this user may see; NotFoundError otherwise. */
  async datapoint(id: string, datapointId: string): Promise<Datapoint> {
    await this.dataset(id);
    const point = await this.catalog.getDatapoint(id, datapointId);
    if (!point) throw new NotFoundError(`dataset ${id} has no datapoint ${datapointId}`);
    return point;
  }

  async chip(id: string, point: Datapoint): Promise<Raster> {
    if (point.chipKey) return this.services.chips.get(point.chipKey);
    const record = await this.dataset(id);
    const [{ openImage }, { bandsForSource }] = await Promise.all([import('../domain/imagery/index.js'), import('../domain/catalog/dataset-ingests.js')]);
    const source = await openImage(point.source);
    try {
      return await source.readWindow(point.window, bandsForSource(record, point.source));
    } finally {
      await source.close();
    }
  }

  /** The chip at index i (posting order) as a PNG with its label drawn over it, so a user can check the alignment. */
  async preview(id: string, index: number, options: PreviewOptions & { group?: string } = {}): Promise<ChipPreview> {
    const record = await this.dataset(id);
    const { group, ...render } = options;
    const [point] = await this.slice(id, index, index + 1, group);
    if (!point) {
      const { total, groups } = await this.catalog.counts(id);
      const size = group ? (groups[group] ?? 0) : total;
      throw new NotFoundError(`dataset ${id} has no datapoint at index ${index}${group ? ` of group ${group}` : ''} (it has ${size})`);
    }
    const { encodePng, renderPreview } = await import('../domain/preview/index.js');
    const chip = await this.chip(id, point);
    const choice = render.bands ? { bands: render.bands, reason: 'as asked' } : await previewBands(record, point.source, chip.bands);
    const { rgba, ...rendered } = renderPreview(chip, point.label, record.mlType, record.classes, { ...render, bands: choice.bands });
    return { ...rendered, png: await encodePng({ ...rendered, rgba }), datapoint: point, bandsReason: choice.reason };
  }

  // ---- workflows --------------------------------------------------------------------------------------------

  /**
   * Starts an ingest workflow (plan windows, encode labels, post datapoints, cache chips). The run carries the
   * seed the plan used: the one given, or the one drawn for it.
   */
  async ingest(id: string, options: IngestOptions): Promise<WorkflowRun & { seed: number }> {
    const record = await this.ownedDataset(id, 'ingest into');
    const spec = ingestSpec(record, options);
    const run = await this.startWorkflow('ingest', record, { spec, cache: options.cache }, describeIngest(spec.plan, spec.scenes ? `${spec.scenes.length} scenes` : spec.image));
    return Object.assign(run, { seed: spec.split!.seed });
  }

  /** Starts a cache workflow for datapoints not cached yet (after `feed`, or to finish an interrupted cache). */
  async cache(id: string): Promise<WorkflowRun> {
    const record = await this.ownedDataset(id, 'cache');
    return this.startWorkflow('cache', record, { datasetId: id }, `cache the chips of dataset ${id}`);
  }

  /**
   * Starts a batch workflow (cache what is missing, then write the HDF5 file). The owner, or anyone for a public
   * dataset that is fully cached (caching writes to the dataset).
   */
  async startBatch(id: string, options: BatchOptions = {}): Promise<WorkflowRun> {
    const input = batchWorkflowInput(id, options);
    const record = await this.dataset(id); // it may have been unpublished or deleted since a handle was opened
    if (record.userId !== this.user) {
      const { cached, total } = await this.catalog.counts(id);
      if (cached < total) {
        throw new ForbiddenError(
          `${this.user} may not build a batch of dataset ${id} yet: ${total - cached} of its ${total} datapoints ` +
            `are not cached, and only its owner ${record.userId} may cache them`,
        );
      }
    }
    return this.startWorkflow('batch', record, input, `batch of ${input.size ?? 'all'} samples`);
  }

  async batches(id: string): Promise<BatchFile[]> {
    await this.dataset(id);
    const objects = await this.services.batches.list(`${id}/`);
    return objects.map((o) => ({ name: o.key.slice(id.length + 1), key: o.key, size: o.size, modified: o.modified.toISOString() }));
  }

  /** A stored batch file of a dataset this user may see (`latest.h5`, `<run>.h5`); NotFoundError otherwise. */
  async batchFile(id: string, name: string): Promise<BatchFile> {
    await this.dataset(id);
    // One file directly in the dataset's folder (scheduled runs' names hold the time, colons included).
    if (!name.endsWith('.h5') || name.startsWith('.') || /[/\\\u0000-\u001f]/.test(name)) throw new NotFoundError(`dataset ${id} has no batch file ${name}`);
    const o = await this.services.batches.stat(`${id}/${name}`).catch((err: unknown) => {
      if (err instanceof NotFoundError) throw new NotFoundError(`dataset ${id} has no batch file ${name}`);
      throw err;
    });
    return { name, key: o.key, size: o.size, modified: o.modified.toISOString() };
  }

  fetchBatch(final: Progress, out?: string): Promise<string> {
    return fetchBatchFile(this.services, final, out);
  }

  batchLocation(final: Progress): { path: string | null; uri: string } {
    return { path: final.outputKey ? (this.services.batches.localPath(final.outputKey) ?? null) : null, uri: final.output ?? '' };
  }

  schedules(dataset: DatasetInfo): DatasetSchedules {
    this.requireOwner(dataset, 'schedule batches of');
    return new BatchSchedules(this.temporal, this.options.taskQueue, dataset, {
      chunkSize: this.options.chunkSize,
      parallelism: this.options.parallelism,
    });
  }

  async cancelRuns(id: string): Promise<string[]> {
    await this.ownedDataset(id, 'cancel the workflows of');
    const runs = await this.runningRuns(id);
    await Promise.all(runs.map((run) => run.cancel()));
    await Promise.all(runs.map((run) => run.ended()));
    return runs.map((run) => run.workflowId);
  }

  /** A handle on a veda workflow by id. */
  run(workflowId: string): TemporalRun {
    const ui = this.options.uiUrl ? { url: this.options.uiUrl, namespace: this.options.namespace } : undefined;
    return new TemporalRun(this.temporal, workflowId, ui);
  }

  /**
   * A run of a dataset this user may see: NotFoundError unless the workflow is one of the dataset's (its
   * `VedaDatasetId` search attribute says so). With `write`, only the dataset's owner or whoever started the run.
   */
  async datasetRun(id: string, workflowId: string, options: { write?: string } = {}): Promise<TemporalRun> {
    const record = await this.dataset(id);
    const run = this.run(workflowId);
    const described = await this.temporal.workflow.getHandle(workflowId).describe().catch((err: unknown) => {
      if (err instanceof clientSdk().WorkflowNotFoundError) return null;
      throw err;
    });
    const datasetOfRun = described?.typedSearchAttributes.get(DATASET_ID);
    if (!described || datasetOfRun !== id) throw new NotFoundError(`dataset ${id} has no workflow run ${workflowId}`);
    if (options.write && record.userId !== this.user && described.memo?.user !== this.user) {
      throw new ForbiddenError(`${this.user} may not ${options.write} workflow ${workflowId} of dataset ${id}: it belongs to ${record.userId}`);
    }
    return run;
  }

  /** The dataset's workflows that are running now, found through its search attribute. */
  async runningRuns(datasetId: string): Promise<TemporalRun[]> {
    const runs: TemporalRun[] = [];
    const query = `${DATASET_ID.name} = "${datasetId}" AND ExecutionStatus = "Running"`;
    for await (const info of this.temporal.workflow.list({ query })) runs.push(this.run(info.workflowId));
    return runs;
  }

  /** The dataset's most recent workflow run (any kind), found through its search attribute. */
  async latestRun(datasetId: string): Promise<TemporalRun | null> {
    await this.dataset(datasetId); // another user's private dataset has no runs to show
    // Not every visibility store sorts (the dev server's SQLite does not): pick the newest here.
    let latest: { workflowId: string; startTime: Date } | null = null;
    for await (const info of this.temporal.workflow.list({ query: `${DATASET_ID.name} = "${datasetId}"` })) {
      if (!latest || info.startTime > latest.startTime) latest = info;
    }
    return latest ? this.run(latest.workflowId) : null;
  }

  /** Starts a workflow with a readable id (veda-<dataset>-<kind>-<n>) and the dataset's search attributes. */
  private async startWorkflow<K extends WorkflowName>(kind: K, record: DatasetRecord, input: WorkflowInput<K>, summary: string): Promise<TemporalRun> {
    const n = await this.catalog.nextRunNumber(record.id, kind);
    const workflowId = `veda-${record.id}-${kind}-${n}`;
    // Typed by kind above (WorkflowInput<K>); Temporal's own typing of args cannot see through a generic K.
    const args: [WorkflowInput<K>] = [{ chunkSize: this.options.chunkSize, parallelism: this.options.parallelism, ...input }];
    await this.temporal.workflow
      .start(WORKFLOW_TYPES[kind], {
        taskQueue: this.options.taskQueue,
        workflowId,
        args,
        typedSearchAttributes: [
          { key: DATASET_ID, value: record.id },
          { key: ML_TYPE, value: record.mlType },
          { key: STAGE, value: 'starting' },
        ],
        staticSummary: `${summary} (dataset ${record.name} ${record.id}, ${record.mlType})`,
        staticDetails: ['Started by `' + this.user + '` with:', '```json', JSON.stringify(input, null, 2), '```'].join('\n'),
        memo: { datasetId: record.id, datasetName: record.name, user: this.user },
      })
      .catch((err: unknown) => {
        throw this.startError(workflowId, err);
      });
    return this.run(workflowId);
  }

  /** A failed start with its cause; a namespace without veda's search attributes says how to register them. */
  private startError(workflowId: string, err: unknown): unknown {
    const message = messageWithCauses(err);
    if (!VEDA_SEARCH_ATTRIBUTES.some((k) => message.includes(k.name))) return err;
    return new SetupError(
      `cannot start workflow ${workflowId}: ${message}. A veda worker registers the search attributes when it starts; ` +
        `or register them once with: ${registerCommands(this.options.namespace)}`,
      { cause: err },
    );
  }

  private requireOwner(dataset: DatasetInfo, action: string): void {
    if (dataset.userId !== this.user) {
      throw new ForbiddenError(`${this.user} may not ${action} dataset ${dataset.id}: it belongs to ${dataset.userId}`);
    }
  }

  async close(): Promise<void> {
    await this.closeOwned?.();
  }
}

/** Each fed image's header, read once; a missing or unreadable image names the first pair that uses it. */
async function imagesOf(fed: Array<{ where: string; source: string }>): Promise<Map<string, ImageInfo>> {
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
function checkBands(record: DatasetRecord, info: ImageInfo, bands: number[]): void {
  const { shape, dtype } = record;
  if (shape && (bands.length !== shape[0] || info.dtype !== dtype)) {
    throw new InvalidInputError(`${info.uri}: ${bands.length} band(s) of ${info.dtype}, but the dataset's chips are ${shape[0]} band(s) of ${dtype}`);
  }
}

/** Natural colour when the image (band colour interpretation or descriptions) or the dataset's sensor says how. */
async function previewBands(record: DatasetRecord, source: string, chipBandCount: number): Promise<BandChoice> {
  const [{ naturalColourBands }, { readBandLabels }, { bandsForSource }] = await Promise.all([
    import('../domain/preview/natural-colour.js'), import('../domain/imagery/band-labels.js'), import('../domain/catalog/dataset-ingests.js'),
  ]);
  const sourceBands = bandsForSource(record, source) ?? Array.from({ length: chipBandCount }, (_, i) => i + 1);
  // A chip cached from an image that is gone still previews, with what the sensor says.
  const labels = await readBandLabels(source).catch(() => []);
  return naturalColourBands(labels, sourceBands, record.sensors);
}

function describeIngest(plan: { strategy: string; count?: number }, image: string): string {
  const count = plan.count ? `${plan.count} ` : '';
  return `ingest ${count}${plan.strategy} windows of ${image.split('/').pop()}`;
}
