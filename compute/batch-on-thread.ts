/**
 * A batch written on a thread of its own: the same file writeBatch makes, with HDF5's work (copies into its WASM
 * heap, label masks, and its synchronous writes, most of a batch's time where fresh page-cache pages are slow) off
 * the caller's event loop, which meanwhile reads the next chips. Samples cross in messages of a few, their image
 * buffers moved, not copied; a few messages wait at most, so memory stays a few slices whatever the batch size.
 */
import { Worker } from 'node:worker_threads';
import type { BatchMeta } from '../domain/batches/layout.js';
import type { BatchSample, BatchSummary, BatchWriterOptions, writeBatch } from '../domain/batches/batch-writer.js';
import { fromTaskFailure, type TaskFailure } from './task-errors.js';
import { soleBuffer } from '../domain/imagery/index.js';

export type BatchThreadRequest =
  | { type: 'create'; path: string; meta: BatchMeta; options: BatchWriterOptions }
  | { type: 'add'; samples: BatchSample[] }
  | { type: 'commit' }
  | { type: 'abort' };

export type BatchThreadReply =
  | { type: 'created' }
  | { type: 'added'; count: number }
  | { type: 'committed'; summary: BatchSummary }
  | { type: 'aborted' }
  | { type: 'failed'; failure: TaskFailure };

/** Samples per message: a 256 x 256 x 6 uint16 chip is 768 KiB, so a message moves about 6 MiB. */
const SAMPLES_PER_MESSAGE = 8;
/** Messages sent and not yet written: enough to keep the thread busy while the next chips are read. */
const MESSAGES_AHEAD = 3;

/**
 * Writes every sample into a batch file at `path`, as writeBatch does, on a new thread that ends with the write.
 * The samples' image buffers are moved to the thread (detached here) when a sample's array is their only view.
 * On any error, an abort through `signal` included, the partial file is removed and the error rethrown.
 */
export const writeBatchOnThread: typeof writeBatch = async (path, meta, samples, options = {}) => {
  const { onProgress, signal, ...writerOptions } = options;
  signal?.throwIfAborted();
  const thread = new BatchThread(onProgress);
  try {
    const ahead = [thread.request({ type: 'create', path, meta: cloneable(meta), options: writerOptions })];
    let pending: BatchSample[] = [];
    const send = async () => {
      if (pending.length > 0) ahead.push(thread.request({ type: 'add', samples: pending }, pending.flatMap(ownBuffer)));
      pending = [];
      while (ahead.length > MESSAGES_AHEAD) await ahead.shift();
    };
    for await (const sample of samples) {
      signal?.throwIfAborted();
      thread.throwIfFailed();
      pending.push(sample);
      if (pending.length === SAMPLES_PER_MESSAGE) await send();
    }
    await send();
    signal?.throwIfAborted();
    const committed = await thread.request({ type: 'commit' });
    return (committed as Extract<BatchThreadReply, { type: 'committed' }>).summary;
  } catch (err) {
    await thread.abort();
    throw err;
  } finally {
    await thread.close();
  }
};

/** The thread and its replies, which come in the order of the requests. */
class BatchThread {
  private readonly worker = new Worker(new URL(threadEntry(), import.meta.url));
  private readonly waiting: Array<{ resolve(reply: BatchThreadReply): void; reject(err: Error): void }> = [];
  private failure: Error | null = null;
  /** The thread has failed or is gone: nothing of its writer is left to abort. */
  private done = false;

  constructor(private onProgress?: (done: number) => void) {
    this.worker.on('message', (reply: BatchThreadReply) => this.answer(reply));
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`the batch-writing thread stopped (exit code ${code})`)));
  }

  request(message: BatchThreadRequest, transfer: ArrayBuffer[] = []): Promise<BatchThreadReply> {
    if (this.failure) return Promise.reject(this.failure);
    const reply = new Promise<BatchThreadReply>((resolve, reject) => this.waiting.push({ resolve, reject }));
    reply.catch(() => undefined); // requests sent ahead are awaited later; the first failure is thrown then or sooner
    this.worker.postMessage(message, transfer);
    return reply;
  }

  throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  /** Drops the partial file (the thread removes it), unless the thread did so when it failed. */
  async abort(): Promise<void> {
    this.onProgress = undefined; // the samples still in flight are thrown away, not written
    if (this.done) return;
    await this.request({ type: 'abort' }).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.done = true;
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }

  private answer(reply: BatchThreadReply): void {
    const waiter = this.waiting.shift();
    if (reply.type === 'failed') {
      this.fail(fromTaskFailure(reply.failure));
      waiter?.reject(this.failure!);
      return;
    }
    if (reply.type === 'added') this.onProgress?.(reply.count);
    waiter?.resolve(reply);
  }

  private fail(err: Error): void {
    this.done = true;
    this.failure ??= err;
    for (const waiter of this.waiting.splice(0)) waiter.reject(this.failure);
  }
}

/** The image buffer a sample's array alone uses: moving one shared with other arrays would empty those. */
function ownBuffer({ image: { data } }: BatchSample): ArrayBuffer[] {
  const buffer = soleBuffer(data);
  return buffer ? [buffer] : [];
}

/**
 * The metadata as the thread can receive it: the document and inputs are stored as JSON, so they cross as their
 * JSON (a class instance with toJSON would lose it in a structured clone).
 */
function cloneable(meta: BatchMeta): BatchMeta {
  const json = (value: unknown): unknown => {
    const text = JSON.stringify(value);
    return text === undefined ? undefined : JSON.parse(text);
  };
  return { ...meta, dataset: json(meta.dataset), inputs: json(meta.inputs) };
}

/** Compiled JavaScript in the package; under tsx (tests, benches), an entry that loads the sources through tsx. */
function threadEntry(): string {
  return import.meta.url.endsWith('.ts') ? './batch-thread-from-source.mjs' : './batch-thread.js';
}
