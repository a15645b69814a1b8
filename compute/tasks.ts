/**
 * The CPU-heavy part of the chunk activities as plain functions of plain data (ids, URIs, windows; pixels only in
 * results): decoding windows of imagery and encoding labels. A worker runs them on its compute threads (thread.ts)
 * where the machine has cores to spare, its event loop staying free for Temporal; else `TaskContext` runs them
 * in-process.
 */
import { nodataShare, offerSpareBuffers, openImage, soleBuffer, type ImageSource } from '../domain/imagery/index.js';
import { encodeStoredLabel, openLabelWindows, readWindowLabelContext, type LabelSourceOptions, type LabelWindows, type PackedRunsLabel } from '../domain/labels/index.js';
import type { GeoTransform, Label, LabelOptions, MlType, PixelWindow, Raster } from '../domain/types.js';
import { ObjectChipStore } from '../domain/chips/object-chip-store.js';
import { LocalObjectStore } from '../domain/storage/local-object-store.js';
import type { LocalChipRoot } from '../domain/chips/types.js';
import { BoundedCache } from './bounded-cache.js';

/** Which label file an ingest reads (IngestSpec.labels). */
export interface LabelFileSpec {
  uri: string;
  classProperty: string;
  layer?: string;
}

/** Labels of windows of one image, and (with `nodata`) which of them hold too much nodata to keep. */
export interface LabelWindowsTask {
  labels: LabelFileSpec;
  classes: string[];
  imageEpsg: number | null;
  geoTransform: GeoTransform;
  mlType: MlType;
  labelOptions?: LabelOptions;
  windows: PixelWindow[];
  /** Skip windows whose share of nodata pixels (in these bands of the image) exceeds `maxNodata`. */
  nodata?: { image: string; bands?: number[]; maxNodata: number };
}

/** One entry per window, in order: its label as the catalog stores it, or null for a window skipped for its nodata. */
export type LabelWindowsResult = Array<Label | PackedRunsLabel | null>;

/** Pixels of windows of one image, for chips. */
export interface ReadWindowsTask {
  image: string;
  bands?: number[];
  windows: PixelWindow[];
  /** Buffers of earlier chips, moved here for the thread to copy windows of their size into (ComputePool.recycle). */
  spares?: ArrayBuffer[];
}

/** Windows of one image stored as chips under local keys by the thread that reads them (see ComputePool.storeWindows). */
export interface StoreWindowsTask {
  image: string;
  bands?: number[];
  windows: PixelWindow[];
  /** The chip key of each window, in order. */
  keys: string[];
  /** The local chip store, as the worker opened it. */
  store: LocalChipRoot;
}

/** The shape of each chip stored, in order: what the caller checks against its dataset. */
export type StoredChipShape = Pick<Raster, 'dtype' | 'bands' | 'height' | 'width'>;

/** Chips written at once by a storing thread: each is a few file-system calls on libuv's threads. */
const STORE_WRITES = 8;

/** Images a task context keeps open (a chunk reads one; a thread may serve chunks of a few). */
export const OPEN_IMAGES = 2;

export interface TaskContextOptions {
  /** Decoded blocks each open image keeps for later windows. */
  blockCacheBytes: number;
}

/** The key of a label file opened for some classes in some image CRS (the same file may serve other datasets). */
export function labelFileKey({ uri, classProperty, layer }: LabelFileSpec, classes: string[], imageEpsg: number | null): string {
  return JSON.stringify([uri, classProperty, layer ?? null, classes, imageEpsg]);
}

/** How a label file is opened for some classes in some image CRS (loadLabelSource, openLabelWindows). */
export function labelFileOptions({ classProperty, layer }: LabelFileSpec, classes: string[], imageEpsg: number | null): LabelSourceOptions {
  return { classProperty, classes, imageEpsg, ...(layer !== undefined ? { layer } : {}) };
}

/** What tasks keep between calls on one thread: open images (headers, decoded blocks) and label files. */
export class TaskContext {
  private readonly images: BoundedCache<ImageSource>;
  private readonly labels = new BoundedCache<LabelWindows>(8);
  /** Local chip stores by root (a worker has one). */
  private readonly chipStores = new Map<string, ObjectChipStore>();

