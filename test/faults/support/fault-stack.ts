/**
 * The fault suite's stack, every part of it a real process that a test can kill or restart: a private PostgreSQL
 * cluster, a Temporal dev server on a fixed port with its history in a SQLite file (so a restart keeps the runs),
 * and `veda worker` child processes. The test process itself only starts runs and checks the outcome.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Client } from '@temporalio/client';
import { loadConfig, type VedaConfig } from '../../../config/config.js';
import { Veda } from '../../../client/veda.js';
import type { Services } from '../../../runtime/services.js';
import { startLocalTemporal, type LocalTemporal } from '../../../temporal/local-server.js';
import { installQuietRuntime } from '../../../temporal/runtime.js';
import { stackEnv } from '../../../runtime/stack-env.js';
import { uniformInt } from '../../../domain/random/prng.js';
import { readGdalWindows } from '../../support/gdal.js';
import { startPrivatePostgres, type PrivatePostgres } from './private-postgres.js';

const run = promisify(execFile);

/** The seed of every random kill point; FAULT_SEED replays another run's choices. */
export const FAULT_SEED = Number(process.env.FAULT_SEED ?? 20261202);

export interface WorkerProcess {
  child: ChildProcess;
  /** Everything the worker wrote on stderr so far. */
  stderr(): string;
  alive(): boolean;
  kill(signal: NodeJS.Signals): Promise<void>;
}

export interface FaultStack {
  config: VedaConfig;
  dataDir: string;
  postgres: PrivatePostgres;
  client: Client;
  services: Services;
  veda: Veda;
  startWorker(extraEnv?: NodeJS.ProcessEnv): WorkerProcess;
  /** Stops the Temporal dev server, waits `downMs`, starts it again on the same port and SQLite file. */
  restartTemporal(downMs?: number): Promise<void>;
  teardown(): Promise<void>;
}

export async function startFaultStack(): Promise<FaultStack> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'veda-faults-'));
  const postgres = await startPrivatePostgres();
  const temporalOptions = { dbFilename: path.join(dataDir, 'temporal.sqlite'), logFile: path.join(dataDir, 'temporal.log') };
  let temporal: LocalTemporal = await startLocalTemporal(temporalOptions);
  const port = Number(temporal.address.split(':').pop());
  const env: NodeJS.ProcessEnv = {
    ...stackEnv({ temporal, databaseUrl: postgres.url, dataDir, taskQueue: `veda-faults-${randomBytes(4).toString('hex')}`, user: 'alice' }),
    VEDA_CHUNK_PARALLELISM: '4',
  };
  const config = loadConfig(env);
  installQuietRuntime(config.logLevel);
  // Connected as a user's process would be (TEMPORAL_ADDRESS, DATABASE_URL): its gRPC connection is not the server
  // object's, so it outlives a restart of the server and reconnects.
  const veda = await Veda.connect(config);
  const client = veda.temporal;
  const services = veda.services;
  const workers = new Set<WorkerProcess>();

  return {
    config,
    dataDir,
    postgres,
    client,
    services,
    veda,
    startWorker(extraEnv = {}) {
      const child = spawn(process.execPath, ['bin/veda.js', 'worker'], {
        env: { ...env, VEDA_WORKER_ACTIVITIES: '2', ...extraEnv },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const alive = () => child.exitCode === null && child.signalCode === null;
      const worker: WorkerProcess = {
        child,
        stderr: () => stderr,
        alive,
        async kill(signal) {
          if (alive()) {
            const gone = new Promise((resolve) => child.once('exit', resolve));
            child.kill(signal);
            await gone;
          }
          workers.delete(worker);
        },
      };
      workers.add(worker);
      return worker;
    },
    async restartTemporal(downMs = 3000) {
      await temporal.shutdown();
      await new Promise((resolve) => setTimeout(resolve, downMs));
      temporal = await startLocalTemporal({ ...temporalOptions, port });
    },
    async teardown() {
      for (const worker of [...workers]) await worker.kill('SIGKILL');
      await veda.close().catch(() => {});
      await temporal.shutdown().catch(() => {});
      await postgres.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** `count` seeded points in (lo, hi) of [0, total), ascending and at least a tenth of the range apart. */
export function killPoints(total: number, count: number, stream: number, lo = 0.1, hi = 0.85): number[] {
  const span = (hi - lo) / count;
  // One point in each of `count` equal slices of (lo, hi): random, yet spread over the run.
  return Array.from({ length: count }, (_, i) => {
    const within = uniformInt(FAULT_SEED, i, stream, 1000) / 1000;
    return Math.floor(total * (lo + span * (i + 0.1 + 0.8 * within)));
  });
}

/** Polls `read` until it reaches `target` (or `done` says the run is over); returns the last value read. */
export async function waitFor(read: () => Promise<number>, target: number, timeoutMs = 300_000, everyMs = 100): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value >= target) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${target}, at ${value}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Datapoints of a dataset, as the database holds them: how many rows, how many distinct windows, distinct chips. */
export async function datapointFacts(databaseUrl: string, datasetId: string) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number; windows: number; ids: number; chips: number; cached: number }>(
      `select count(*)::int as n, count(distinct (grp, source, x, y, w, h))::int as windows, count(distinct id)::int as ids,
              count(distinct chip_key)::int as chips, count(chip_key)::int as cached
       from datapoints where dataset_id = $1`,
      [datasetId],
    );
    return rows[0]!;
  } finally {
    await client.end();
  }
}

