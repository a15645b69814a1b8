/**
 * A retried ingest chunk resumes from its last heartbeat: the windows it already posted are not planned, labelled or
 * posted again. Posts are idempotent, so a chunk that restarted from the top would give the same catalog; this test
 * runs the real activity (real catalog, real image and labels) with the heartbeat a previous attempt left, and
 * checks that only the rest of the chunk is done.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../activities/index.js';
import type { IngestChunkResult } from '../activities/types.js';
import { ingestSpec } from '../client/ingest-options.js';
import { datapointId } from '../domain/datapoints/id.js';
import { openImage } from '../domain/imagery/index.js';
import { windowRange } from '../domain/windows/index.js';
import { openServices, type Services } from '../runtime/services.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { OLINDA } from './support/stack.js';

let db: TestDatabase;
let dataDir: string;
let services: Services;
beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'veda-resume-'));
  services = await openServices({ databaseUrl: db.url, dataDir, s3: { forcePathStyle: false } });
});
afterAll(async () => {
  await services?.close();
  await db?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('a retried ingest chunk', () => {
  it('starts at the window its last heartbeat names and keeps the counts it carried', async () => {
    const { catalog } = services;
    const dataset = await catalog.createDataset({ name: 'resume', mlType: 'classification', tileSize: [32, 32], classes: OLINDA.classes, userId: 'alice' });
    const spec = ingestSpec(dataset, { image: OLINDA.image, labels: OLINDA.labels, count: 200, seed: 11 });
    const activities = createActivities(services);
    await new MockActivityEnvironment().run(activities.prepareIngest, spec);

    // The first attempt posted windows 0-63 of the chunk 0-127 and heartbeat { next: 64 } before it died.
    const carried: IngestChunkResult = { windows: 64, posted: 64, skipped: 0, extent: [0, 0, 32, 32] };
    const retry = new MockActivityEnvironment({ heartbeatDetails: { next: 64, result: carried } });
    const result = await retry.run(activities.ingestChunk, { spec, start: 0, end: 128 });

    expect(result).toMatchObject({ windows: 128, posted: 128, skipped: 0 });
    const image = await openImage(OLINDA.image);
    const planned = windowRange(image.info, spec.plan, spec.groups, 0, 128);
    await image.close();
    const ids = (w: (typeof planned)[number]) => datapointId(dataset.id, spec.image, w, w.group);
    const stored = new Set((await catalog.listDatapoints(dataset.id, { offset: 0, limit: 1000 })).map((p) => p.id));
    // Only the windows after the heartbeat were posted by this attempt: 64-127 are there, 0-63 were skipped.
    expect(stored.size).toBe(64);
    expect(planned.slice(64).every((w) => stored.has(ids(w)))).toBe(true);
    expect(planned.slice(0, 64).some((w) => stored.has(ids(w)))).toBe(false);
  });
});
