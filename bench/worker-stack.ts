/**
 * A local stack with veda's worker as a child process, as a user runs it: a Temporal dev server, PostgreSQL (a
 * fresh database on DATABASE_URL's server, else 127.0.0.1:5432, dropped afterwards), a temp data dir and one
 * `veda worker` (bin/veda.js: needs dist/, see scripts/build.sh). `env` is what a `veda` command needs to join it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startLocalTemporal } from '../temporal/local-server.js';
import { stackEnv } from '../runtime/stack-env.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SAMPLE_MS = 2000;

export interface WorkerStack {
  /** The environment of a veda process joining the stack (worker, CLI, Veda.connect through loadConfig). */
  env: NodeJS.ProcessEnv;
  worker: ChildProcess;
  /** The worker's peak resident memory so far (VmHWM), in MiB, sampled now and every 2 s. */
  peakRssMiB(): Promise<number>;
  /** Stops the worker and the server, drops the database and removes the data dir. */
  stop(): Promise<void>;
}

/** Peak resident set of a process (Linux VmHWM), in MiB. */
async function vmHwmMiB(pid: number): Promise<number | null> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  return kb ? Number(kb) / 1024 : null;
}

async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  await c.query(sql).finally(() => c.end());
}

/** `name` tags the data dir, database and task queue, so stacks of two runs never meet. */
export async function startWorkerStack(name: string): Promise<WorkerStack> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `veda-${name}-`));
  const adminUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
  const dbName = `veda_${name.replace(/\W/g, '_')}_${randomBytes(4).toString('hex')}`;
  await adminQuery(adminUrl, `create database ${dbName}`);
  const databaseUrl = Object.assign(new URL(adminUrl), { pathname: `/${dbName}` }).toString();
  const temporal = await startLocalTemporal({});
  const env = stackEnv({ temporal, databaseUrl, dataDir, taskQueue: `veda-${name}-${randomBytes(3).toString('hex')}`, user: 'bench' });
  // BENCH_WORKER_CPU_PROF=DIR: the worker writes V8 CPU profiles of its threads there (see bench/README.md).
  const profile = process.env.BENCH_WORKER_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_WORKER_CPU_PROF}`] : [];
  const worker = spawn(process.execPath, [...profile, path.join(ROOT, 'bin/veda.js'), 'worker'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  let peak = 0;
  const sample = async () => (peak = Math.max(peak, (await vmHwmMiB(worker.pid!)) ?? 0));
  const sampler = setInterval(sample, SAMPLE_MS);
  return {
    env,
    worker,
    peakRssMiB: sample,
    async stop() {
      clearInterval(sampler);
      if (worker.exitCode === null && worker.signalCode === null) {
        worker.kill('SIGTERM');
        await new Promise((resolve) => worker.once('exit', resolve));
      }
      await temporal.shutdown();
      await adminQuery(adminUrl, `drop database if exists ${dbName} with (force)`);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
