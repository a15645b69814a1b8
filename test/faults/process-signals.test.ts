/**
 * `veda dev` and `veda worker` as real processes, stopped by ONE signal sent to their own process (as a process
 * manager does, not Ctrl-C to the terminal's group): they stop within seconds mid-ingest, take their children with
 * them, leave no port in use, and a restarted process finishes the interrupted run with exact counts.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { isProcessAlive } from '../../domain/processes.js';
import type { DatasetDoc } from '../../domain/catalog/dataset-doc.js';
import type { Progress } from '../../workflows/progress.js';
import { freePort, refusesConnections, spawnDev, spawnWorker, stopWith, unconfiguredEnv, vedaJson } from '../support/cli.js';
import { OLINDA, startTestStack } from '../support/stack.js';

/** Waits for `check` to return a value, polling; fails after `timeoutMs`. */
async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 240_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

/** Child processes of `pid` running `command` (ps's comm column). */
function childPids(pid: number, command: string): number[] {
  try {
    return execFileSync('ps', ['--ppid', String(pid), '-o', 'pid=,comm='], { encoding: 'utf8' })
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter(([, comm]) => comm === command)
      .map(([p]) => Number(p));
  } catch {
    return [];
  }
}

interface StatusOutput {
  progress: Progress | null;
}

// `veda dev` always serves the embedded catalog.
describe('veda dev', () => {
  it('stops on one SIGTERM mid-ingest with its Temporal server, restarts at once on the same ports and finishes the run', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'veda-signals-dev-'));
    const [port, uiPort] = [await freePort(), await freePort()];
    const env = unconfiguredEnv(dataDir);
    let dev = await spawnDev({ dataDir, port, uiPort, ephemeral: false });
    try {
      await dev.ready;
      const created = await vedaJson<DatasetDoc>(['create', '--name', 'signals', '--ml-type', 'classification', '--tile-size', '32',
        '--classes', OLINDA.classes.join(',')], env);
      expect(created.code).toBe(0);
      const id = created.json.id;
      const started = await vedaJson<{ workflowId: string }>(['ingest', id, '--image', OLINDA.image, '--labels', OLINDA.labels, '--count', '1500'], env);
      expect(started.code).toBe(0);
      await until('the ingest to post its first chunk', async () => {
        const status = await vedaJson<StatusOutput>(['status', id], env);
        return status.json.progress && status.json.progress.done > 0 ? true : undefined;
      });

      const temporal = childPids(dev.child.pid!, 'temporal');
      expect(temporal).toHaveLength(1);
      const stopped = await stopWith(dev, 'SIGTERM');
      console.log(`veda dev stopped ${stopped.seconds.toFixed(1)} s after one SIGTERM mid-ingest`);
      expect(stopped).toMatchObject({ code: 0 });
      expect(stopped.seconds).toBeLessThan(40);
      expect(isProcessAlive(temporal[0]!)).toBe(false);
      expect(await refusesConnections(port)).toBe(true);
      expect(await refusesConnections(uiPort)).toBe(true);

      // Same ports, same data directory, right away: the persisted run resumes.
      dev = await spawnDev({ dataDir, port, uiPort, ephemeral: false });
      await dev.ready;
      const final = await until('the resumed ingest to finish', async () => {
        const status = await vedaJson<StatusOutput>(['status', id], env);
        const p = status.json.progress;
        if (p?.stage === 'failed') throw new Error(`the resumed ingest failed: ${p.errors.join('; ')}`);
        return p?.stage === 'done' ? p : undefined;
      });
      expect(final).toMatchObject({ total: 1500, percentCached: 100 });
      const show = await vedaJson<DatasetDoc>(['show', id], env);
      expect(show.json).toMatchObject({ count: { train: 1500 }, percent_cached: 100 });
      const slice = await vedaJson<Array<{ id: string }>>(['slice', id, '0', '2000'], env);
      expect(new Set(slice.json.map((p) => p.id)).size).toBe(1500);
    } finally {
      await dev.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 600_000);
});

describe('veda worker', () => {
  it('stops on one SIGINT mid-ingest, handing its activities back; another worker finishes the run exactly', async () => {
    const stack = await startTestStack({ stack: { worker: false } });
    let worker = spawnWorker(stack.childEnv);
    try {
      await worker.polling;
      const coll = await stack.veda().create({ name: 'worker-signals', mlType: 'classification', tileSize: [32, 32], classes: OLINDA.classes });
      const run = await coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, count: 1000, seed: 5 });
      await until('the first chunk', async () => {
        const p = await run.query().catch(() => undefined);
        return p && p.done > 0 ? p : undefined;
      });
      const stopped = await stopWith(worker, 'SIGINT');
      console.log(`veda worker stopped ${stopped.seconds.toFixed(1)} s after one SIGINT mid-ingest`);
      expect(stopped).toMatchObject({ code: 0 });
      expect(stopped.seconds).toBeLessThan(35);

      worker = spawnWorker(stack.childEnv);
      await worker.polling;
      const final = await run.result();
      expect(final).toMatchObject({ stage: 'done', total: 1000, percentCached: 100 });
      expect(await stack.services.catalog.counts(coll.id)).toEqual({ groups: { train: 1000 }, total: 1000, cached: 1000 });
    } finally {
      if (worker.child.exitCode === null) {
        worker.child.kill('SIGTERM');
        await worker.exited;
      }
      await stack.teardown();
    }
  }, 600_000);
});
