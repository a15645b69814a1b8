/**
 * veda as a package in someone else's project: `npm pack`, installed from the tarball into a fresh project, where
 * the user's own Worker runs `VedaPlugin` next to a workflow (and an activity) of the user's, the user's own Client
 * ingests and batches through the plugin, and a script that imports from 'veda' reads the result. Real Temporal dev
 * server, real PostgreSQL; nothing of the repository is reachable from the project but the tarball.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OLINDA, startTestStack, type TestStack } from './support/stack.js';
import { summarizeWithH5py } from './support/h5py.js';

const run = promisify(execFile);
const TEMPORAL_VERSION = '1.24.0';

const USER_WORKFLOWS = `
import { proxyActivities } from '@temporalio/workflow';
const { shout } = proxyActivities({ startToCloseTimeout: '1 minute' });
/** The user's own workflow, bundled beside veda's. */
export async function greet(name) {
  return await shout('hello ' + name);
}
`;

const USER_WORKER = `
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { VedaPlugin } from 'veda/plugin';

const veda = await VedaPlugin.create(); // catalog, chip store, task queue and limits from the environment
const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS, plugins: [veda] });
const worker = await Worker.create({
  connection,
  namespace: process.env.TEMPORAL_NAMESPACE,
  taskQueue: veda.taskQueue,
  workflowsPath: fileURLToPath(new URL('./workflows.js', import.meta.url)),
  activities: { shout: async (text) => text.toUpperCase() },
  plugins: [veda],
});
process.once('SIGTERM', () => worker.shutdown());
console.log('worker ready');
await worker.run();
await connection.close();
await veda.close();
`;

const USER_APP = `
import { Client, Connection } from '@temporalio/client';
import { VedaPlugin } from 'veda/plugin';

const [image, labels] = process.argv.slice(2);
const veda = await VedaPlugin.create();
const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS, plugins: [veda] });
const client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE, plugins: [veda] });
try {
  const greeting = await client.workflow.execute('greet', { taskQueue: veda.taskQueue, workflowId: 'greet-' + Date.now(), args: ['veda'] });
  const api = veda.veda(client);
  const coll = await api.create({ name: 'packaged', mlType: 'classification', tileSize: [32, 32], classes: ['water', 'vegetation', 'urban'] });
  await (await coll.ingest({ image, labels, count: 12, seed: 3 })).result();
  const batch = await coll.batch(8, { seed: 1 });
  const samples = batch.train.length;
  batch.close();
  console.log(JSON.stringify({ greeting, id: coll.id, count: await coll.count(), samples, file: batch.path }));
} finally {
  await connection.close();
  await veda.close();
}
`;

// The README's user script: nothing but 'veda'.
const USER_SCRIPT = `
import { Veda, NotFoundError } from 'veda';

const veda = await Veda.connect();
try {
  const coll = await veda.fromId(process.argv[2]);
  const doc = await coll.doc();
  const [first] = await coll.slice(0, 1);
  const image = await first.image();
  let missing = null;
  try { await veda.fromId('no-such-dataset'); } catch (err) { missing = err instanceof NotFoundError ? err.kind : String(err); }
  console.log(JSON.stringify({ name: doc.name, total: doc.total, y: Array.from(first.y), shape: [image.bands, image.height, image.width], missing }));
} finally {
  await veda.close();
}
`;

describe('veda as an npm package', () => {
  let stack: TestStack;
  let project: string;
  let worker: ChildProcess | undefined;
  let workerLog = '';

  beforeAll(async () => {
    // No worker of veda's own: the user's worker is the only one on the task queue.
    stack = await startTestStack({ stack: { worker: false } });
    project = await mkdtemp(path.join(os.tmpdir(), 'veda-user-project-'));
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', project], { maxBuffer: 16 * 1024 * 1024 });
    const tarball = path.join(project, (JSON.parse(stdout) as Array<{ filename: string }>)[0]!.filename);
    await writeFile(
      path.join(project, 'package.json'),
      JSON.stringify({
        name: 'user-app',
        private: true,
        type: 'module',
        dependencies: {
          veda: `file:${tarball}`,
          '@temporalio/client': TEMPORAL_VERSION,
          '@temporalio/worker': TEMPORAL_VERSION,
          '@temporalio/workflow': TEMPORAL_VERSION,
        },
      }),
    );
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: project, timeout: 600_000 });
    await writeFile(path.join(project, 'workflows.js'), USER_WORKFLOWS);
    await writeFile(path.join(project, 'worker.js'), USER_WORKER);
    await writeFile(path.join(project, 'app.js'), USER_APP);
    await writeFile(path.join(project, 'script.js'), USER_SCRIPT);
  }, 900_000);

  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      worker.kill('SIGTERM');
      await new Promise((resolve) => worker!.once('exit', resolve));
    }
    await stack?.teardown();
    if (project) await rm(project, { recursive: true, force: true });
  });

  // Runs in the user's project with only the stack's environment: nothing resolves into the repository.
  const inProject = (file: string, args: string[] = []) =>
    run(process.execPath, [file, ...args], { cwd: project, env: stack.childEnv, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 });

  it('installs with built JavaScript, type declarations and a working `veda` command', async () => {
    const pkg = JSON.parse(await readFile(path.join(project, 'node_modules/veda/package.json'), 'utf8')) as { exports: Record<string, unknown> };
    expect(Object.keys(pkg.exports)).toEqual(expect.arrayContaining(['.', './plugin', './worker', './workflows']));
    for (const entry of ['client/index', 'plugin/index', 'worker/index', 'workflows/index']) {
      await readFile(path.join(project, 'node_modules/veda/dist', `${entry}.js`));
      await readFile(path.join(project, 'node_modules/veda/dist', `${entry}.d.ts`));
    }
    const { stdout } = await run(path.join(project, 'node_modules/.bin/veda'), ['--version'], { cwd: project });
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("runs the user's Worker with VedaPlugin beside the user's workflow, ingests and batches through the plugin", async () => {
    worker = spawn(process.execPath, ['worker.js'], { cwd: project, env: stack.childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        workerLog += chunk.toString();
        if (workerLog.includes('worker ready')) resolve();
      };
      worker!.stdout!.on('data', onData);
      worker!.stderr!.on('data', onData);
      worker!.once('exit', (code) => reject(new Error(`user worker exited (${code}):\n${workerLog}`)));
    });

    const { stdout } = await inProject('app.js', [OLINDA.image, OLINDA.labels]);
    const result = JSON.parse(stdout.trim().split('\n').pop()!) as {
      greeting: string; id: string; count: Record<string, number>; samples: number; file: string;
    };
    expect(result.greeting).toBe('HELLO VEDA');
    expect(result.count).toEqual({ train: 12 });
    expect(result.samples).toBe(8);

    // The catalog the user's worker filled is the one veda's own tools see.
    const doc = await stack.veda().fromId(result.id).then((c) => c.doc());
    expect(doc.total).toBe(12);
    expect(doc.percent_cached).toBe(100);

    // A script that imports only from 'veda' reads the dataset back.
    const script = JSON.parse((await inProject('script.js', [result.id])).stdout) as {
      name: string; total: number; y: number[]; shape: number[]; missing: string;
    };
    expect(script).toMatchObject({ name: 'packaged', total: 12, shape: [6, 32, 32], missing: 'NotFoundError' });
    expect(script.y).toHaveLength(3);

    // And the batch the plugin's worker wrote opens in h5py with the 8 samples asked for.
    const summary = await summarizeWithH5py(result.file);
    expect(summary.groups.train!.images!.shape).toEqual([8, 6, 32, 32]);
  });
});
