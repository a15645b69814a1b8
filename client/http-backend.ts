/**
 * The client API over a veda HTTP service (`veda serve`): every call is one or a few requests; the service decides
 * who is acting (from the API token) and does the work with its own catalog, stores and Temporal connection, so a
 * user needs neither. Local paths a user names (images, labels, regions) are made absolute here, as in direct
 * mode, and must be readable by the service's workers.
 */
import os from 'node:os';
import path from 'node:path';
import type { DatasetDoc } from '../domain/catalog/dataset-doc.js';
import type { Datapoint, DatasetCounts } from '../domain/catalog/types.js';
import { InvalidInputError } from '../domain/errors.js';
import { allocateSamples, bytesOf } from '../domain/imagery/dtypes.js';
import type { PreviewOptions } from '../domain/preview/index.js';
import type { LeakageReport } from '../domain/splits/leakage.js';
import type { Dtype, Raster } from '../domain/types.js';
import type { Progress } from '../workflows/progress.js';
import type { BatchFile, DatasetManifest, DatasetQuery, DatasetSchedules, DatasetUpdate, NewCollection, VedaBackend, DatasetInfo } from './backend.js';
import type { BatchOptions } from './batch-options.js';
import type { ChipPreview, FeedItem } from './collection.js';
import type { FeedOptions } from './fed-pairs.js';
import { ApiClient } from './http-api.js';
import { HttpRun, type RunInfo } from './http-run.js';
import { absoluteUri, type IngestOptions } from './ingest-options.js';
import { checkScheduleName, scheduleId } from './schedule-ids.js';
import type { ScheduleCreateOptions, ScheduleSummary } from './schedules.js';

export interface HttpBackendOptions {
  url: string;
  token: string;
  /** Where batch files go when no `out` is given. */
  downloadDir?: string;
}

const segment = encodeURIComponent;

export class HttpBackend implements VedaBackend {
  private constructor(
    readonly api: ApiClient,
    readonly user: string,
    private readonly downloadDir: string,
  ) {}

  /** Connects and asks the service who the token belongs to (UnauthorizedError for a bad token). */
  static async connect(options: HttpBackendOptions): Promise<HttpBackend> {
    const api = new ApiClient(options.url, options.token);
    const { user } = await api.json<{ user: string }>('GET', '/me');
    return new HttpBackend(api, user, options.downloadDir ?? path.join(os.tmpdir(), 'veda-downloads'));
  }

  private datasetRoute(id: string): string {
    return `/datasets/${segment(id)}`;
  }

  create(input: NewCollection): Promise<DatasetDoc> {
    return this.api.json('POST', '/datasets', { body: input });
  }
  dataset(id: string): Promise<DatasetDoc> {
    return this.doc(id);
  }
  search(query: DatasetQuery): Promise<DatasetDoc[]> {
    const { name, mlType, bbox, userId, public: isPublic } = query;
    return this.api.json('GET', '/datasets', { query: { name, mlType, bbox: bbox?.join(','), owner: userId, public: isPublic } });
  }
  doc(id: string): Promise<DatasetDoc> {
    return this.api.json('GET', this.datasetRoute(id));
  }
  counts(id: string): Promise<DatasetCounts> {
    return this.api.json('GET', `${this.datasetRoute(id)}/count`);
  }
  update(id: string, patch: DatasetUpdate): Promise<DatasetDoc> {
    return this.api.json('PUT', this.datasetRoute(id), { body: patch });
  }
  async delete(id: string): Promise<void> {
    await this.api.json('DELETE', this.datasetRoute(id));
  }
  manifest(id: string): Promise<DatasetManifest> {
    return this.api.json('GET', `${this.datasetRoute(id)}/manifest`);
  }
  check(id: string): Promise<LeakageReport & { datasetId: string }> {
    return this.api.json('GET', `${this.datasetRoute(id)}/check`);
  }

