/**
 * A `veda worker` process SIGKILLed at seeded random points of each stage (posting, caching, batch writing), three
 * times each, a new worker started after every kill: every run completes with exact counts, no duplicate datapoint,
 * chip or HDF5 row, and chips equal to GDAL's read of their windows.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VedaCollection } from '../../client/collection.js';
import { OLINDA } from '../support/stack.js';
import {
  chipFiles,
  chipsDifferingFromGdal,
  datapointFacts,
  FAULT_SEED,
  h5Rows,
  killPoints,
  startFaultStack,
  waitFor,
  type FaultStack,
  type WorkerProcess,
} from './support/fault-stack.js';

const PLAN = { train: 2400, test: 600 };
const TOTAL = PLAN.train + PLAN.test;
const FINE_HEARTBEATS = { VEDA_HEARTBEAT_MS: '50' };

let stack: FaultStack;
let coll: VedaCollection;
let worker: WorkerProcess;
const survived: Record<string, number[]> = {};

beforeAll(async () => {
  stack = await startFaultStack();
  coll = await stack.veda.create({ name: 'kills', mlType: 'segmentation', tileSize: [32, 32], classes: OLINDA.classes });
  worker = stack.startWorker();
});
afterAll(async () => {
  console.log(`fault seed ${FAULT_SEED}; worker kills survived: ${JSON.stringify(survived)}`);
  await stack?.teardown();
});

interface KillOptions {
  onKill?: () => void;
  /** Environment of the workers started after each kill. */
  workerEnv?: NodeJS.ProcessEnv;
  /** How often progress is read (ms). */
  everyMs?: number;
}

/** Kills the worker at each point that `progress` reaches before the run ends, starting a new one after each. */
async function killAt(stage: string, points: number[], progress: () => Promise<number>, options: KillOptions = {}): Promise<void> {
  survived[stage] = [];
  for (const point of points) {
    const at = await waitFor(progress, point, undefined, options.everyMs);
    expect(at, `${stage}: the run ended before kill point ${point}`).toBeLessThan(TOTAL);
    await worker.kill('SIGKILL');
    options.onKill?.();
    survived[stage].push(at);
    worker = stack.startWorker(options.workerEnv);
  }
}

describe('a worker SIGKILLed three times in each stage', () => {
  it('during posting: the ingest completes with exactly the planned datapoints, none twice', async () => {
    const run = await coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, groups: PLAN, seed: 11, cache: false });
    await killAt('posting', killPoints(TOTAL, 3, 1), async () => (await stack.services.catalog.counts(coll.id)).total);
    const final = await run.result();
    expect(final.total).toBe(TOTAL);
    expect(await coll.count()).toEqual(PLAN);
    expect(await datapointFacts(stack.config.databaseUrl!, coll.id)).toMatchObject({ n: TOTAL, windows: TOTAL, ids: TOTAL, cached: 0 });
  }, 600_000);

  it('during caching: every datapoint has exactly one chip, equal to its window', async () => {
    const run = await coll.cache();
    await killAt('caching', killPoints(TOTAL, 3, 2), async () => (await stack.services.catalog.counts(coll.id)).cached);
    const final = await run.result();
    expect(final.percentCached).toBe(100);
    expect(await datapointFacts(stack.config.databaseUrl!, coll.id)).toMatchObject({ n: TOTAL, ids: TOTAL, chips: TOTAL, cached: TOTAL });
    expect((await chipFiles(stack.dataDir, coll.id)).chips).toBe(TOTAL);
    expect(await chipsDifferingFromGdal(stack.services, coll.id, OLINDA.image, TOTAL)).toEqual([]);
  }, 600_000);

  it('during batch writing: the HDF5 file has every selected sample once', async () => {
    // gzip level 9 makes the write take long enough to be killed part way, three times. The groups stay as ingested:
    // the random plan's windows overlap, so a shuffled --split would be refused as leaking before anything is written.
    // Workers heartbeat every 50 ms here (VEDA_HEARTBEAT_MS), not every second: on a fast machine a whole write
    // takes about a second, and the kill points must be seen while the writer is still at work.
    await worker.kill('SIGTERM');
    worker = stack.startWorker(FINE_HEARTBEATS);
    const run = await coll.startBatch({ seed: 5, compression: 9 });
    const handle = stack.client.workflow.getHandle(run.workflowId);
    // Samples written by the attempt now running. A pending activity keeps the last heartbeat of a killed attempt
    // until the retry beats, so only a beat of a later attempt, since it started, counts: each kill hits a live writer.
    let running = 0;
    let killed = 0;
    const written = async () => {
      const { raw, status } = await handle.describe();
      // A run that ended before the kill points (failed, say) is reported now, not after waitFor's timeout.
      if (status.name !== 'RUNNING') return run.result().then((r) => r.done ?? 0);
      const build = raw.pendingActivities?.find((a) => a.activityType?.name === 'buildBatch');
      const payload = build?.heartbeatDetails?.payloads?.[0];
      const beatSinceStart = Number(build?.lastHeartbeatTime?.seconds ?? 0) >= Number(build?.lastStartedTime?.seconds ?? Infinity);
      if (!build || !payload || !beatSinceStart || (build.attempt ?? 1) <= killed) return 0;
      running = build.attempt ?? 1;
      return defaultPayloadConverter.fromPayload<{ done?: number }>(payload).done ?? 0;
    };
    await killAt('batching', killPoints(TOTAL, 3, 3, 0.1, 0.7), written, {
      onKill: () => (killed = running),
      workerEnv: FINE_HEARTBEATS,
      everyMs: 20,
    });
    const final = await run.result();
    expect(final.done).toBe(TOTAL);
    const rows = await h5Rows(final.output!);
    expect(rows).toEqual({
      train: { rows: 2400, ids: 2400, distinct: 2400, windows: 2400 },
      test: { rows: 600, ids: 600, distinct: 600, windows: 600 },
    });
    // Killed writers' partial files are gone; only the finished file and the latest.h5 pointer remain.
    expect((await readdir(path.dirname(final.output!))).filter((n) => n.includes('.tmp-'))).toEqual([]);
  }, 600_000);
});
