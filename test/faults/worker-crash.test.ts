/**
 * Durability: a worker process killed (SIGKILL) in the middle of an ingest, then a new worker started, finishes
 * the run with exact counts and no duplicate datapoint. On the embedded catalog, served over the PostgreSQL protocol
 * as `veda dev` serves it: the killed worker's connections die mid-statement and the catalog goes on serving the
 * next one (test/faults/worker-kills.test.ts kills workers on PostgreSQL).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OLINDA, startTestStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
beforeAll(async () => {
  // No in-process worker: the only workers are the child processes this test starts and kills.
  stack = await startTestStack({ catalog: 'embedded', stack: { worker: false } });
});
afterAll(async () => {
  await stack?.teardown();
});

function startWorker(): ChildProcess {
  return spawn(process.execPath, ['bin/veda.js', 'worker'], {
    env: { ...stack.childEnv, VEDA_WORKER_ACTIVITIES: '2' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

async function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise((resolve) => child.once('exit', resolve));
}

describe('a worker killed mid-ingest', () => {
  it('leaves exact counts and no duplicates once another worker finishes the run', async () => {
    const coll = await stack.veda().create({ name: 'crash', mlType: 'segmentation', tileSize: [32, 32], classes: OLINDA.classes });
    const total = 1500;
    const first = startWorker();
    const run = await coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, groups: { train: 1200, test: 300 }, seed: 99, cache: true });

    // Wait until the run is visibly part-way through posting, then kill the worker without warning.
    let killedAt = -1;
    for (let i = 0; i < 600 && killedAt < 0; i++) {
      const p = await run.query().catch(() => null);
      if (p && p.stage === 'posting' && p.done > 0 && p.done < total) killedAt = p.done;
      else await sleep(50);
    }
    expect(killedAt).toBeGreaterThan(0);
    first.kill('SIGKILL');
    await exited(first);
    const posted = (await stack.services.catalog.counts(coll.id)).total;
    expect(posted).toBeLessThan(total);

    const second = startWorker();
    try {
      const final = await run.result();
      expect(final.stage).toBe('done');
      expect(final.total).toBe(total);
      expect(final.percentCached).toBe(100);
    } finally {
      second.kill('SIGTERM');
      await exited(second);
    }

    expect(await stack.services.catalog.counts(coll.id)).toEqual({ groups: { train: 1200, test: 300 }, total, cached: total });
    const client = new pg.Client({ connectionString: stack.catalogUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: string; distinct_windows: string }>(
        `select count(*) as n, count(distinct (grp, source, x, y, w, h)) as distinct_windows from datapoints where dataset_id = $1`,
        [coll.id],
      );
      expect(rows[0]).toEqual({ n: String(total), distinct_windows: String(total) });
    } finally {
      await client.end();
    }
  }, 240_000);
});
