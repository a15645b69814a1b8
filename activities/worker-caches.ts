/**
 * What activities share within a worker: open images (for their headers and plans) and whole label files, in
 * bounded caches, and the compute threads the chunks' pixel work runs on.
 */
import { BoundedCache } from '../compute/bounded-cache.js';
import type { Catalog, DatasetRecord } from '../domain/catalog/types.js';
import { NotFoundError } from '../domain/errors.js';
import { openImage, type ImageSource } from '../domain/imagery/index.js';
import { loadLabelSource, type LabelSource } from '../domain/labels/index.js';
import type { ComputePool } from '../compute/pool.js';
import { labelFileKey, labelFileOptions, type LabelFileSpec } from '../compute/tasks.js';

/** Activities open images for their headers and plans; their windows are read on the compute threads. */
const HEADER_BLOCK_CACHE_BYTES = 16 * 2 ** 20;

/** The images one activity uses, leased from the worker's cache and released together when it ends. */
export class ImageLeases {
  private readonly leased = new Map<string, { value: Promise<ImageSource>; release(): void }>();

  constructor(private readonly cache: BoundedCache<ImageSource>) {}

  get(uri: string): Promise<ImageSource> {
    let lease = this.leased.get(uri);
    if (!lease) {
      lease = this.cache.acquire(uri, () => openImage(uri, { blockCacheBytes: HEADER_BLOCK_CACHE_BYTES }));
      this.leased.set(uri, lease);
    }
    return lease.value;
  }

  release(): void {
    for (const lease of this.leased.values()) lease.release();
    this.leased.clear();
  }
}

/** What activities open through the worker's caches. */
export class ActivityResources {
  private readonly images = new BoundedCache<ImageSource>(4, (image) => image.close());
  private readonly labelSources = new BoundedCache<LabelSource>(8);

  /** `compute` runs the chunks' pixel work (reads, label encoding) on the worker's threads. */
  constructor(
    private readonly catalog: Catalog,
    readonly compute: ComputePool,
  ) {}

  /** The dataset, read fresh (it is one small row, and other activities update it). */
  async dataset(id: string): Promise<DatasetRecord> {
    const dataset = await this.catalog.getDataset(id);
    if (!dataset) throw new NotFoundError(`dataset ${id} does not exist`);
    return dataset;
  }

  /** Runs one activity's work with images leased from the worker's cache, released when it ends. */
  async withImages<T>(work: (images: ImageLeases) => Promise<T>): Promise<T> {
    const images = new ImageLeases(this.images);
    try {
      return await work(images);
    } finally {
      images.release();
    }
  }

  /** Every feature of a label file, read whole and indexed (once per worker: the chunks read theirs on compute threads). */
  labels(spec: LabelFileSpec, classes: string[], imageEpsg: number | null): Promise<LabelSource> {
    // Label sources hold no handles: release at once, the cache keeps them for the next activity.
    const lease = this.labelSources.acquire(labelFileKey(spec, classes, imageEpsg), () =>
      loadLabelSource(spec.uri, labelFileOptions(spec, classes, imageEpsg)),
    );
    lease.release();
    return lease.value;
  }

  async close(): Promise<void> {
    await Promise.all([this.images.clear(), this.labelSources.clear(), this.compute.close()]);
  }
}
