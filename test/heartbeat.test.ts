/**
 * Temporal times out an activity that sends no heartbeat within its heartbeat timeout, from its start, however
 * alive it is: silent work (hashing a huge image, reading a whole label file) must heartbeat while it runs. On the
 * run's real dev server: the same 5 s of silent work under a 2 s heartbeat timeout fails bare and succeeds inside
 * whileHeartbeating (which prepareIngest uses).
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { whileHeartbeating } from '../activities/heartbeat.js';

const shared = inject('sharedTemporal');
const taskQueue = `veda-test-heartbeat-${randomBytes(4).toString('hex')}`;
let worker: Worker;
let running: Promise<void>;
let client: Client;

beforeAll(async () => {
  const connection = await NativeConnection.connect({ address: shared.address });
  worker = await Worker.create({
    connection,
    namespace: shared.namespace,
    taskQueue,
    workflowsPath: new URL('./fixtures/heartbeat-workflow.ts', import.meta.url).pathname,
    activities: {
      async silentWork(ms: number, ticking: boolean): Promise<string> {
        const work = () => sleep(ms, 'done');
        return ticking ? whileHeartbeating(work, { everyMs: 500 }) : work();
      },
    },
  });
  running = worker.run();
  client = new Client({ connection: await Connection.connect({ address: shared.address }), namespace: shared.namespace });
}, 60_000);

afterAll(async () => {
  worker?.shutdown();
  await running;
});

describe('silent activity work', () => {
  const run = (ticking: boolean) =>
    client.workflow.execute('silentWorkflow', { taskQueue, workflowId: `heartbeat-${randomBytes(4).toString('hex')}`, args: [5000, ticking] });

  it('times out after the heartbeat timeout when it does not heartbeat', async () => {
    await expect(run(false)).rejects.toMatchObject({ cause: { message: 'Activity task timed out', cause: { message: expect.stringMatching(/heartbeat timeout/i) } } });
  }, 30_000);

  it('completes inside whileHeartbeating', async () => {
    expect(await run(true)).toBe('done');
  }, 30_000);
});
