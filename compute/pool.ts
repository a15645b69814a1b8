/**
 * The worker's compute threads: a piscina pool running tasks.ts's work, so decoding and label encoding use the cores
 * a worker's main thread leaves idle, and the event loop stays free for Temporal (polls, heartbeats) and the
 * catalog. Threads start on the first task and stop when idle; with 0 threads (the default on 1 core, see
 * defaultComputeThreads) the same work runs in-process.
 */
import os from 'node:os';
import { Piscina } from 'piscina';
import type { Raster } from '../domain/types.js';
import { OPEN_IMAGES, TaskContext, type LabelWindowsResult, type LabelWindowsTask, type ReadWindowsTask, type TaskContextOptions } from './tasks.js';
import { fromTaskFailure, isTaskFailure } from './task-errors.js';

export interface ComputePoolOptions {
  /** Compute threads; 0 runs the work on the calling thread. */
  threads: number;
  /**
   * Decoded imagery blocks kept for later windows, in all (default: 5% of the machine's memory, as GDAL's block
   * cache, and at least 128 MiB). Split evenly over the threads and the images each keeps open.
   */
  blockCacheBytes?: number;
}

/** A thread left without work this long stops (and lets go of its open images); the next task starts one again. */
const IDLE_MS = 60_000;

/**
 * One core is left to the worker's main thread (Temporal, the catalog, storing chips), the others decode imagery and
 * encode labels. Measured end to end on 2 cores (1000 windows, ingest + cache): 1 thread 8.8-9.2 s, none 9.7-10.1 s
 * (the main thread was the bottleneck, the machine a third idle), 2 threads no faster than none: with several, each
 * converts the label features and decodes the blocks its windows need itself.
 */
export function defaultComputeThreads(): number {
  return Math.max(0, os.availableParallelism() - 1);
}

/** GDAL's default block cache (GDAL_CACHEMAX): a twentieth of the memory; random windows revisit blocks often. */
export function defaultBlockCacheBytes(): number {
  return Math.max(128 * 2 ** 20, Math.floor(os.totalmem() / 20));
}

export class ComputePool {
  private readonly pool: Piscina | null;
  private readonly local: TaskContext | null;

  constructor(options: ComputePoolOptions) {
    if (!(Number.isInteger(options.threads) && options.threads >= 0)) throw new Error(`compute threads must be a whole number >= 0, got ${options.threads}`);
    const perImage = (options.blockCacheBytes ?? defaultBlockCacheBytes()) / (Math.max(1, options.threads) * OPEN_IMAGES);
    const context: TaskContextOptions = { blockCacheBytes: Math.floor(perImage) };
    this.local = options.threads === 0 ? new TaskContext(context) : null;
    this.pool =
      options.threads === 0
        ? null
        : new Piscina({
            filename: threadEntry(),
            minThreads: 0,
            maxThreads: options.threads,
            idleTimeout: IDLE_MS,
            workerData: context,
            // Tasks await file reads: message passing, not Atomics.wait, so a thread's I/O completes between tasks.
            atomics: 'disabled',
          });
  }

  /** Threads at most, threads running now (they start on demand and stop when idle), and tasks done on them. */
  stats(): { threads: number; running: number; completed: number } {
    if (!this.pool) return { threads: 0, running: 0, completed: 0 };
    return { threads: this.pool.options.maxThreads, running: this.pool.threads.length, completed: this.pool.completed };
  }

  labelWindows(task: LabelWindowsTask): Promise<LabelWindowsResult> {
    return this.local ? this.local.labelWindows(task) : this.run<LabelWindowsResult>('labelWindows', task);
  }

  readWindows(task: ReadWindowsTask): Promise<Raster[]> {
    return this.local ? this.local.readWindows(task) : this.run<Raster[]>('readWindows', task);
  }

  async close(): Promise<void> {
    await Promise.all([this.pool?.destroy(), this.local?.close()]);
  }

  private async run<T>(name: string, task: unknown): Promise<T> {
    const result: unknown = await this.pool!.run(task, { name });
    if (isTaskFailure(result)) throw fromTaskFailure(result);
    return result as T;
  }
}

/**
 * The thread's module beside this one: compiled JavaScript in the package; when veda runs from its TypeScript
 * sources (tests, benches under tsx), an entry that loads them through tsx, as the parent does.
 */
function threadEntry(): string {
  const self = import.meta.url;
  return new URL(self.endsWith('.ts') ? './thread-from-source.mjs' : './thread.js', self).href;
}
