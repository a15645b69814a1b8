import { LRUCache } from 'lru-cache';
import type { Catalog, DatasetRecord } from '../domain/catalog/types.js';
import { NotFoundError } from '../domain/errors.js';
import { openImage, type ImageSource } from '../domain/imagery/index.js';
import { loadLabelSource, openLabelWindows, type LabelSource, type LabelSourceOptions, type LabelWindows } from '../domain/labels/index.js';

/**
 * Per-worker caches of things that are expensive to open and safe to share between activities: GeoTIFF readers
 * (headers, block cache) and parsed, indexed label sources. Bounded (least recently used out, by lru-cache), so a
 * long-lived worker does not grow forever; values are leased, so an entry evicted while an activity still reads
 * it is disposed only when released.
 */
export class BoundedCache<V> {
  private readonly entries: LRUCache<string, LeasedEntry<V>>;

  constructor(
    capacity: number,
    private readonly dispose: (value: V) => Promise<void> | void = () => {},
  ) {
    this.entries = new LRUCache<string, LeasedEntry<V>>({
      max: capacity,
      // Evicted (or deleted after a failed open): disposed now if idle, else by its last release.
      dispose: (entry) => {
        entry.evicted = true;
        if (entry.users === 0) void this.disposeEntry(entry);
      },
    });
  }

  /** Leases the value for key, opening it once even when several activities ask at the same time. */
  acquire(key: string, open: () => Promise<V>): { value: Promise<V>; release(): void } {
    let entry = this.entries.get(key);
    if (!entry) {
      const opened: LeasedEntry<V> = { value: open(), users: 0, evicted: false, disposed: false };
      opened.value.catch(() => {
        if (this.entries.peek(key) === opened) this.entries.delete(key); // a failed open is not cached
      });
      entry = opened;
    }
    entry.users++;
    this.entries.set(key, entry); // after the lease is counted: a set that evicts never disposes a leased entry
    const leased = entry;
    let released = false;
    return {
      value: leased.value,
      release: () => {
        if (released) return;
        released = true;
        leased.users--;
        if (leased.evicted && leased.users === 0) void this.disposeEntry(leased);
      },
    };
  }

  private disposeEntry(entry: LeasedEntry<V>): Promise<void> {
    if (entry.disposed) return Promise.resolve();
    entry.disposed = true;
    return entry.value.then(this.dispose, () => {});
  }

  /** Disposes every entry, leased or not (the worker is shutting down). */
  async clear(): Promise<void> {
    const entries = [...this.entries.values()];
    for (const entry of entries) entry.disposed = true; // disposed below, awaited, not by the dispose hook
    this.entries.clear();
    await Promise.all(entries.map((entry) => entry.value.then(this.dispose, () => {})));
  }
}

interface LeasedEntry<V> {
  value: Promise<V>;
  users: number;
  evicted: boolean;
  disposed: boolean;
}

/** The images one activity uses, leased from the worker's cache and released together when it ends. */
export class ImageLeases {
  private readonly leased = new Map<string, { value: Promise<ImageSource>; release(): void }>();

  constructor(private readonly cache: BoundedCache<ImageSource>) {}

  get(uri: string): Promise<ImageSource> {
    let lease = this.leased.get(uri);
    if (!lease) {
      lease = this.cache.acquire(uri, () => openImage(uri));
      this.leased.set(uri, lease);
    }
    return lease.value;
  }

  release(): void {
    for (const lease of this.leased.values()) lease.release();
    this.leased.clear();
  }
}

/** Which label file an ingest reads (IngestSpec.labels). */
interface LabelFileSpec {
  uri: string;
  classProperty: string;
  layer?: string;
}

/** What activities open through the worker's caches. */
export class ActivityResources {
  // Each open image keeps up to 128 MiB of decoded blocks: a few open images serve a worker well.
  private readonly images = new BoundedCache<ImageSource>(4, (image) => image.close());
  private readonly labelSources = new BoundedCache<LabelSource>(8);
  private readonly labelWindowSources = new BoundedCache<LabelWindows>(8);

  constructor(private readonly catalog: Catalog) {}

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

  /** Every feature of a label file, read whole and indexed. */
  labels(spec: LabelFileSpec, classes: string[], imageEpsg: number | null): Promise<LabelSource> {
    return this.cachedLabels(this.labelSources, spec, classes, imageEpsg, (options) => loadLabelSource(spec.uri, options));
  }

  /** A label file read window by window (through its spatial index when it has one). */
  labelWindows(spec: LabelFileSpec, classes: string[], imageEpsg: number | null): Promise<LabelWindows> {
    return this.cachedLabels(this.labelWindowSources, spec, classes, imageEpsg, (options) => openLabelWindows(spec.uri, options));
  }

  private cachedLabels<V>(
    cache: BoundedCache<V>,
    { uri, classProperty, layer }: LabelFileSpec,
    classes: string[],
    imageEpsg: number | null,
    open: (options: LabelSourceOptions) => Promise<V>,
  ): Promise<V> {
    const key = JSON.stringify([uri, classProperty, layer ?? null, classes, imageEpsg]);
    // Label sources hold no handles: release at once, the cache keeps them for the next chunk.
    const lease = cache.acquire(key, () => open({ classProperty, classes, imageEpsg, ...(layer !== undefined ? { layer } : {}) }));
    lease.release();
    return lease.value;
  }

  async close(): Promise<void> {
    await Promise.all([this.images.clear(), this.labelSources.clear(), this.labelWindowSources.clear()]);
  }
}
