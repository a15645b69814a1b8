/**
 * A worker SIGKILLed while it writes a batch: the store's `latest.h5` stays the previous complete file (h5py reads
 * it unchanged), the dead attempt's partial file never reaches the store, and a restarted worker completes the run
 * and cleans its scratch space. Runs on the embedded catalog, served to the child workers as `veda dev` serves it
 * (test/faults/worker-kills.test.ts kills workers on PostgreSQL).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Veda } from '../../client/veda.js';
import type { VedaCollection } from '../../client/collection.js';
import type { MlType } from '../../domain/types.js';
import { summarizeWithH5py, type H5pySummary } from '../support/h5py.js';
import { OLINDA, startTestStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ catalog: 'embedded' });
});
afterAll(async () => {
  await stack?.teardown();
});

/** Ids of the datapoints the catalog holds for a dataset. */
async function storedIds(coll: VedaCollection): Promise<string[]> {
  return (await stack.services.catalog.listDatapoints(coll.id, { offset: 0, limit: 100_000 })).map((p) => p.id);
}

/** Ids of each group of a batch file, as h5py reads them. */
function idsOf(summary: H5pySummary): Record<string, string[]> {
  return Object.fromEntries(summary.groupOrder.map((g) => [g, summary.groups[g]!.ids!.strings!]));
}

async function ingest(mlType: MlType, groups: Record<string, number>, tile: number, seed: number): Promise<VedaCollection> {
  const coll = await stack.veda().create({ name: `batch-${mlType}-${tile}`, mlType, tileSize: [tile, tile], classes: OLINDA.classes });
  const final = await (await coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, groups, seed })).result();
  expect(final.percentCached).toBe(100);
  return coll;
}

function startWorker(taskQueue: string): ChildProcess {
  return spawn(process.execPath, ['bin/veda.js', 'worker'], {
    env: { ...stack.childEnv, VEDA_TASK_QUEUE: taskQueue, VEDA_WORKER_ACTIVITIES: '2' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

async function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise((resolve) => child.once('exit', resolve));
}

/** Files a batch writer has in this machine's scratch space for the dataset (partial files of a running build). */
async function scratchFiles(datasetId: string): Promise<string[]> {
  return readdir(path.join(stack.services.scratchDir, 'batches', datasetId)).catch(() => []);
}

describe('a worker killed mid-batch', () => {
  it('leaves the previous complete latest.h5 in the store, and a restarted worker completes the run', async () => {
    // The build under test runs on a task queue only the child workers poll, so the kill hits it.
    const queue = `${stack.config.temporal.taskQueue}-crash`;
    const first = startWorker(queue);
    const second: ChildProcess[] = [];
    try {
      // 300 chips of 6 x 128 x 128 with gzip level 9: several seconds of writing.
      const coll = await ingest('segmentation', { train: 300 }, 128, 21);
      const latest = stack.services.batches.localPath(`${coll.id}/latest.h5`)!;
      const previous = await coll.batch(12, { seed: 1 });
      previous.close();
      const before = await summarizeWithH5py(latest);
      expect(before.groups.train!.images!.shape[0]).toBe(12);

      const crashVeda = Veda.over({ client: stack.client, namespace: stack.namespace, taskQueue: queue, services: stack.services, user: 'alice' });
      const build = await (await crashVeda.fromId(coll.id)).startBatch({ seed: 2, compression: 9 });
      // Mid-batch: the progress stream (which folds in the writer's heartbeats) shows samples written but not all,
      // and the writer's partial file is in the worker's scratch space, not in the store.
      let midway = -1;
      for await (const p of build.progress({ intervalMs: 100 })) {
        if (p.stage === 'batching' && p.done > 0 && p.done < p.total) {
          midway = p.done;
          break;
        }
      }
      expect(midway).toBeGreaterThan(0);
      expect(await scratchFiles(coll.id)).toHaveLength(1);
      first.kill('SIGKILL');
      await exited(first);

      // Never torn: latest.h5 is still the previous file, complete.
      const during = await summarizeWithH5py(latest);
      expect(idsOf(during)).toEqual(idsOf(before));
      expect(during.groups.train!.images!.sha256).toBe(before.groups.train!.images!.sha256);

      second.push(startWorker(queue));
      const final = await build.result();
      expect(final).toMatchObject({ stage: 'done', total: 300, groups: { train: 300 }, output: stack.services.batches.uri(final.outputKey!) });
      const after = await summarizeWithH5py(latest);
      expect(after.groups.train!.images).toMatchObject({ shape: [300, 6, 128, 128], compression: 'gzip', compressionOpts: 9 });
      expect([...idsOf(after).train!].sort()).toEqual((await storedIds(coll)).sort());
      // The retry removed the dead attempt's partial file, and its own scratch copy once stored.
      expect(await scratchFiles(coll.id)).toEqual([]);
    } finally {
      for (const child of [first, ...second]) {
        child.kill('SIGTERM');
        await exited(child);
      }
    }
  }, 300_000);
});
