/**
 * Cancelling runs: `run.cancel()` and `veda cancel ID` stop a running ingest within seconds (its activities see
 * the request at their next heartbeat), the run ends as cancelled in Temporal, the catalog stays consistent, and a
 * new run of the same ingest posts only what is missing.
 */
import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError } from '../domain/errors.js';
import type { VedaCollection } from '../client/collection.js';
import type { WorkflowRun } from '../client/workflow-run.js';
import type { Progress } from '../workflows/progress.js';
import { veda, vedaJson } from './support/cli.js';
import { OLINDA, startTestStack, type TestStack } from './support/stack.js';

let stack: TestStack;
beforeAll(async () => {
  // One chunk at a time: runs last long enough to be cancelled mid-way however fast the machine is.
  stack = await startTestStack({ user: 'alice', env: { VEDA_CHUNK_PARALLELISM: '1' } });
});
afterAll(async () => {
  await stack?.teardown();
});

const WINDOWS = 1500;
const INGEST = { image: OLINDA.image, labels: OLINDA.labels, count: WINDOWS, seed: 21 };

async function newDataset(name: string): Promise<VedaCollection> {
  return stack.veda().create({ name, mlType: 'classification', tileSize: [32, 32], classes: OLINDA.classes });
}

/** Waits until the run has posted at least one chunk. */
async function firstChunk(run: WorkflowRun): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const p = await run.query().catch(() => undefined);
    if (p && p.done > 0) return;
    await sleep(250);
  }
  throw new Error(`${run.workflowId} posted nothing`);
}

/** The catalog's own view of a dataset: rows, distinct windows, cached rows and distinct chip keys. */
async function catalogRows(datasetId: string) {
  const db = new pg.Client({ connectionString: stack.catalogUrl });
  await db.connect();
  try {
    const { rows } = await db.query<{ n: number; windows: number; cached: number; chips: number }>(
      `select count(*)::int as n, count(distinct (grp, x, y))::int as windows,
              count(chip_key)::int as cached, count(distinct chip_key)::int as chips
       from datapoints where dataset_id = $1::text`, [datasetId]);
    return rows[0]!;
  } finally {
    await db.end();
  }
}

describe('run.cancel()', () => {
  it('stops an ingest within seconds as cancelled, leaves the catalog consistent, and a re-run completes it exactly', async () => {
    const coll = await newDataset('cancel-api');
    const run = await coll.ingest(INGEST);
    await firstChunk(run);

    const cancelledAt = Date.now();
    await run.cancel();
    await expect(run.result()).rejects.toBeInstanceOf(CancelledError);
    const seconds = (Date.now() - cancelledAt) / 1000;
    console.log(`an ingest of ${WINDOWS} windows ended as cancelled ${seconds.toFixed(1)} s after run.cancel()`);
    expect(seconds).toBeLessThan(30);

    const description = await stack.client.workflow.getHandle(run.workflowId).describe();
    expect(description.status.name).toBe('CANCELLED');
    expect(description.raw.pendingActivities ?? []).toEqual([]);
    const progress = await run.query();
    expect(progress.stage).toBe('cancelled');

    // Consistent: what the catalog counts is what it holds, and nothing moves once the run has ended.
    const before = await catalogRows(coll.id);
    expect(before.n).toBeGreaterThan(0);
    expect(before.n).toBeLessThan(WINDOWS);
    expect(before.windows).toBe(before.n);
    expect(before.chips).toBe(before.cached);
    const counts = await stack.services.catalog.counts(coll.id);
    expect(counts).toEqual({ groups: { train: before.n }, total: before.n, cached: before.cached });
    await sleep(3000);
    expect(await catalogRows(coll.id)).toEqual(before);

    const rerun = await (await coll.ingest(INGEST)).result();
    expect(rerun).toMatchObject({ stage: 'done', total: WINDOWS, posted: WINDOWS - before.n, percentCached: 100 });
    expect(await catalogRows(coll.id)).toEqual({ n: WINDOWS, windows: WINDOWS, cached: WINDOWS, chips: WINDOWS });
  }, 400_000);
});

describe('veda cancel', () => {
  it("cancels the dataset's running workflows for its owner only; --wait on a cancelled run exits 6", async () => {
    const coll = await newDataset('cancel-cli');
    const env = stack.childEnv;
    const waiting = vedaJson<{ error: { kind: string; message: string } }>(
      ['ingest', coll.id, '--image', OLINDA.image, '--labels', OLINDA.labels, '--count', String(WINDOWS), '--wait'], env);
    const run = await (async () => {
      for (let i = 0; i < 240; i++) {
        const latest = await stack.veda().latestRun(coll.id);
        if (latest) return latest;
        await sleep(250);
      }
      throw new Error('the CLI started no ingest');
    })();
    await firstChunk(run);

    const cancelled = await vedaJson<{ datasetId: string; cancelled: string[] }>(['cancel', coll.id], env);
    expect(cancelled.code).toBe(0);
    expect(cancelled.json).toEqual({ datasetId: coll.id, cancelled: [run.workflowId] });

    const waited = await waiting;
    expect(waited.code).toBe(6);
    expect(waited.json.error).toEqual({ kind: 'CancelledError', message: `workflow ${run.workflowId} was cancelled` });
    const status = await vedaJson<{ progress: Progress }>(['status', coll.id], env);
    expect(status.json.progress.stage).toBe('cancelled');

    const bob = await veda(['cancel', coll.id, '--user', 'bob'], env);
    expect(bob.code).toBe(3); // another user's private dataset does not exist for them
    const again = await vedaJson<{ cancelled: string[] }>(['cancel', coll.id], env);
    expect(again.json.cancelled).toEqual([]);
    const human = await veda(['cancel', coll.id], env);
    expect(human.stdout.trim()).toBe(`dataset ${coll.id} has no running workflows`);
  }, 400_000);
});
