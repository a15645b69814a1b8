import type { Catalog, DatasetRecord } from '../domain/catalog/types.js';
import { NotFoundError } from '../domain/errors.js';
import { openImage, type ImageSource } from '../domain/imagery/index.js';
import { loadLabelSource, type LabelSource } from '../domain/labels/index.js';

/**
 * Per-worker caches of things that are expensive to open and safe to share between activities: GeoTIFF readers
 * (headers, tile cache) and parsed, indexed label sources. Bounded, so a long-lived worker does not grow forever.
 */
export class BoundedCache<V> {
  private readonly entries = new Map<string, Promise<V>>();

  constructor(
    private readonly capacity: number,
    private readonly dispose: (value: V) => Promise<void> | void = () => {},
  ) {}

  /** The cached value for key, opening it once even when several activities ask at the same time. */
  get(key: string, open: () => Promise<V>): Promise<V> {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit); // most recently used last
      return hit;
    }
    const opened = open();
    this.entries.set(key, opened);
    opened.catch(() => this.entries.delete(key)); // a failed open is not cached
    while (this.entries.size > this.capacity) {
      const [oldest, value] = this.entries.entries().next().value as [string, Promise<V>];
      this.entries.delete(oldest);
      void value.then(this.dispose, () => {});
    }
    return opened;
  }

  async clear(): Promise<void> {
    const values = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(values.map((v) => v.then(this.dispose, () => {})));
  }
}

/** What activities open through the worker's caches. */
export class ActivityResources {
  // Each open image keeps up to 128 MiB of decoded blocks: a few open images serve a worker well.
  private readonly images = new BoundedCache<ImageSource>(4, (image) => image.close());
  private readonly labelSources = new BoundedCache<LabelSource>(8);

  constructor(private readonly catalog: Catalog) {}

  /** The dataset, read fresh (it is one small row, and other activities update it). */
  async dataset(id: string): Promise<DatasetRecord> {
    const dataset = await this.catalog.getDataset(id);
    if (!dataset) throw new NotFoundError(`dataset ${id} does not exist`);
    return dataset;
  }

  image(uri: string): Promise<ImageSource> {
    return this.images.get(uri, () => openImage(uri));
  }

  labels(uri: string, classProperty: string, classes: string[], imageEpsg: number | null): Promise<LabelSource> {
    const key = JSON.stringify([uri, classProperty, classes, imageEpsg]);
    return this.labelSources.get(key, () => loadLabelSource(uri, { classProperty, classes, imageEpsg }));
  }

  async close(): Promise<void> {
    await Promise.all([this.images.clear(), this.labelSources.clear()]);
  }
}
