/**
 * The `veda` CLI end to end, run as child processes (`node bin/veda.js ...`): every command's `--json` contract,
 * readable human output with progress bars, exit codes by error type, `veda dev` serving other processes until
 * Ctrl-C, and the help listing the flags.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatasetDoc } from '../domain/catalog/dataset-doc.js';
import type { Progress } from '../workflows/progress.js';
import { freePort, refusesConnections, spawnDev, unconfiguredEnv, veda, vedaJson, type DevProcess } from './support/cli.js';
import { gdalInfo } from './support/gdal.js';
import { OLINDA, startTestStack, type TestStack } from './support/stack.js';

interface JsonError {
  error: { kind: string; message: string };
}
interface RunOutput {
  workflowId: string;
  uiUrl: string | null;
  progress: Progress;
}

/** The dataset document's fields, as the issue lists them (the pyveda document plus links). */
const DOC_FIELDS = ['id', 'name', 'classes', 'nclasses', 'mlType', 'count', 'bbox', 'shape', 'dtype', 'sensors', 'source',
  'userId', 'public', 'created_at', 'updated_at', 'percent_cached', 'links'];

let stack: TestStack;
let dev: DevProcess;
let earlyCommands: Promise<EarlyCommands>;

// `veda dev` boots (Temporal, PGlite, worker) while the test stack starts and the stack's tests run.
beforeAll(async () => {
  dev = await spawnDev();
  earlyCommands = commandsWhileDevStarts(dev);
  earlyCommands.catch(() => {}); // the dev test awaits it and reports the failure
  stack = await startTestStack({ user: 'alice' });
});

interface EarlyCommands {
  launchedBeforeReady: boolean;
  created: { code: number | null; json: DatasetDoc; stderr: string };
  ingest: { code: number | null; json: RunOutput; stderr: string };
}

/** A user's first commands in another terminal, typed the moment `veda dev` has claimed its data directory. */
async function commandsWhileDevStarts(dev: DevProcess): Promise<EarlyCommands> {
  let ready = false;
  void dev.ready.then(() => (ready = true), () => {});
  const claim = path.join(dev.dataDir, 'catalog.owner.json');
  for (const deadline = Date.now() + 60_000; !existsSync(claim); await new Promise((resolve) => setTimeout(resolve, 10))) {
    if (Date.now() > deadline) throw new Error(`veda dev did not claim ${dev.dataDir} within 60 s`);
  }
  const launchedBeforeReady = !ready;
  const only = { VEDA_DATA_DIR: dev.dataDir };
  const created = await vedaJson<DatasetDoc>(['create', '--name', 'early', '--ml-type', 'segmentation', '--tile-size', '32', '--classes', OLINDA.classes.join(',')], only);
  const ingest = await vedaJson<RunOutput>(['ingest', created.json.id, '--image', OLINDA.image, '--labels', OLINDA.labels, '--count', '4', '--wait'], only);
  return { launchedBeforeReady, created, ingest };
}
afterAll(async () => {
  await dev?.stop();
  await stack?.teardown();
});

