/**
 * Batch rebuilds on Temporal Schedules, against the real Temporal server and real PostgreSQL: a triggered schedule
 * runs the batch workflow, each run writes a new versioned file and makes `latest.h5` that file; the schedule's life cycle
 * (pause, unpause, describe, list, delete) through the API and the CLI; ownership and bad input.
 */
import { execFile } from 'node:child_process';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VedaCollection } from '../client/collection.js';
import type { ScheduleSummary } from '../client/schedules.js';
import type { DatasetSchedules as BatchSchedules } from '../client/backend.js';
import { ForbiddenError, InvalidInputError, NotFoundError } from '../domain/errors.js';
import { DATASET_ID } from '../workflows/search-attributes.js';
import { summarizeWithH5py } from './support/h5py.js';
import { OLINDA, startTestStack, type TestStack } from './support/stack.js';

const run = promisify(execFile);

let stack: TestStack;
let coll: VedaCollection;
beforeAll(async () => {
  stack = await startTestStack({ user: 'alice' });
  coll = await stack.veda().create({ name: 'scheduled', mlType: 'classification', tileSize: [32, 32], classes: OLINDA.classes });
  await (await coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, count: 12, seed: 4 })).result();
});
afterAll(async () => {
  await stack?.teardown();
});

/** Polls until `read` gives a value that passes `done` (schedule actions and visibility are asynchronous). */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await sleep(100);
  }
}

/** Triggers the schedule and waits for the run it starts to finish; returns that run's batch file. */
async function triggerAndWait(schedules: BatchSchedules, name: string): Promise<{ workflowId: string; file: string }> {
  const runsBefore = (await schedules.describe(name)).runs;
  await schedules.trigger(name);
  const described = await until(() => schedules.describe(name), (s) => s.runs > runsBefore && s.recentRuns.length > 0, 'the triggered run');
  const { workflowId, runId } = described.recentRuns.at(-1)!;
  const handle = stack.client.workflow.getHandle(workflowId, runId);
  const final = (await handle.result()) as { stage: string; output: string };
  expect(final.stage).toBe('done');
  return { workflowId, file: final.output };
}

async function cli(...args: string[]): Promise<{ code: number; json: unknown }> {
  const result = await run(process.execPath, ['bin/veda.js', ...args, '--json'], { env: stack.childEnv }).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (err: { code: number; stdout: string }) => ({ code: err.code, stdout: err.stdout }),
  );
  return { code: result.code, json: JSON.parse(result.stdout) };
}