/** Chip files in the store for a dataset (temporary names excluded) and temporary files left behind. */
export async function chipFiles(dataDir: string, datasetId: string): Promise<{ chips: number; temporary: number }> {
  const root = path.join(dataDir, 'chips', 'datasets', datasetId);
  const names = (await readdir(root, { recursive: true, withFileTypes: true }).catch(() => [])).filter((e) => e.isFile()).map((e) => e.name);
  const temporary = names.filter((n) => n.includes('.tmp-')).length;
  return { chips: names.length - temporary, temporary };
}

/** Seeded sample of `n` datapoints whose stored chips must equal GDAL's read of their windows: the mismatches. */
export async function chipsDifferingFromGdal(services: Services, datasetId: string, image: string, total: number, n = 24): Promise<string[]> {
  const picks = [...new Set(Array.from({ length: n }, (_, i) => uniformInt(FAULT_SEED, i, 99, total - 1)))];
  const points = (await Promise.all(picks.map((i) => services.catalog.listDatapoints(datasetId, { offset: i, limit: 1 })))).flat();
  const reference = await readGdalWindows(image, points.map((p) => ({ window: p.window })));
  const wrong: string[] = [];
  for (const [i, point] of points.entries()) {
    const chip = await services.chips.get(point.chipKey!);
    const bytes = Buffer.from(chip.data.buffer, chip.data.byteOffset, chip.data.byteLength);
    if (!bytes.equals(reference[i]!)) wrong.push(`${point.id} ${JSON.stringify(point.window)}`);
  }
  return wrong;
}

const H5_ROWS_PY = `
import json, sys, h5py
with h5py.File(sys.argv[1], 'r') as f:
    out = {}
    for name, g in f.items():
        ids = [s for s in g['ids'].asstr()[()]]
        out[name] = {'rows': int(g['images'].shape[0]), 'ids': len(ids), 'distinct': len(set(ids)), 'windows': int(g['windows'].shape[0])}
print(json.dumps(out))
`;

/** Per HDF5 group, as h5py reads the file: image rows, ids, distinct ids, window rows. */
export async function h5Rows(file: string): Promise<Record<string, { rows: number; ids: number; distinct: number; windows: number }>> {
  const { stdout } = await run('python3', ['-c', H5_ROWS_PY, file]);
  return JSON.parse(stdout);
}