describe('veda commands against a running stack', () => {
  let env: NodeJS.ProcessEnv;
  let id: string;
  let finalIngest: RunOutput;

  beforeAll(() => {
    env = stack.childEnv;
  });

  /** Datapoints of a dataset in posting order, read from the catalog database directly. */
  async function catalogRows(datasetId: string): Promise<{ groups: Record<string, number>; cached: number; ids: string[] }> {
    const client = new pg.Client({ connectionString: stack.catalogUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ id: string; grp: string; chip_key: string | null }>(
        'select id, grp, chip_key from datapoints where dataset_id = $1 order by seq', [datasetId]);
      const groups: Record<string, number> = {};
      for (const r of rows) groups[r.grp] = (groups[r.grp] ?? 0) + 1;
      return { groups, cached: rows.filter((r) => r.chip_key).length, ids: rows.map((r) => r.id) };
    } finally {
      await client.end();
    }
  }

  it('create --json prints the dataset document; ingest --wait --json follows the workflow to exact, cached counts', async () => {
    const created = await vedaJson<DatasetDoc>(
      ['create', '--name', 'CLI Olinda', '--ml-type', 'classification', '--tile-size', '64,64', '--classes', OLINDA.classes.join(',')], env);
    expect(created.code).toBe(0);
    for (const field of DOC_FIELDS) expect(created.json).toHaveProperty(field);
    expect(created.json).toMatchObject({ name: 'CLI Olinda', mlType: 'classification', classes: OLINDA.classes, nclasses: 3,
      count: {}, userId: 'alice', public: false, percent_cached: 0 });
    id = created.json.id;

    const ingest = await vedaJson<RunOutput>(['ingest', id, '--image', OLINDA.image, '--labels', OLINDA.labels,
      '--count', '12', '--seed', '3', '--group', 'train', '--wait'], env);
    expect(ingest.code).toBe(0);
    expect(ingest.stderr).not.toMatch(/posting datapoints/); // no bars with --json
    expect(ingest.json.workflowId).toBe(`veda-${id}-ingest-1`);
    expect(ingest.json.progress).toMatchObject({ kind: 'ingest', datasetId: id, stage: 'done', groups: { train: 12 }, posted: 12,
      percentCached: 100, errors: [] });
    const rows = await catalogRows(id);
    expect(rows.groups).toEqual({ train: 12 });
    expect(rows.cached).toBe(12);
    finalIngest = ingest.json;
  });

  it.concurrent('status, show, slice and search answer in JSON', async ({ expect }) => {
    const info = await gdalInfo(OLINDA.image);
    const bbox = (b: number[]) => b.join(',');
    const [status, show, first5, empty, found, wrongName, wrongType, outside] = await Promise.all([
      vedaJson<RunOutput & { datasetId: string }>(['status', id], env),
      vedaJson<DatasetDoc>(['show', id], env),
      vedaJson<Array<{ id: string; group: string; y: number[]; chipKey: string | null }>>(['slice', id, '0', '5'], env),
      vedaJson<unknown[]>(['slice', id, '3', '3'], env),
      vedaJson<DatasetDoc[]>(['search', '--name', 'cli olinda', '--ml-type', 'classification', '--bbox', bbox([-35.5, -8.5, -34.5, -7.5])], env),
      vedaJson<DatasetDoc[]>(['search', '--name', 'recife'], env),
      vedaJson<DatasetDoc[]>(['search', '--ml-type', 'segmentation'], env),
      vedaJson<DatasetDoc[]>(['search', '--bbox', bbox([10, 40, 11, 41])], env),
    ]);
    for (const r of [status, show, first5, empty, found, wrongName, wrongType, outside]) expect(r.code).toBe(0);

    // The workflow's own state (posted, ignoredFeatures, ...), not a catalog count.
    expect(status.json).toMatchObject({ datasetId: id, workflowId: finalIngest.workflowId });
    expect(status.json.progress).toEqual(finalIngest.progress);

    for (const field of DOC_FIELDS) expect(show.json).toHaveProperty(field);
    expect(show.json).toMatchObject({ id, count: { train: 12 }, percent_cached: 100, source: OLINDA.image,
      shape: [info.bands.length, 64, 64], dtype: info.bands[0]!.type === 'Byte' ? 'uint8' : info.bands[0]!.type.toLowerCase() });
    expect(show.json.bbox).toHaveLength(4);

    // Half-open: [0, 5) is five rows in posting order, [3, 3) none.
    const { ids } = await catalogRows(id);
    expect(first5.json.map((r) => r.id)).toEqual(ids.slice(0, 5));
    expect(empty.json).toEqual([]);
    for (const row of first5.json) {
      expect(row.group).toBe('train');
      expect(row.y).toHaveLength(OLINDA.classes.length);
      expect(row.chipKey).toBeTruthy();
    }

    expect(found.json.map((d) => d.id)).toEqual([id]);
    expect(wrongName.json).toEqual([]);
    expect(wrongType.json).toEqual([]);
    expect(outside.json).toEqual([]);
  });

  it.concurrent('exits 3 on an unknown dataset and 2 on bad options, with a clear message (JSON on stdout with --json)', async ({ expect }) => {
    const create = ['create', '--name', 'x', '--classes', 'a,b'];
    const [unknown, badTile, badType, badSlice] = await Promise.all([
      vedaJson<JsonError>(['show', 'nosuchdataset'], env),
      vedaJson<JsonError>([...create, '--ml-type', 'classification', '--tile-size', '0,64'], env),
      veda([...create, '--ml-type', 'regression', '--tile-size', '64'], env),
      vedaJson<JsonError>(['slice', id, '5', '2'], env),
    ]);
    expect(unknown.code).toBe(3);
    expect(unknown.json.error).toEqual({ kind: 'NotFoundError', message: 'dataset nosuchdataset not found' });
    expect(unknown.stderr.trim()).toBe('veda: dataset nosuchdataset not found');

    expect(badTile.code).toBe(2);
    expect(badTile.json.error.kind).toBe('InvalidInputError');
    expect(badTile.json.error.message).toMatch(/--tile-size .*'0,64' is invalid/);
    expect(badType.code).toBe(2);
    expect(badType.stdout).toBe('');
    expect(badType.stderr).toMatch(/--ml-type .*'regression' is invalid.*classification, object_detection, segmentation/);
    expect(badSlice.code).toBe(2);
    expect(badSlice.json.error.kind).toBe('InvalidInputError');
    expect(badSlice.json.error.message).toMatch(/slice\(5, 2\)/);
  });

  it('prints readable output without --json, and ingest --wait draws progress bars on stderr', async () => {
    // Train's 12 windows reach every cell of this small scene: without --allow-overlap veda refuses to put test there.
    const ingest = await veda(['ingest', id, '--image', OLINDA.image, '--labels', OLINDA.labels, '--count', '40', '--seed', '4',
      '--group', 'test', '--allow-overlap', '--wait'], env);
    expect(ingest.code).toBe(0);
    expect(ingest.stderr).toContain(`workflow veda-${id}-ingest-2`);
    // Posting stores the chips of the windows it posts: its bar says how much is cached, no cache stage is left.
    expect(ingest.stderr).toMatch(/posting datapoints\s*\|[█░]+\| 40\/40 \(100% cached\)/);
    expect(ingest.stderr).not.toContain('caching chips');
    const summary = `ingest ${id}: done 40/40 (100%); groups test 40, train 12; cached 100%`;
    expect(ingest.stdout.trim()).toBe(`${summary} (seed 4)`); // the seed each ingest used is always printed
    expect((await catalogRows(id)).groups).toEqual({ train: 12, test: 40 });

    const [status, slice, search] = await Promise.all([
      veda(['status', id], env),
      veda(['slice', id, '0', '2'], env),
      veda(['search', '--name', 'cli olinda'], env),
    ]);
    expect(status.code).toBe(0);
    expect(status.stdout.trim()).toBe(`veda-${id}-ingest-2 completed: ${summary}`);
    const lines = slice.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).toMatch(/^[0-9a-f]+ train \[\d+,\d+,64,64\] cached y=\[[01],[01],[01]\]$/);
    expect(search.stdout.trim()).toBe(`${id}  CLI Olinda  classification  52 datapoints  private  alice`);
  });

  it.concurrent('publishes and unpublishes for the owner only; another user gets not found (private) or forbidden (public)', async ({ expect }) => {
    const bobPrivate = await vedaJson<JsonError>(['--user', 'bob', 'publish', id], env);
    expect(bobPrivate.code).toBe(3);
    expect(bobPrivate.json.error).toEqual({ kind: 'NotFoundError', message: `dataset ${id} not found` });

    const published = await vedaJson<DatasetDoc>(['publish', id], env);
    expect(published.code).toBe(0);
    expect(published.json.public).toBe(true);

    const [bobPublic, bobShow] = await Promise.all([
      vedaJson<JsonError>(['--user', 'bob', 'publish', id], env),
      vedaJson<DatasetDoc>(['--user', 'bob', 'show', id], env),
    ]);
    expect(bobPublic.code).toBe(4);
    expect(bobPublic.json.error.kind).toBe('ForbiddenError');
    expect(bobPublic.stderr).toMatch(new RegExp(`^veda: bob may not publish dataset ${id}`));
    expect(bobShow.code).toBe(0);
    expect(bobShow.json.userId).toBe('alice');

    const unpublished = await veda(['unpublish', id], env);
    expect(unpublished.code).toBe(0);
    expect(unpublished.stdout.trim()).toBe(`${id} is private`);
  });

  it.concurrent('ingest --wait of a missing image fails the workflow with a message naming the file', async ({ expect }) => {
    const missing = path.join(os.tmpdir(), 'veda-no-such-image.tif');
    const failed = await vedaJson<JsonError>(['ingest', id, '--image', missing, '--labels', OLINDA.labels, '--count', '2', '--wait'], env);
    expect([2, 3]).toContain(failed.code);
    expect(failed.json.error.message).toMatch(new RegExp(`^workflow veda-${id}-ingest-3 failed: .*${missing}`));
    expect(failed.stderr).toContain(missing);
    expect((await catalogRows(id)).groups).toEqual({ train: 12, test: 40 });
    // `veda status` says how the latest run ended, in its exit code too.
    const status = await vedaJson<{ status: string; workflowId: string }>(['status', id], env);
    expect(status.code).toBe(11);
    expect(status.json).toMatchObject({ status: 'FAILED', workflowId: `veda-${id}-ingest-3` });
  });

  it('rm removes datapoints and their chips; unknown options and a bad rm are usage errors (exit 2)', async () => {
    const before = await catalogRows(id);
    const [a, b] = before.ids;
    const removed = await vedaJson<{ removed: number; requested: number }>(['rm', id, a!, b!, 'no-such-datapoint'], env);
    expect(removed.code).toBe(0);
    expect(removed.json).toMatchObject({ datasetId: id, requested: 3, removed: 2 });
    const after = await catalogRows(id);
    expect(after.ids).toEqual(before.ids.slice(2));
    expect(after.cached).toBe(before.cached - 2);
    const again = await veda(['rm', id, a!], env);
    expect(again.stdout.trim()).toBe(`removed 0 of 1 datapoint(s) from ${id} (the others were not in it)`);
    const bobRm = await vedaJson<JsonError>(['--user', 'bob', 'rm', id, before.ids[3]!], env);
    expect(bobRm.code).toBe(3); // private: bob cannot see it

    const [noIds, snake, binary] = await Promise.all([
      vedaJson<JsonError>(['rm', id], env),
      vedaJson<JsonError>(['ingest', id, '--image', OLINDA.image, '--labels', OLINDA.labels, '--count', '2', '--class_property', 'kind'], env),
      vedaJson<DatasetDoc>(['create', '--name', 'binary', '--ml-type', 'classification', '--tile-size', '32'], env),
    ]);
    expect(noIds.code).toBe(2);
    expect(snake.code).toBe(2);
    expect(snake.json.error.message).toMatch(/unknown option '--class_property'/);
    expect(binary.code).toBe(0);
    expect(binary.json).toMatchObject({ classes: ['class1'], nclasses: 1 });
    expect((await catalogRows(id)).ids).toEqual(before.ids.slice(2)); // the rejected ingest posted nothing
  });

  it('deletes the dataset for its owner', async () => {
    const deleted = await vedaJson<{ id: string; deleted: boolean }>(['delete', id], env);
    expect(deleted.code).toBe(0);
    expect(deleted.json).toEqual({ id, deleted: true });
    expect((await veda(['show', id], env)).code).toBe(3);
    expect((await catalogRows(id)).ids).toEqual([]);
  });
});

