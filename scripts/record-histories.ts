/**
 * Records the event histories of real veda runs into test/histories/, for the replay test. Run it once per release
 * (`npx tsx scripts/record-histories.ts`), before changing any workflow: the files it writes are what running
 * workflows look like to the next version, which must replay them without a non-determinism error.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { OLINDA, startTestStack } from '../test/support/stack.js';

const OUT = path.resolve('test/histories');
const stack = await startTestStack();
try {
  const veda = stack.veda();
  const runs: Array<{ name: string; workflowId: string }> = [];

  // Three ingest chunks and three cache chunks: the bounded fan-out and the cache stage inside ingest.
  const cls = await veda.create({ name: 'history-cls', mlType: 'classification', tileSize: [32, 32], classes: OLINDA.classes });
  const ingest = await cls.ingest({ image: OLINDA.image, labels: OLINDA.labels, groups: { train: 240, test: 60 }, seed: 3 });
  await ingest.result();
  runs.push({ name: 'ingest-classification', workflowId: ingest.workflowId });

  // An ingest without caching, then a cache run of its own, then a batch that has nothing left to cache.
  const seg = await veda.create({ name: 'history-seg', mlType: 'segmentation', tileSize: [32, 32], classes: OLINDA.classes });
  const posted = await seg.ingest({ image: OLINDA.image, labels: OLINDA.labels, count: 150, seed: 4, cache: false });
  await posted.result();
  runs.push({ name: 'ingest-segmentation-no-cache', workflowId: posted.workflowId });
  const cache = await seg.cache();
  await cache.result();
  runs.push({ name: 'cache', workflowId: cache.workflowId });
  const batch = await seg.startBatch({ size: 100, split: [70, 20, 10], seed: 1 });
  await batch.result();
  runs.push({ name: 'batch-split', workflowId: batch.workflowId });

  // A batch that caches first (fed datapoints), and an ingest that fails non-retryably.
  const det = await veda.create({ name: 'history-det', mlType: 'object_detection', tileSize: [32, 32], classes: OLINDA.classes });
  await det.feed([{ source: OLINDA.image, window: [0, 0, 32, 32], label: [[], [], []] }], { group: 'extra' });
  const cachingBatch = await det.startBatch({});
  await cachingBatch.result();
  runs.push({ name: 'batch-caching', workflowId: cachingBatch.workflowId });
  const failed = await det.ingest({ image: OLINDA.image, labels: '/missing/labels.geojson', count: 3 });
  await failed.result().catch(() => undefined);
  runs.push({ name: 'ingest-failed', workflowId: failed.workflowId });

  for (const run of runs) {
    const history = await stack.client.workflow.getHandle(run.workflowId).fetchHistory();
    await writeFile(path.join(OUT, `${run.name}.json`), historyToJSON(history) + '\n');
    console.log(`${run.name}: ${history.events?.length ?? 0} events`);
  }
} finally {
  await stack.teardown();
}