  async feed(id: string, pairs: FeedItem[], options: FeedOptions): Promise<number> {
    const body = { ...options, ...(options.source ? { source: absoluteUri(options.source) } : {}), pairs: Array.isArray(pairs) ? pairs.map(withAbsoluteSources) : pairs };
    return (await this.api.json<{ added: number }>('POST', `${this.datasetRoute(id)}/datapoints`, { body })).added;
  }
  async remove(id: string, datapointIds: string[]): Promise<number> {
    return (await this.api.json<{ removed: number }>('POST', `${this.datasetRoute(id)}/datapoints/remove`, { body: { ids: datapointIds } })).removed;
  }
  async slice(id: string, start: number, end: number, group?: string): Promise<Datapoint[]> {
    const rows = await this.api.json<Array<Datapoint & { y?: unknown }>>('GET', `${this.datasetRoute(id)}/datapoints`, { query: { start, end, group } });
    return rows.map(({ y: _served, ...point }) => point); // the collection serves labels itself, as typed arrays
  }

  async chip(id: string, point: Datapoint): Promise<Raster> {
    const response = await this.api.request('GET', `${this.datasetRoute(id)}/datapoints/${segment(point.id)}/chip`);
    const dtype = response.headers.get('x-veda-dtype') as Dtype;
    const [bands, height, width] = (response.headers.get('x-veda-shape') ?? '').split(',').map(Number) as [number, number, number];
    const bytes = new Uint8Array(await response.arrayBuffer());
    const data = allocateSamples(dtype, bands * height * width);
    if (bytes.length !== data.byteLength) throw new InvalidInputError(`chip of datapoint ${point.id}: ${bytes.length} bytes for ${dtype} ${bands}x${height}x${width}`);
    bytesOf(data).set(bytes);
    return { dtype, bands, height, width, data };
  }

  async preview(id: string, index: number, options: PreviewOptions & { group?: string }): Promise<ChipPreview> {
    const { bands, scale, group, percentiles } = options;
    const query = { bands: bands?.join(','), scale, group, percentiles: percentiles?.join(',') };
    const response = await this.api.request('GET', `${this.datasetRoute(id)}/previews/${index}`, { query });
    const about = JSON.parse(response.headers.get('x-veda-preview') ?? '{}') as Omit<ChipPreview, 'png'>;
    const png = Buffer.from(await response.arrayBuffer());
    // The header leaves the label out (a mask can be large); the datapoint has it.
    const datapoint = await this.api.json<Datapoint>('GET', `${this.datasetRoute(id)}/datapoints/${segment(about.datapoint.id)}`);
    const { y: _served, ...point } = datapoint as Datapoint & { y?: unknown };
    return { ...about, datapoint: point, png };
  }

  async ingest(id: string, options: IngestOptions): Promise<HttpRun & { seed: number }> {
    const { image, labels, aoi } = options;
    const body = {
      ...options,
      image: Array.isArray(image) ? image.map(absoluteIfString) : absoluteIfString(image),
      labels: absoluteIfString(labels),
      ...(aoi !== undefined ? { aoi: absoluteIfString(aoi) } : {}),
    };
    const info = await this.api.json<RunInfo>('POST', `${this.datasetRoute(id)}/ingests`, { body });
    return Object.assign(this.runOf(info), { seed: info.seed! });
  }
  async cache(id: string): Promise<HttpRun> {
    return this.runOf(await this.api.json<RunInfo>('POST', `${this.datasetRoute(id)}/cache`));
  }
  async startBatch(id: string, options: BatchOptions): Promise<HttpRun> {
    return this.runOf(await this.api.json<RunInfo>('POST', `${this.datasetRoute(id)}/batches`, { body: options }));
  }
  batches(id: string): Promise<BatchFile[]> {
    return this.api.json('GET', `${this.datasetRoute(id)}/batches`);
  }

