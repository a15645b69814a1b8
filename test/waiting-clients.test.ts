/**
 * Clients that never hang silently: `veda ingest --wait` and `run.progress()` say within seconds that no worker
 * polls the task queue, keep waiting and finish once a worker starts; CLI output is complete through a pipe.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunProgress } from '../client/workflow-run.js';
import { BIN, spawnWorker, vedaJson } from './support/cli.js';
import { OLINDA, startTestStack, type TestStack } from './support/stack.js';

let stack: TestStack;
let worker: ChildProcess | undefined;
beforeAll(async () => {
  stack = await startTestStack({ user: 'alice', stack: { worker: false } });
});
afterAll(async () => {
  if (worker && worker.exitCode === null) {
    worker.kill('SIGTERM');
    await new Promise((resolve) => worker!.once('exit', resolve));
  }
  await stack?.teardown();
});

/** Starts `veda worker` on the stack's task queue; resolves once it polls. */
async function startWorker(): Promise<ChildProcess> {
  const started = spawnWorker(stack.childEnv);
  await started.polling;
  return started.child;
}

/** `promise`, or a failure that says what did not happen within `ms` (a hang reports itself, not the test's timeout). */
function within<T>(ms: number, what: string | (() => string), promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`waited ${ms / 1000} s for ${typeof what === 'string' ? what : what()}`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

const noWorker = () => `no worker is polling task queue ${stack.config.temporal.taskQueue} on ${stack.address}: start one with \`veda worker\``;

describe('with no worker running', () => {
  it('progress() yields a warning within seconds, keeps waiting, and goes on once a worker polls', async () => {
    const coll = await stack.veda().create({ name: 'no-worker-api', mlType: 'classification', tileSize: [32, 32], classes: OLINDA.classes });
    const run = await coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, count: 20, seed: 1 });
    const started = Date.now();
    const seen: RunProgress[] = [];
    for await (const p of run.progress()) {
      seen.push(p);
      if (p.warning) {
        expect(Date.now() - started).toBeLessThan(10_000);
        expect(p.warning).toContain(noWorker());
        worker = await startWorker();
      }
    }
    expect(seen[0]!.warning).toBeDefined();
    expect(seen.at(-1)).toMatchObject({ stage: 'done', total: 20, percentCached: 100 });
    expect(seen.at(-1)!.warning).toBeUndefined();
  }, 300_000);

  it('ingest --wait says so on stderr within seconds and finishes when a worker starts', async () => {
    worker?.kill('SIGTERM');
    await within(60_000, 'the first worker to stop on SIGTERM', new Promise((resolve) => (worker && worker.exitCode === null ? worker.once('exit', resolve) : resolve(null))));
    const coll = await stack.veda().create({ name: 'no-worker-cli', mlType: 'classification', tileSize: [32, 32], classes: OLINDA.classes });
    const child = spawn(process.execPath, [BIN, 'ingest', coll.id, '--image', OLINDA.image, '--labels', OLINDA.labels, '--count', '20', '--wait', '--json'],
      { env: stack.childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    const warned = new Promise<number>((resolve) => {
      const started = Date.now();
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk;
        if (stderr.includes('no worker is polling')) resolve(Date.now() - started);
      });
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    // A command that ends without warning fails here with what it printed, not at the test's timeout.
    const printed = () => `stdout:\n${stdout}\nstderr:\n${stderr}`;
    const warnedAfter = await within(60_000, () => `the no-worker warning; ${printed()}`, Promise.race([
      warned,
      exited.then((code) => Promise.reject(new Error(`veda ingest --wait exited (${code}) without warning:\n${printed()}`))),
    ]));
    console.log(`ingest --wait warned ${(warnedAfter / 1000).toFixed(1)} s after the command started (node + tsx start included)`);
    expect(warnedAfter).toBeLessThan(20_000);
    expect(stderr).toContain(noWorker());
    worker = await within(120_000, 'a new worker to poll', startWorker());
    expect(await within(120_000, () => `veda ingest --wait to finish once a worker polls; ${printed()}`, exited)).toBe(0);
    const out = JSON.parse(stdout) as { progress: RunProgress };
    expect(out.progress).toMatchObject({ stage: 'done', total: 20, percentCached: 100 });
  }, 300_000);
});

describe('CLI output', () => {
  it('is complete through a pipe, a slow pipe and a file: slice of 3000 datapoints --json', async () => {
    if (!worker || worker.exitCode !== null || worker.signalCode !== null) worker = await startWorker();
    const coll = await stack.veda().create({ name: 'big-answer', mlType: 'segmentation', tileSize: [32, 32], classes: OLINDA.classes });
    const run = await coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, count: 3000, seed: 2, cache: false });
    await within(180_000, `ingest ${run.workflowId} of 3000 windows`, run.result());

    const file = path.join(os.tmpdir(), `veda-slice-${process.pid}.json`);
    const command = `"${process.execPath}" "${BIN}" slice ${coll.id} 0 3000 --json`;
    const sh = (script: string) => new Promise<string>((resolve, reject) =>
      execFile('bash', ['-c', script], { env: stack.childEnv, maxBuffer: 256 << 20 }, (err, out) => (err ? reject(err) : resolve(out))));
    try {
      await sh(`${command} > ${file}`);
      const text = await readFile(file, 'utf8');
      expect((JSON.parse(text) as unknown[]).length).toBe(3000);
      const bytes = Buffer.byteLength(text);
      expect(bytes).toBeGreaterThan(65_536 * 4);
      expect(Number((await sh(`${command} | wc -c`)).trim())).toBe(bytes);
      expect(Number((await sh(`${command} | (sleep 2; wc -c)`)).trim())).toBe(bytes);
      expect((JSON.parse(await sh(`${command} | cat`)) as unknown[]).length).toBe(3000);
    } finally {
      await rm(file, { force: true });
    }
    expect((await vedaJson<unknown[]>(['slice', coll.id, '0', '3'], stack.childEnv)).json).toHaveLength(3);
  }, 300_000);
});
