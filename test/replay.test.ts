/**
 * Determinism across versions: histories recorded from real runs of the previous release (test/histories/, written by
 * `scripts/record-histories.ts`) must replay against this build's workflow bundle. A change that would break runs in
 * flight during a deploy (a new activity call, a reordered step) fails here; guard it with `patched()` instead.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installQuietRuntime } from '../temporal/runtime.js';
import { workflowBundle } from '../worker/worker.js';
import { OLINDA, startTestStack, type TestStack } from './support/stack.js';

const HISTORIES = path.resolve('test/histories');
const recorded = readdirSync(HISTORIES).filter((f) => f.endsWith('.json')).sort();

let bundle: Awaited<ReturnType<typeof workflowBundle>>;
beforeAll(async () => {
  installQuietRuntime('ERROR');
  bundle = await workflowBundle();
});

describe('histories of the previous release', () => {
  it('cover ingest, cache, batch and a failed run', () => {
    expect(recorded).toEqual(expect.arrayContaining([
      'batch-caching.json', 'batch-split.json', 'cache.json', 'ingest-classification.json', 'ingest-failed.json',
      'ingest-segmentation-no-cache.json',
    ]));
  });

  it.each(recorded)('%s replays against the current workflows', async (file) => {
    const history = historyFromJSON(JSON.parse(readFileSync(path.join(HISTORIES, file), 'utf8')));
    expect(history.events?.length ?? 0).toBeGreaterThan(10);
    await Worker.runReplayHistory({ workflowBundle: bundle }, history, `recorded-${file}`);
  });
});

describe("this build's own histories", () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.teardown();
  });

  it('replay deterministically (no nondeterminism inside one version)', async () => {
    const coll = await stack.veda().create({ name: 'replay', mlType: 'object_detection', tileSize: [32, 32], classes: OLINDA.classes });
    const ingest = await coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, count: 300, seed: 2 });
    await ingest.result();
    const failed = await coll.ingest({ image: OLINDA.image, labels: '/missing/labels.geojson', count: 3 });
    await expect(failed.result()).rejects.toThrow(/labels\.geojson/);
    for (const run of [ingest, failed]) {
      const history = await stack.client.workflow.getHandle(run.workflowId).fetchHistory();
      await Worker.runReplayHistory({ workflowBundle: bundle }, history, run.workflowId);
    }
  });
});