describe('a batch schedule', () => {
  it('rebuilds on trigger: each run writes a new versioned file and makes latest.h5 that file', async () => {
    const schedules = coll.schedules;
    const created = await schedules.create({ name: 'hourly', every: '1h', size: 8, seed: 2 });
    expect(created).toMatchObject({ id: `veda-${coll.id}-batches-hourly`, datasetId: coll.id, paused: false, runs: 0, spec: 'every 1h' });
    const next = Date.parse(created.nextRuns[0]!);
    expect(next).toBeGreaterThan(Date.now());
    expect(next).toBeLessThanOrEqual(Date.now() + 3600_000);

    const latest = stack.services.batches.localPath(`${coll.id}/latest.h5`)!;
    const first = await triggerAndWait(schedules, 'hourly');
    expect(first.workflowId.startsWith(`veda-${coll.id}-batch-scheduled`)).toBe(true);
    expect(path.dirname(first.file)).toBe(path.dirname(latest));
    expect((await stat(latest)).ino).toBe((await stat(first.file)).ino); // latest.h5 is that file
    const h5 = await summarizeWithH5py(latest);
    expect(h5.groups.train!.images!.shape).toEqual([8, 6, 32, 32]);
    expect(h5.attrs.seed).toBe(2);

    // The run is found through the dataset's search attribute, like the Web UI finds it.
    await until(
      async () => {
        const ids: string[] = [];
        for await (const w of stack.client.workflow.list({ query: `${DATASET_ID.name} = "${coll.id}" AND WorkflowType = "batchWorkflow"` })) ids.push(w.workflowId);
        return ids;
      },
      (ids) => ids.includes(first.workflowId),
      'the scheduled run in the visibility store',
    );

    const second = await triggerAndWait(schedules, 'hourly');
    expect(second.file).not.toBe(first.file);
    expect((await stat(latest)).ino).toBe((await stat(second.file)).ino);
    await access(first.file); // the earlier version stays
    expect((await summarizeWithH5py(second.file)).groups.train!.ids!.strings).toEqual(h5.groups.train!.ids!.strings);
    expect((await schedules.describe('hourly')).runs).toBe(2);
    await schedules.delete('hourly');
  });

  it('pauses, unpauses, describes, lists and deletes', async () => {
    const schedules = coll.schedules;
    await schedules.create({ name: 'nightly', cron: '0 3 * * *' });
    await schedules.create({ name: 'weekly', every: '7d', split: [80, 20] });

    await schedules.pause('nightly');
    expect(await schedules.describe('nightly')).toMatchObject({ paused: true, note: 'paused with veda' });
    await schedules.unpause('nightly');
    expect((await schedules.describe('nightly')).paused).toBe(false);
    const nightly = await schedules.describe('nightly');
    expect(nightly.spec).toBe('cron 0 3 * * *');
    expect(new Date(nightly.nextRuns[0]!).getUTCHours()).toBe(3);

    const listed = await until(() => schedules.list(), (all) => all.length === 2, 'both schedules listed');
    expect(listed.map((s: ScheduleSummary) => s.id).sort()).toEqual([schedules.id('nightly'), schedules.id('weekly')]);

    await schedules.delete('weekly');
    await expect(schedules.describe('weekly')).rejects.toBeInstanceOf(NotFoundError);
    await expect(schedules.trigger('weekly')).rejects.toBeInstanceOf(NotFoundError);
    await schedules.delete('nightly');
    await until(() => schedules.list(), (all) => all.length === 0, 'no schedules listed');
  });

  it('works from the CLI with --json', async () => {
    const created = await cli('schedule', 'create', coll.id, '--every', '24h', '--name', 'cli', '--size', '4', '--split', '50,50');
    expect(created).toMatchObject({ code: 0, json: { id: `veda-${coll.id}-batches-cli`, paused: false, spec: 'every 24h' } });
    expect(await cli('schedule', 'pause', coll.id, '--name', 'cli')).toEqual({ code: 0, json: { id: `veda-${coll.id}-batches-cli`, datasetId: coll.id, action: 'pause' } });
    expect(await cli('schedule', 'describe', coll.id, '--name', 'cli')).toMatchObject({ code: 0, json: { paused: true } });
    const bad = await cli('schedule', 'create', coll.id, '--every', 'daily');
    expect(bad).toMatchObject({ code: 2, json: { error: { kind: 'InvalidInputError' } } });
    expect((bad.json as { error: { message: string } }).error.message).toContain('daily');
    expect(await cli('schedule', 'delete', coll.id, '--name', 'cli')).toMatchObject({ code: 0 });
  });
});

describe('schedule rules', () => {
  it('lets only the owner schedule batches', async () => {
    await coll.publish();
    try {
      const seen = await stack.veda('bob').fromId(coll.id);
      expect(() => seen.schedules).toThrow(ForbiddenError);
    } finally {
      await coll.unpublish();
    }
  });

  it('refuses a bad interval, a bad cron expression, both or neither, and a taken name', async () => {
    const schedules = coll.schedules;
    await expect(schedules.create({ every: 'soon' })).rejects.toThrow(InvalidInputError);
    await expect(schedules.create({ every: '0h' })).rejects.toThrow(/--every 0h/);
    await expect(schedules.create({ cron: 'at dawn' })).rejects.toThrow(InvalidInputError);
    await expect(schedules.create({ every: '1h', cron: '0 3 * * *' })).rejects.toThrow(InvalidInputError);
    await expect(schedules.create({})).rejects.toThrow(InvalidInputError);
    await expect(schedules.create({ every: '1h', size: 0 })).rejects.toThrow(InvalidInputError);
    await expect(schedules.create({ every: '1h', name: 'no spaces' })).rejects.toThrow(InvalidInputError);

    await schedules.create({ name: 'once', every: '1h' });
    try {
      await expect(schedules.create({ name: 'once', every: '2h' })).rejects.toThrow(/already exists/);
    } finally {
      await schedules.delete('once');
    }
  });
});
