/**
 * veda against a Temporal server it did not start: a plain `temporal server start-dev` has none of veda's search
 * attributes. Starting a workflow there says why it fails and how to fix it; a `veda worker` registers them
 * (idempotently), after which `veda create` + `veda ingest --wait` succeed. Where registering is refused, the
 * error names the missing attributes and the command that registers them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SetupError } from '../domain/errors.js';
import { ensureSearchAttributes, type SearchAttributeAdmin } from '../temporal/register-search-attributes.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { startPlainTemporal, type PlainTemporal } from './support/plain-temporal.js';
import { runVedaJson, startVedaWorker, type Background } from './support/processes.js';
import { OLINDA } from './support/stack.js';

const VEDA_ATTRIBUTES = ['VedaDatasetId', 'VedaMlType', 'VedaStage'];

let temporal: PlainTemporal;
let db: TestDatabase;
let dataDir: string;
let env: NodeJS.ProcessEnv;
const workers: Background[] = [];

beforeAll(async () => {
  [temporal, db] = await Promise.all([startPlainTemporal(), createTestDatabase()]);
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'veda-any-temporal-'));
  env = {
    ...process.env,
    TEMPORAL_ADDRESS: temporal.address,
    DATABASE_URL: db.url,
    VEDA_DATA_DIR: dataDir,
    VEDA_USER: 'alice',
    VEDA_LOG_LEVEL: 'ERROR',
  };
}, 120_000);

afterAll(async () => {
  for (const w of workers) await w.stop();
  await temporal?.stop();
  await db?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('a plain temporal server start-dev', () => {
  let id: string;

  it('has none of the search attributes; a start says which are missing and how to register them (exit 5)', async () => {
    expect(await temporal.customAttributes()).not.toContain('VedaDatasetId');
    const created = await runVedaJson<{ id: string }>(
      ['create', '--name', 'plain', '--ml-type', 'classification', '--tile-size', '32,32', '--classes', OLINDA.classes.join(',')],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    id = created.json.id;
    const refused = await runVedaJson<{ error: { kind: string; message: string } }>(
      ['ingest', id, '--image', OLINDA.image, '--labels', OLINDA.labels, '--count', '4'],
      env,
    );
    expect(refused.code).toBe(5);
    expect(refused.json.error.kind).toBe('SetupError');
    // The real cause from the server, not only "Failed to start Workflow", and the command that fixes it.
    expect(refused.json.error.message).toMatch(/Failed to start Workflow: .*VedaDatasetId/);
    expect(refused.json.error.message).toContain('temporal operator search-attribute create --namespace default --name VedaDatasetId --name VedaMlType --name VedaStage --type Keyword');
  }, 120_000);

  it('a veda worker registers them; veda create + veda ingest --wait then succeed', async () => {
    workers.push(await startVedaWorker(env));
    expect(workers[0]!.stderr()).toContain('registered search attributes VedaDatasetId, VedaMlType, VedaStage');
    expect(await temporal.customAttributes()).toEqual(expect.arrayContaining(VEDA_ATTRIBUTES));
    // A second worker finds them there and registers nothing (idempotent).
    workers.push(await startVedaWorker(env));
    expect(workers[1]!.stderr()).not.toContain('registered search attributes');

    const created = await runVedaJson<{ id: string }>(
      ['create', '--name', 'plain-2', '--ml-type', 'classification', '--tile-size', '32,32', '--classes', OLINDA.classes.join(',')],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    const ingest = await runVedaJson<{ progress: { stage: string; total: number; groups: Record<string, number> } }>(
      ['ingest', created.json.id, '--image', OLINDA.image, '--labels', OLINDA.labels, '--count', '20', '--seed', '3', '--wait'],
      env,
    );
    expect(ingest.code, ingest.stdout + ingest.stderr).toBe(0);
    expect(ingest.json.progress).toMatchObject({ stage: 'done', groups: { train: 20 } });
    const shown = await runVedaJson<{ total: number; percent_cached: number }>(['show', created.json.id], env);
    expect(shown.json).toMatchObject({ total: 20, percent_cached: 100 });
    // The dataset refused earlier ingests now too.
    const again = await runVedaJson<{ progress: { stage: string } }>(
      ['ingest', id, '--image', OLINDA.image, '--labels', OLINDA.labels, '--count', '4', '--wait'],
      env,
    );
    expect(again.code, again.stdout + again.stderr).toBe(0);
  }, 240_000);
});

describe('where registering is not allowed', () => {
  it('the error names the missing attributes and the commands that register them', async () => {
    const refusing: SearchAttributeAdmin = {
      listSearchAttributes: async () => ({ customAttributes: { VedaStage: 2 } }),
      addSearchAttributes: async () => {
        throw new Error('7 PERMISSION_DENIED: Request unauthorized.');
      },
    };
    const failure = ensureSearchAttributes(refusing, 'prod.a1b2c');
    await expect(failure).rejects.toThrow(SetupError);
    await expect(failure).rejects.toThrow(
      'namespace prod.a1b2c: search attributes VedaDatasetId, VedaMlType are missing and could not be registered (7 PERMISSION_DENIED: Request unauthorized.)',
    );
    await expect(failure).rejects.toThrow('temporal operator search-attribute create --namespace prod.a1b2c --name VedaDatasetId --name VedaMlType --type Keyword');
    await expect(failure).rejects.toThrow('tcld namespace search-attributes add --namespace prod.a1b2c --search-attribute VedaDatasetId=Keyword --search-attribute VedaMlType=Keyword');
  });
});
