/**
 * The worker's compute threads: piscina pools running tasks.ts's work, so decoding and label encoding use the
 * machine's cores, and the event loop stays free for Temporal (polls, heartbeats) and the catalog. Threads start on
 * the first task and stop when idle; with 0 threads (the default on 1 core, see defaultComputeThreads) the same work
 * runs in-process.
 */
import os from 'node:os';
import { Piscina } from 'piscina';
import type { Raster } from '../domain/types.js';
import { writeBatch, type BatchMeta, type BatchSample, type BatchSummary, type WriteBatchOptions } from '../domain/batches/index.js';
import { MAX_SPARE_BYTES, soleBuffer } from '../domain/imagery/spare-buffers.js';
import { writeBatchOnThread } from './batch-on-thread.js';
import {
  OPEN_IMAGES,
  TaskContext,
  type LabelWindowsResult,
  type LabelWindowsTask,
  type ReadWindowsTask,
  type StoredChipShape,
  type StoreWindowsTask,
  type TaskContextOptions,
} from './tasks.js';
import { fromTaskFailure, isTaskFailure } from './task-errors.js';

export interface ComputePoolOptions {
  /** Compute threads; 0 runs the work on the calling thread. */
  threads: number;
  /**
   * Decoded imagery blocks kept for later windows, in all (default: 5% of the machine's memory, as GDAL's block
   * cache, and at least 128 MiB). Split over the threads (see ComputePool) and the images each keeps open.
   */
  blockCacheBytes?: number;
}

/** A thread left without work this long stops (and lets go of its open images); the next task starts one again. */
const IDLE_MS = 60_000;

/**
 * Every core decodes or encodes: on 2 cores, 2 threads (one labelling, one reading: see ComputePool), and a core
 * left to the main thread (Temporal, the catalog, storing chips) from 4 cores up. Measured end to end on 2 cores
 * (1000 windows, ingest + cache): 2 threads in two lanes 5.6-6.8 s, 1 thread 7.2-7.9 s, 2 threads sharing one lane
 * 7.7 s (each thread converted the label features and decoded the blocks its windows needed itself) and 400 MiB more.
 */
export function defaultComputeThreads(): number {
  const cores = os.availableParallelism();
  return cores < 2 ? 0 : Math.max(2, cores - 1);
}

/** GDAL's default block cache (GDAL_CACHEMAX): a twentieth of the memory; random windows revisit blocks often. */
export function defaultBlockCacheBytes(): number {
  return Math.max(128 * 2 ** 20, Math.floor(os.totalmem() / 20));
}

/** Threads and the work on them: a lane labels windows, reads them, or (with one thread) both. */
export interface LaneStats {
  threads: number;
  /** Threads running now (they start on demand and stop when idle). */
  running: number;
}

export interface ComputeStats extends LaneStats {
  /** Tasks done on threads. */
  completed: number;
  /** The lanes label tasks and read tasks run in: the same one with a single thread. */
  labels: LaneStats;
  reads: LaneStats;
}

/**
 * A worker's compute threads, in two lanes from 2 threads up: label encoding on half of them (rounded up), window
 * reads on the rest. Each lane's threads keep their own caches (converted label features, decoded blocks), so a
 * lane never redoes the other's work, and the two kinds of work of a chunk run side by side. The block cache goes
 * to the reading lane but for an eighth (label threads read windows only for nodata checks).
 */
export class ComputePool {
  private readonly labelLane: Piscina | null;
  private readonly readLane: Piscina | null;
  private readonly local: TaskContext | null;
  /** Buffers of stored chips waiting to go back to the reading lane (recycle). */
  private readonly spares = new Set<ArrayBuffer>();
  private spareBytes = 0;

  constructor(options: ComputePoolOptions) {
    const { threads } = options;
    if (!(Number.isInteger(threads) && threads >= 0)) throw new Error(`compute threads must be a whole number >= 0, got ${threads}`);
    const cacheBytes = options.blockCacheBytes ?? defaultBlockCacheBytes();
    const context = (bytes: number, laneThreads: number): TaskContextOptions => ({
      blockCacheBytes: Math.floor(bytes / (Math.max(1, laneThreads) * OPEN_IMAGES)),
    });
    this.local = threads === 0 ? new TaskContext(context(cacheBytes, 1)) : null;
    if (threads < 2) {
      this.labelLane = threads === 0 ? null : lane(1, context(cacheBytes, 1));
      this.readLane = this.labelLane;
    } else {
      const labelThreads = Math.ceil(threads / 2);
      this.labelLane = lane(labelThreads, context(cacheBytes / 8, labelThreads));
      this.readLane = lane(threads - labelThreads, context((cacheBytes * 7) / 8, threads - labelThreads));
    }
  }