  async fetchBatch(final: Progress, out?: string): Promise<string> {
    const { route, key } = this.batchRoute(final);
    return this.api.download(route, out ?? path.join(this.downloadDir, ...key.split('/')));
  }
  batchLocation(final: Progress): { path: string | null; uri: string } {
    return { path: null, uri: this.api.href(this.batchRoute(final).route) };
  }
  private batchRoute(final: Progress): { route: string; key: string } {
    const key = final.outputKey;
    if (!key) throw new InvalidInputError(`batch workflow of dataset ${final.datasetId} finished without a stored file`);
    return { route: `${this.datasetRoute(final.datasetId)}/batches/${segment(key.slice(key.indexOf('/') + 1))}`, key };
  }

  schedules(dataset: DatasetInfo): DatasetSchedules {
    return new HttpSchedules(this.api, dataset.id);
  }

  async cancelRuns(id: string): Promise<string[]> {
    return (await this.api.json<{ cancelled: string[] }>('POST', `${this.datasetRoute(id)}/runs/cancel`)).cancelled;
  }
  async latestRun(id: string): Promise<HttpRun | null> {
    const { run } = await this.api.json<{ run: RunInfo | null }>('GET', `${this.datasetRoute(id)}/runs/latest`);
    return run ? this.runOf(run) : null;
  }
  run(workflowId: string): HttpRun {
    const datasetId = /^veda-([0-9a-z]+)-/.exec(workflowId)?.[1];
    if (!datasetId) throw new InvalidInputError(`${workflowId} is not the id of a veda workflow (veda-<dataset>-<kind>-<n>)`);
    return new HttpRun(this.api, datasetId, workflowId);
  }
  private runOf(info: RunInfo): HttpRun {
    return new HttpRun(this.api, info.datasetId, info.workflowId, info.uiUrl);
  }

  async close(): Promise<void> {
    // Nothing is held open: each request is its own.
  }
}

class HttpSchedules implements DatasetSchedules {
  constructor(
    private readonly api: ApiClient,
    private readonly datasetId: string,
  ) {}

  private route(name?: string): string {
    return `/datasets/${segment(this.datasetId)}/schedules${name === undefined ? '' : `/${segment(checkScheduleName(name))}`}`;
  }
  id(name = 'default'): string {
    return scheduleId(this.datasetId, checkScheduleName(name));
  }
  create(options: ScheduleCreateOptions): Promise<ScheduleSummary> {
    return this.api.json('POST', this.route(), { body: options });
  }
  list(): Promise<ScheduleSummary[]> {
    return this.api.json('GET', this.route());
  }
  describe(name = 'default'): Promise<ScheduleSummary> {
    return this.api.json('GET', this.route(name));
  }
  async trigger(name = 'default'): Promise<void> {
    await this.api.json('POST', `${this.route(name)}/trigger`);
  }
  async pause(name = 'default', note?: string): Promise<void> {
    await this.api.json('POST', `${this.route(name)}/pause`, { body: note === undefined ? {} : { note } });
  }
  async unpause(name = 'default', note?: string): Promise<void> {
    await this.api.json('POST', `${this.route(name)}/unpause`, { body: note === undefined ? {} : { note } });
  }
  async delete(name = 'default'): Promise<void> {
    await this.api.json('DELETE', this.route(name));
  }
}

function absoluteIfString<T>(value: T): T {
  return (typeof value === 'string' ? absoluteUri(value) : value) as T;
}

/** A fed pair with the images it names made absolute (the service resolves nothing against its own directory). */
function withAbsoluteSources(item: FeedItem): FeedItem {
  const absoluteWindow = (w: unknown) =>
    w && typeof w === 'object' && !Array.isArray(w) && typeof (w as { source?: unknown }).source === 'string'
      ? { ...(w as object), source: absoluteUri((w as { source: string }).source) }
      : w;
  if (Array.isArray(item)) return (item.length === 2 ? [absoluteWindow(item[0]), item[1]] : item) as FeedItem;
  if (item && typeof item === 'object' && 'window' in item) {
    return { ...item, source: absoluteIfString(item.source), window: absoluteWindow(item.window) } as FeedItem;
  }
  return item;
}
