/**
 * Workers with no shared disk: two `veda worker`s with different VEDA_DATA_DIRs, sharing only a Temporal server,
 * PostgreSQL and an S3 store (VEDA_STORE=s3://..., a real S3-compatible server started here), split an ingest +
 * cache + batch of an image and labels read from s3://, and `veda batch --out` on a third machine's data dir
 * fetches a file h5py reads. It holds exactly what one worker produces from the same files on local disk.
 */
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { samplesWithH5py, summarizeWithH5py } from './support/h5py.js';
import { startPlainTemporal, type PlainTemporal } from './support/plain-temporal.js';
import { runVedaJson, startVedaWorker, type Background } from './support/processes.js';
import { startS3Server, type S3Server } from './support/s3-server.js';
import { OLINDA } from './support/stack.js';

const BUCKET = 'veda-shared';
const IMAGE = `s3://${BUCKET}/inputs/L7_ETMs.tif`;
const LABELS = `s3://${BUCKET}/inputs/landcover.geojson`;

let temporal: PlainTemporal;
let s3: S3Server;
let db: TestDatabase;
let tmp: string;
let client: Client;
const workers: Background[] = [];

beforeAll(async () => {
  [temporal, s3, db] = await Promise.all([startPlainTemporal(), startS3Server(), createTestDatabase()]);
  tmp = await mkdtemp(path.join(os.tmpdir(), 'veda-no-shared-disk-'));
  await s3.createBucket(BUCKET);
  for (const [uri, file] of [[IMAGE, OLINDA.image], [LABELS, OLINDA.labels]] as const) {
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: uri.slice(`s3://${BUCKET}/`.length), Body: await readFile(file) }));
  }
  client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
}, 180_000);

afterAll(async () => {
  for (const w of workers) await w.stop();
  await client?.connection.close();
  await temporal?.stop();
  await s3?.stop();
  await db?.drop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** The environment of one "machine": its own data dir, the shared servers, the given store and task queue. */
function machine(name: string, store: string, taskQueue: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...s3.env,
    TEMPORAL_ADDRESS: temporal.address,
    DATABASE_URL: db.url,
    VEDA_DATA_DIR: path.join(tmp, name),
    VEDA_STORE: store,
    VEDA_TASK_QUEUE: taskQueue,
    VEDA_USER: 'alice',
    VEDA_WORKER_ACTIVITIES: '1',
    VEDA_CHUNK_PARALLELISM: '4',
    VEDA_LOG_LEVEL: 'ERROR',
  };
}

/** Worker identities that ran activities of a workflow, from its history. */
async function activityWorkers(workflowId: string): Promise<Set<string>> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return new Set((history.events ?? []).flatMap((e) => (e.activityTaskStartedEventAttributes?.identity ? [e.activityTaskStartedEventAttributes.identity] : [])));
}

interface RunOutput {
  workflowId: string;
  progress: { stage: string; groups: Record<string, number> };
}

/** create + ingest --wait + batch --out, as a user on the client machine; returns the fetched file and run ids. */
async function buildDataset(env: NodeJS.ProcessEnv, image: string, labels: string, out: string) {
  const created = await runVedaJson<{ id: string }>(
    ['create', '--name', 'olinda', '--ml-type', 'segmentation', '--tile-size', '32,32', '--classes', OLINDA.classes.join(',')],
    env,
  );
  expect(created.code, created.stderr).toBe(0);
  const id = created.json.id;
  const ingest = await runVedaJson<RunOutput>(['ingest', id, '--image', image, '--labels', labels, '--count', '600', '--seed', '5', '--wait'], env);
  expect(ingest.code, ingest.stdout + ingest.stderr).toBe(0);
  expect(ingest.json.progress).toMatchObject({ stage: 'done', groups: { train: 600 } });
  const batch = await runVedaJson<{ workflowId: string; path: string; uri: string; samples: number }>(
    ['batch', id, '--out', out, '--seed', '1'],
    env,
  );
  expect(batch.code, batch.stdout + batch.stderr).toBe(0);
  return { id, ingest: ingest.json, batch: batch.json };
}

describe('two workers with separate data dirs, an S3 store and s3:// inputs', () => {
  let shared: Awaited<ReturnType<typeof buildDataset>>;
  const out = () => path.join(tmp, 'client', 'exports', 'olinda.h5');

  beforeAll(async () => {
    const queue = `veda-two-${randomBytes(3).toString('hex')}`;
    const store = `s3://${BUCKET}/two-workers`;
    workers.push(...(await Promise.all([startVedaWorker(machine('worker-a', store, queue)), startVedaWorker(machine('worker-b', store, queue))])));
    shared = await buildDataset(machine('client', store, queue), IMAGE, LABELS, out());
  }, 400_000);

  it('split the ingest, cache and batch between them', async () => {
    expect((await activityWorkers(shared.ingest.workflowId)).size).toBe(2);
  });

  it('stored chips and batches in S3, none on either worker\'s disk', async () => {
    for (const name of ['worker-a', 'worker-b']) {
      expect(existsSync(path.join(tmp, name, 'chips')), name).toBe(false);
      expect(existsSync(path.join(tmp, name, 'batches')), name).toBe(false);
    }
    expect(shared.batch.uri).toMatch(new RegExp(`^s3://${BUCKET}/two-workers/batches/${shared.id}/veda-${shared.id}-batch-1\\.[0-9a-f-]{8}\\.h5$`));
    expect(shared.batch.path).toBe(out());
    expect(shared.batch.samples).toBe(600);
  });

  it('veda batch --out fetched a file h5py reads', async () => {
    const h5 = await summarizeWithH5py(out());
    expect(h5.groups.train!.images!.shape).toEqual([600, 6, 32, 32]);
    expect(h5.groups.train!.sources!.strings!.every((s) => s === IMAGE)).toBe(true);
  });

  it('holds exactly what one worker makes from the same image and labels on local disk', async () => {
    const queue = `veda-one-${randomBytes(3).toString('hex')}`;
    const store = `s3://${BUCKET}/one-worker`;
    workers.push(await startVedaWorker(machine('worker-c', store, queue)));
    const localOut = path.join(tmp, 'client', 'exports', 'one.h5');
    const single = await buildDataset(machine('client', store, queue), OLINDA.image, OLINDA.labels, localOut);
    expect((await activityWorkers(single.ingest.workflowId)).size).toBe(1);
    const [two, one] = await Promise.all([samplesWithH5py(out()), samplesWithH5py(localOut)]);
    expect(two.train).toHaveLength(600);
    expect(two).toEqual(one);
  }, 400_000);
});