  stats(): ComputeStats {
    const of = (p: Piscina | null): LaneStats => ({ threads: p?.options.maxThreads ?? 0, running: p?.threads.length ?? 0 });
    const [labels, reads] = [of(this.labelLane), of(this.readLane)];
    const lanes = [...new Set([this.labelLane, this.readLane])].filter((p): p is Piscina => p !== null);
    const sum = (f: (p: Piscina) => number) => lanes.reduce((n, p) => n + f(p), 0);
    return { threads: sum((p) => p.options.maxThreads), running: sum((p) => p.threads.length), completed: sum((p) => p.completed), labels, reads };
  }

  labelWindows(task: LabelWindowsTask): Promise<LabelWindowsResult> {
    return this.local ? this.local.labelWindows(task) : run<LabelWindowsResult>(this.labelLane!, 'labelWindows', task);
  }

  readWindows(task: ReadWindowsTask): Promise<Raster[]> {
    if (this.local) return this.local.readWindows(task);
    // Buffers of chips stored since go back with the task, moved: the reading thread copies windows into them.
    const spares: ArrayBuffer[] = [];
    for (const buffer of this.spares) {
      if (spares.length === task.windows.length) break;
      spares.push(buffer);
      this.spares.delete(buffer);
      this.spareBytes -= buffer.byteLength;
    }
    return run<Raster[]>(this.readLane!, 'readWindows', spares.length ? { ...task, spares } : task, spares);
  }

  /**
   * Reads windows and stores them as chips in a local chip store, on the reading thread: the chips' pixels never
   * cross to the caller's thread, whose event loop then neither copies them into files nor collects their buffers
   * (in a 1000-window ingest of 256 x 256 x 6 uint16, 786 MB that counted as external memory and drove its garbage
   * collections). Returns the chips' shapes, in order.
   */
  storeWindows(task: StoreWindowsTask): Promise<StoredChipShape[]> {
    return this.local ? this.local.storeWindows(task) : run<StoredChipShape[]>(this.readLane!, 'storeWindows', task);
  }

  /**
   * Takes back chips of readWindows that their caller has stored and will not touch again, so their buffers carry
   * later windows instead of fresh memory (faulted in, then collected, by two threads, for every window). Chips
   * read on threads only: a buffer moves to the reading thread with its next task, which leaves any reference
   * the caller kept pointing at an empty buffer, never at another window's pixels. In-process (0 threads), none
   * is taken.
   */
  recycle(chips: Iterable<Raster>): void {
    if (this.local) return;
    for (const { data } of chips) {
      const buffer = soleBuffer(data);
      if (!buffer || buffer.byteLength === 0 || this.spares.has(buffer) || this.spareBytes + buffer.byteLength > MAX_SPARE_BYTES) continue;
      this.spares.add(buffer);
      this.spareBytes += buffer.byteLength;
    }
  }

  /** Writes a batch file (see writeBatch): on a thread of its own when the pool has threads, else on this one. */
  writeBatch(
    path: string,
    meta: BatchMeta,
    samples: AsyncIterable<BatchSample> | Iterable<BatchSample>,
    options?: WriteBatchOptions,
  ): Promise<BatchSummary> {
    return (this.local ? writeBatch : writeBatchOnThread)(path, meta, samples, options);
  }

  async close(): Promise<void> {
    await Promise.all([this.labelLane?.destroy(), this.readLane !== this.labelLane ? this.readLane?.destroy() : undefined, this.local?.close()]);
  }
}

function lane(threads: number, context: TaskContextOptions): Piscina {
  return new Piscina({
    filename: threadEntry(),
    minThreads: 0,
    maxThreads: threads,
    idleTimeout: IDLE_MS,
    workerData: context,
    // Tasks await file reads: message passing, not Atomics.wait, so a thread's I/O completes between tasks.
    atomics: 'disabled',
  });
}

async function run<T>(lane: Piscina, name: string, task: unknown, transferList?: ArrayBuffer[]): Promise<T> {
  const result: unknown = await lane.run(task, { name, ...(transferList?.length ? { transferList } : {}) });
  if (isTaskFailure(result)) throw fromTaskFailure(result);
  return result as T;
}

/**
 * The thread's module beside this one: compiled JavaScript in the package; when veda runs from its TypeScript
 * sources (tests, benches under tsx), an entry that loads them through tsx, as the parent does.
 */
function threadEntry(): string {
  const self = import.meta.url;
  return new URL(self.endsWith('.ts') ? './thread-from-source.mjs' : './thread.js', self).href;
}
