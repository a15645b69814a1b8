/**
 * VedaPlugin in a user's own worker, from the sources: veda's activities and workflows join the user's, with a
 * prebuilt bundle (bundleWorkflowCode({ plugins })) as well as a workflowsPath; the user's own activities, options
 * and limits win over veda's defaults. (test/package.test.ts runs the same from an installed tarball.)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VedaPlugin } from '../plugin/index.js';
import { OLINDA, startTestStack, type TestStack } from './support/stack.js';

const USER_WORKFLOWS = `
import { proxyActivities } from '@temporalio/workflow';
const { shout } = proxyActivities<{ shout(text: string): Promise<string> }>({ startToCloseTimeout: '1 minute' });
export async function greet(name: string): Promise<string> {
  return await shout('hello ' + name);
}
`;

describe('VedaPlugin', () => {
  let stack: TestStack;
  let plugin: VedaPlugin;
  let userWorkflows: string;
  const activities = { shout: async (text: string) => text.toUpperCase() };

  beforeAll(async () => {
    stack = await startTestStack({ stack: { worker: false } });
    plugin = new VedaPlugin({ services: stack.services, taskQueue: stack.config.temporal.taskQueue, worker: stack.config.worker });
    const dir = path.resolve('test/.tmp');
    await mkdir(dir, { recursive: true });
    userWorkflows = path.join(dir, `user-workflows-${randomBytes(4).toString('hex')}.ts`);
    await writeFile(userWorkflows, USER_WORKFLOWS);
  });

  afterAll(async () => {
    await stack?.teardown();
  });

  it("adds veda's activities to the user's and keeps the user's own settings", () => {
    const options = plugin.configureWorker({ taskQueue: 'q', workflowsPath: userWorkflows, activities, maxConcurrentActivityTaskExecutions: 3 });
    const names = Object.keys(options.activities ?? {});
    expect(names).toContain('shout');
    expect(names).toEqual(expect.arrayContaining(['prepareIngest', 'ingestChunk', 'cacheChunk', 'buildBatch']));
    expect(options.workflowsPath).toBe(userWorkflows); // combined with veda's when bundled
    expect(options.maxConcurrentActivityTaskExecutions).toBe(3);
    expect(plugin.configureWorker({ taskQueue: 'q' }).maxConcurrentActivityTaskExecutions).toBe(stack.config.worker.maxConcurrentActivities);
    // A prebuilt bundle is left as it is: it was bundled with the plugin.
    expect(plugin.configureWorker({ taskQueue: 'q', workflowBundle: { code: '' } }).workflowsPath).toBeUndefined();
  });

  it("runs the user's workflow and veda's ingest on one worker built from a prebuilt bundle", async () => {
    const workflowBundle = await bundleWorkflowCode({ workflowsPath: userWorkflows, plugins: [plugin], logger: quiet });
    const connection = await NativeConnection.connect({ address: stack.address });
    try {
      const worker = await Worker.create({
        connection,
        namespace: stack.namespace,
        taskQueue: plugin.taskQueue,
        workflowBundle,
        activities,
        plugins: [plugin],
      });
      await worker.runUntil(async () => {
        const greeting = await stack.client.workflow.execute('greet', { taskQueue: plugin.taskQueue, workflowId: `greet-${randomBytes(4).toString('hex')}`, args: ['veda'] });
        expect(greeting).toBe('HELLO VEDA');

        const veda = plugin.veda(stack.client, { user: 'alice' });
        const coll = await veda.create({ name: 'plugged', mlType: 'classification', tileSize: [32, 32], classes: OLINDA.classes });
        const final = await (await coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, count: 6, seed: 2 })).result();
        expect(final.stage).toBe('done');
        expect(await coll.count()).toEqual({ train: 6 });
        expect((await coll.doc()).percent_cached).toBe(100);
      });
    } finally {
      await connection.close();
    }
  });
});

const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error };
