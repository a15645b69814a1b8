/**
 * Determinism: the histories of real ingest, cache and failed runs replay against the current workflow code
 * without a non-determinism error (what a worker does after a crash or a deploy).
 */
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowBundle } from '../worker/worker.js';
import { OLINDA, startTestStack, type TestStack } from './support/stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.teardown();
});

describe('workflow histories', () => {
  it('replay deterministically for ingest, cache and a failed run', async () => {
    const coll = await stack.veda().create({ name: 'replay', mlType: 'object_detection', tileSize: [32, 32], classes: OLINDA.classes });
    const ingest = await coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, count: 300, seed: 2 });
    await ingest.result();
    await coll.feed([{ source: OLINDA.image, window: [0, 0, 32, 32], label: [[], [], []] }], { group: 'extra' });
    const cache = await coll.cache();
    await cache.result();
    const failed = await coll.ingest({ image: OLINDA.image, labels: '/missing/labels.geojson', count: 3 });
    await expect(failed.result()).rejects.toThrow(/labels\.geojson/);

    const bundle = await workflowBundle();
    for (const run of [ingest, cache, failed]) {
      const history = await stack.client.workflow.getHandle(run.workflowId).fetchHistory();
      expect(history.events?.length ?? 0).toBeGreaterThan(5);
      await Worker.runReplayHistory({ workflowBundle: bundle }, history, run.workflowId);
    }
  });
});
