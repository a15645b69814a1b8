/**
 * Entry of a batch-writing thread (batch-on-thread.ts): one BatchWriter, fed samples by the thread that started it.
 * HDF5's writes are synchronous system calls (on some machines most of a batch's time, for fresh page-cache pages),
 * so here they leave the worker's event loop free to read the next chips. Requests are handled one at a time, in
 * order; each is answered, and a failure aborts the writer (its partial file is removed) before it is reported.
 */
import { parentPort } from 'node:worker_threads';
import { BatchWriter } from '../domain/batches/batch-writer.js';
import { toTaskFailure } from './task-errors.js';
import type { BatchThreadReply, BatchThreadRequest } from './batch-on-thread.js';

const port = parentPort!;
let writer: BatchWriter | null = null;
let queue = Promise.resolve();

port.on('message', (request: BatchThreadRequest) => {
  queue = queue.then(() => handle(request));
});

async function handle(request: BatchThreadRequest): Promise<void> {
  try {
    port.postMessage(await answer(request));
  } catch (err) {
    await writer?.abort().catch(() => undefined);
    writer = null;
    port.postMessage({ type: 'failed', failure: toTaskFailure(err) } satisfies BatchThreadReply);
  }
}

async function answer(request: BatchThreadRequest): Promise<BatchThreadReply> {
  switch (request.type) {
    case 'create':
      writer = await BatchWriter.create(request.path, request.meta, request.options);
      return { type: 'created' };
    case 'add': {
      const open = opened();
      for (const sample of request.samples) {
        // A turn of the event loop after each slice lets the background syncs of the file complete.
        if (open.add(sample)) await new Promise(setImmediate);
      }
      return { type: 'added', count: open.count };
    }
    case 'commit': {
      const summary = await opened().commit();
      writer = null;
      return { type: 'committed', summary };
    }
    case 'abort':
      await writer?.abort();
      writer = null;
      return { type: 'aborted' };
  }
}

function opened(): BatchWriter {
  if (!writer) throw new Error('the batch thread has no open writer');
  return writer;
}