  constructor(private readonly options: TaskContextOptions) {
    this.images = new BoundedCache<ImageSource>(OPEN_IMAGES, (image) => image.close());
  }

  async labelWindows(task: LabelWindowsTask): Promise<LabelWindowsResult> {
    const { labels: spec, classes, imageEpsg, geoTransform, mlType, labelOptions, nodata } = task;
    const labels = this.labels.acquire(labelFileKey(spec, classes, imageEpsg), () =>
      openLabelWindows(spec.uri, labelFileOptions(spec, classes, imageEpsg)),
    );
    // Label files hold no handles: the lease ends at once, the cache keeps them for the next task.
    labels.release();
    const source = await labels.value;
    const keep = nodata ? await this.keepsNodata(task.windows, nodata) : task.windows.map(() => true);
    const out: LabelWindowsResult = [];
    for (const [i, window] of task.windows.entries()) {
      out.push(keep[i] ? encodeStoredLabel(mlType, await readWindowLabelContext(source, geoTransform, window), labelOptions) : null);
    }
    return out;
  }

  async readWindows({ image, bands, windows, spares }: ReadWindowsTask): Promise<Raster[]> {
    if (spares) offerSpareBuffers(spares);
    return this.withImage(image, async (source) => {
      const chips: Raster[] = [];
      for (const window of windows) chips.push(await source.readWindow(window, bands));
      return chips;
    });
  }

  /**
   * Reads each window and stores it under its key, STORE_WRITES chips written at once while the next windows are
   * read; a chip's buffer carries a later window once its chip is stored. Returns the chips' shapes, not their pixels.
   */
  async storeWindows({ image, bands, windows, keys, store }: StoreWindowsTask): Promise<StoredChipShape[]> {
    if (keys.length !== windows.length) throw new Error(`${windows.length} windows and ${keys.length} chip keys`);
    const chips = this.chipStoreAt(store);
    return this.withImage(image, async (source) => {
      const shapes: StoredChipShape[] = [];
      // Writes in flight; they never reject (the first failure is kept), and all end before the task does.
      const writing = new Set<Promise<void>>();
      let failure: unknown;
      try {
        for (const [i, window] of windows.entries()) {
          const chip = await source.readWindow(window, bands);
          shapes.push({ dtype: chip.dtype, bands: chip.bands, height: chip.height, width: chip.width });
          const put: Promise<void> = chips.put(keys[i]!, chip).then(
            () => {
              const buffer = soleBuffer(chip.data);
              if (buffer) offerSpareBuffers([buffer]);
            },
            (err: unknown) => void (failure ??= err),
          );
          writing.add(put);
          void put.finally(() => writing.delete(put));
          if (writing.size >= STORE_WRITES) await Promise.race(writing);
          if (failure !== undefined) break;
        }
      } finally {
        await Promise.all(writing);
      }
      if (failure !== undefined) throw failure;
      return shapes;
    });
  }

  /** Closes every open image. */
  async close(): Promise<void> {
    await Promise.all([this.images.clear(), this.labels.clear()]);
  }

  private keepsNodata(windows: PixelWindow[], { image, bands, maxNodata }: NonNullable<LabelWindowsTask['nodata']>): Promise<boolean[]> {
    return this.withImage(image, async (source) => {
      const keep: boolean[] = [];
      for (const window of windows) keep.push(nodataShare(await source.readWindow(window, bands), source.info.nodata) <= maxNodata);
      return keep;
    });
  }

  private chipStoreAt({ root, options }: LocalChipRoot): ObjectChipStore {
    let chips = this.chipStores.get(root);
    if (!chips) {
      chips = new ObjectChipStore(new LocalObjectStore(root, options));
      this.chipStores.set(root, chips);
    }
    return chips;
  }

  private async withImage<T>(uri: string, work: (image: ImageSource) => Promise<T>): Promise<T> {
    const lease = this.images.acquire(uri, () => openImage(uri, { blockCacheBytes: this.options.blockCacheBytes }));
    try {
      return await work(await lease.value);
    } finally {
      lease.release();
    }
  }
}
