/**
 * The services under a running worker restart mid-run: the Temporal dev server (same SQLite file) and PostgreSQL
 * (a fast shutdown: every connection gets 57P01). The worker process survives both and the runs complete exactly.
 * Then two workers share one task queue and both take part in a run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VedaCollection } from '../../client/collection.js';
import { OLINDA } from '../support/stack.js';
import { chipFiles, chipsDifferingFromGdal, datapointFacts, h5Rows, startFaultStack, waitFor, type FaultStack } from './support/fault-stack.js';

let stack: FaultStack;
const survived: string[] = [];

beforeAll(async () => {
  stack = await startFaultStack();
});
afterAll(async () => {
  console.log(`restarts survived: ${JSON.stringify(survived)}`);
  await stack?.teardown();
});

async function newDataset(name: string): Promise<VedaCollection> {
  return stack.veda.create({ name, mlType: 'classification', tileSize: [32, 32], classes: OLINDA.classes });
}

/** Exact counts, one row and one chip per planned window, chips equal to GDAL's windows. */
async function expectExact(coll: VedaCollection, plan: Record<string, number>): Promise<void> {
  const total = Object.values(plan).reduce((a, b) => a + b, 0);
  expect(await coll.count()).toEqual(plan);
  expect(await datapointFacts(stack.config.databaseUrl!, coll.id)).toEqual({ n: total, windows: total, ids: total, chips: total, cached: total });
  expect((await chipFiles(stack.dataDir, coll.id)).chips).toBe(total);
  expect(await chipsDifferingFromGdal(stack.services, coll.id, OLINDA.image, total)).toEqual([]);
}

describe('restarts under a running worker', () => {
  it('the Temporal server restarted mid-ingest: the worker reconnects and the run completes exactly', async () => {
    const worker = stack.startWorker();
    const coll = await newDataset('temporal-restart');
    const plan = { train: 1600, test: 400 };
    const run = await coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, groups: plan, seed: 21 });
    const at = await waitFor(async () => (await stack.services.catalog.counts(coll.id)).total, 500);
    expect(at).toBeLessThan(2000);
    await stack.restartTemporal(3000);
    survived.push(`temporal at ${at}/2000 posted`);
    const final = await run.result();
    expect(final).toMatchObject({ stage: 'done', total: 2000, percentCached: 100 });
    await expectExact(coll, plan);
    expect(worker.alive()).toBe(true);
    await worker.kill('SIGTERM');
  });

  it('PostgreSQL restarted while posting and again while caching: the same worker process finishes the run', async () => {
    const worker = stack.startWorker();
    const coll = await newDataset('postgres-restart');
    const plan = { train: 1600, test: 400 };
    const run = await coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, groups: plan, seed: 22 });
    const counts = () => stack.services.catalog.counts(coll.id);
    const posted = await waitFor(async () => (await counts()).total, 500);
    expect(posted).toBeLessThan(2000);
    await stack.postgres.restart(5000);
    survived.push(`postgres at ${posted}/2000 posted`);
    const cached = await waitFor(async () => (await counts()).cached, 600);
    expect(cached).toBeLessThan(2000);
    await stack.postgres.restart(5000);
    survived.push(`postgres at ${cached}/2000 cached`);
    const final = await run.result();
    expect(final).toMatchObject({ stage: 'done', total: 2000, percentCached: 100 });
    expect(worker.alive(), worker.stderr()).toBe(true);
    expect(worker.stderr()).toMatch(/veda catalog: (lost|cannot reach)/);
    await expectExact(coll, plan);
    await worker.kill('SIGTERM');
  });

  it('two workers on one task queue share a run, which completes exactly', async () => {
    const workers = [stack.startWorker(), stack.startWorker()];
    const coll = await newDataset('two-workers');
    const plan = { train: 1200, test: 300 };
    const run = await coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, groups: plan, seed: 23 });
    expect(await run.result()).toMatchObject({ stage: 'done', total: 1500, percentCached: 100 });
    await expectExact(coll, plan);
    // The groups as ingested (a random plan's windows overlap, so a shuffled --split would be refused as leaking).
    const batch = await (await coll.startBatch({ seed: 3 })).result();
    const rows = await h5Rows(batch.output!);
    expect(rows.train).toEqual({ rows: 1200, ids: 1200, distinct: 1200, windows: 1200 });
    expect(rows.test).toEqual({ rows: 300, ids: 300, distinct: 300, windows: 300 });

    // Both processes ran activities of the ingest: the history names each one's identity (pid@host).
    const identities = new Set<string>();
    const history = await stack.client.workflow.getHandle(run.workflowId).fetchHistory();
    for (const event of history.events ?? []) {
      const identity = event.activityTaskStartedEventAttributes?.identity;
      if (identity) identities.add(identity.split('@')[0]!);
    }
    expect([...identities].sort()).toEqual(workers.map((w) => String(w.child.pid)).sort());
    for (const w of workers) await w.kill('SIGTERM');
  });
});