describe('veda dev', () => {
  it.concurrent('serves a Temporal server, its Web UI, the embedded catalog and a worker to other processes until Ctrl-C', async ({ expect }) => {
    const { dataDir, port, uiPort, child } = dev;
    const stdout = await dev.ready;
    const uiUrl = `http://127.0.0.1:${uiPort}`;
    expect(stdout).toContain(`veda dev: Temporal 127.0.0.1:${port} (namespace default)`);
    expect(stdout).toContain(`Web UI:   ${uiUrl}`);
    expect(stdout).toContain(`catalog:  embedded, ${dataDir}`);
    expect(existsSync(path.join(dataDir, 'dev.json'))).toBe(true);

    // Separate processes that know nothing but the data directory.
    const only = { VEDA_DATA_DIR: dataDir };
    const created = await vedaJson<DatasetDoc>(
      ['create', '--name', 'dev', '--ml-type', 'segmentation', '--tile-size', '32', '--classes', OLINDA.classes.join(',')], only);
    expect(created.code).toBe(0);
    const devId = created.json.id;
    const [ingest, ui] = await Promise.all([
      vedaJson<RunOutput>(['ingest', devId, '--image', OLINDA.image, '--labels', OLINDA.labels, '--count', '6', '--wait'], only),
      fetch(uiUrl),
    ]);
    expect(ui.status).toBe(200);
    expect(ingest.code).toBe(0);
    expect(ingest.json.uiUrl).toBe(`${uiUrl}/namespaces/default/workflows/veda-${devId}-ingest-1`);
    expect(ingest.json.progress).toMatchObject({ stage: 'done', groups: { train: 6 }, percentCached: 100 });
    const show = await vedaJson<DatasetDoc>(['show', devId], only);
    expect(show.code).toBe(0);
    expect(show.json).toMatchObject({ id: devId, count: { train: 6 }, percent_cached: 100, mlType: 'segmentation' });
    expect(show.json.links.workflows?.href).toContain(uiUrl);

    // Commands typed while it was still starting waited for it instead of being refused the catalog.
    const early = await earlyCommands;
    expect(early.launchedBeforeReady).toBe(true);
    expect(early.created.stderr).toBe('');
    expect(early.created.code).toBe(0);
    expect(early.ingest.stderr).toBe('');
    expect(early.ingest.code).toBe(0);
    expect(early.ingest.json.progress).toMatchObject({ stage: 'done', groups: { train: 4 }, percentCached: 100 });

    const stoppedAt = Date.now();
    child.kill('SIGINT');
    expect(await dev.exited).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
    expect(existsSync(path.join(dataDir, 'dev.json'))).toBe(false);
    expect(await refusesConnections(port)).toBe(true);
  });

  it.concurrent('veda worker with nothing configured says how to get a server', async ({ expect }) => {
    const worker = await veda(['worker'], unconfiguredEnv(path.join(os.tmpdir(), 'veda-cli-unconfigured')));
    expect(worker.code).toBe(5);
    expect(worker.stderr).toMatch(/TEMPORAL_ADDRESS/);
    expect(worker.stderr).toMatch(/veda dev/);
  });

  it.concurrent('veda worker and veda dev with TEMPORAL_ADDRESS where nothing answers say so, exit 5', async ({ expect }) => {
    const port = await freePort(); // nothing listens there
    const env = { ...unconfiguredEnv(path.join(os.tmpdir(), 'veda-cli-unreachable')), TEMPORAL_ADDRESS: `127.0.0.1:${port}` };
    const [worker, dev] = await Promise.all([veda(['worker'], env), veda(['dev', '--port', String(port)], env)]);
    for (const run of [worker, dev]) {
      expect(run.code).toBe(5);
      expect(run.stderr).toContain(`cannot reach the Temporal server at 127.0.0.1:${port}`);
      expect(run.stderr).toMatch(/veda dev/);
    }
    expect(dev.stderr).toContain('TEMPORAL_ADDRESS is set');
    expect(dev.stderr).toContain('--port and --ui-port are ignored');
  }, 60_000);

  it.concurrent('veda --help and veda ingest --help list the options of the contract', async ({ expect }) => {
    const [top, ingest] = await Promise.all([veda(['--help'], process.env), veda(['ingest', '--help'], process.env)]);
    for (const r of [top, ingest]) expect(r.code).toBe(0);
    for (const command of ['create', 'ingest', 'status', 'show', 'slice', 'rm', 'search', 'publish', 'unpublish', 'delete', 'dev', 'worker']) {
      expect(top.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    }
    for (const flag of ['--json', '--user']) expect(top.stdout).toContain(flag);
    for (const flag of ['--image', '--labels', '--class-property', '--windows', '--count', '--seed', '--group', '--wait', '--json', '--user']) {
      expect(ingest.stdout).toContain(flag);
    }
  });
});
