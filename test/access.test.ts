/**
 * Who may do what, with two users on the real stack, through every client call and every CLI command: the owner
 * may do everything; another user may only read a public dataset (show, count, slice, preview, status, search,
 * and build a batch of it once it is cached) and cannot see a private one at all. No workflow input from a client
 * makes a worker write outside veda's storage.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VedaCollection } from '../client/collection.js';
import type { Veda } from '../client/veda.js';
import { ForbiddenError, InvalidInputError, NotFoundError } from '../domain/errors.js';
import { makeTempDir, removeTempDir } from './support/gdal.js';
import { OLINDA, startTestStack, type TestStack } from './support/stack.js';

const execFileAsync = promisify(execFile);
const BIN = path.resolve('bin/veda.js');

let stack: TestStack;
let tmp: string;
let alice: Veda;
let bob: Veda;
/** Alice's datasets: a private one, a public cached one, a public one not cached yet. */
let secret: VedaCollection;
let shared: VedaCollection;
let uncached: VedaCollection;

async function dataset(name: string, options: { public: boolean; cache: boolean }): Promise<VedaCollection> {
  const coll = await alice.create({ name, mlType: 'classification', tileSize: [64, 64], classes: OLINDA.classes, public: options.public });
  await (await coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, count: 6, cache: options.cache })).result();
  return coll;
}

beforeAll(async () => {
  [stack, tmp] = await Promise.all([startTestStack({ user: 'alice' }), makeTempDir('veda-access-')]);
  alice = stack.veda('alice');
  bob = stack.veda('bob');
  [secret, shared, uncached] = await Promise.all([
    dataset('secret', { public: false, cache: true }),
    dataset('shared', { public: true, cache: true }),
    dataset('uncached', { public: true, cache: false }),
  ]);
}, 120_000);
afterAll(async () => {
  await stack?.teardown();
  if (tmp) await removeTempDir(tmp);
});

describe('the client API, as another user', () => {
  it('cannot see a private dataset: fromId, search and latestRun say not found', async () => {
    await expect(bob.fromId(secret.id)).rejects.toThrow(NotFoundError);
    await expect(bob.fromDoc({ id: secret.id })).rejects.toThrow(NotFoundError);
    await expect(bob.latestRun(secret.id)).rejects.toThrow(new NotFoundError(`dataset ${secret.id} not found`));
    const ids = (await bob.search({})).map((c) => c.id);
    expect(ids).toContain(shared.id);
    expect(ids).not.toContain(secret.id);
    expect((await bob.search({ userId: 'alice' })).map((c) => c.id).sort()).toEqual([shared.id, uncached.id].sort());
  });

  it('reads a public dataset: doc, count, slice, at, preview, latestRun', async () => {
    const coll = await bob.fromId(shared.id);
    expect((await coll.doc()).total).toBe(6);
    expect(await coll.count()).toEqual({ train: 6 });
    expect(await coll.slice(0, 2)).toHaveLength(2);
    expect((await coll.at(0))!.data.datasetId).toBe(shared.id);
    expect((await coll.preview(0)).png.length).toBeGreaterThan(0);
    expect((await bob.latestRun(shared.id))!.workflowId).toMatch(new RegExp(`veda-${shared.id}-ingest-`));
    expect((await coll.save()).total).toBe(6); // saving someone else's cached dataset only reads it
  });

  it('may not change a public dataset: every write is ForbiddenError naming the owner', async () => {
    const coll = await bob.fromId(shared.id);
    const forbidden = async (what: string, work: () => Promise<unknown>) => {
      const err = await Promise.resolve().then(work).then(() => null, (e: Error) => e);
      expect(err, what).toBeInstanceOf(ForbiddenError);
      expect(err!.message, what).toMatch(new RegExp(`^bob may not .* dataset ${shared.id}: it belongs to alice$`));
    };
    await forbidden('ingest', () => coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, count: 2 }));
    await forbidden('cache', () => coll.cache());
    await forbidden('feed', () => coll.feed([{ source: OLINDA.image, window: [0, 0, 64, 64], label: [1, 0, 0] }]));
    await forbidden('publish', () => coll.publish());
    await forbidden('unpublish', () => coll.unpublish());
    await forbidden('delete', () => coll.delete());
    await forbidden('schedules', async () => coll.schedules.list());
    // Nothing changed.
    expect(await shared.count()).toEqual({ train: 6 });
    expect((await shared.doc()).public).toBe(true);
  });

  it('builds a batch of a cached public dataset, but not of one that still needs caching (a write)', async () => {
    const batch = await (await bob.fromId(shared.id)).batch(4, { out: path.join(tmp, 'bob.h5') });
    expect(batch.train?.length).toBe(4);
    batch.close();
    expect(existsSync(path.join(tmp, 'bob.h5'))).toBe(true);
    const err = await (await bob.fromId(uncached.id)).startBatch({ size: 2 }).then(() => null, (e: Error) => e);
    expect(err).toBeInstanceOf(ForbiddenError);
    expect(err!.message).toBe(
      `bob may not build a batch of dataset ${uncached.id} yet: 6 of its 6 datapoints are not cached, and only its owner alice may cache them`,
    );
  });

  it('loses access as soon as the owner unpublishes, even through a handle opened before', async () => {
    const coll = await alice.create({ name: 'briefly-public', mlType: 'classification', tileSize: [64, 64], classes: OLINDA.classes, public: true });
    const handle = await bob.fromId(coll.id);
    expect(await handle.count()).toEqual({});
    await coll.unpublish();
    for (const read of [() => handle.count(), () => handle.doc(), () => handle.slice(0, 1), () => handle.startBatch()]) {
      await expect(read()).rejects.toThrow(new NotFoundError(`dataset ${coll.id} not found`));
    }
  });

  it('no workflow input makes a worker write outside veda\'s batch store', async () => {
    const before = await secret.count();
    for (const [i, out] of [path.join(tmp, 'evil.h5'), '../../evil.h5', `../${secret.id}/latest.h5`].entries()) {
      // The client API has no way to name the worker's output: `out` is where batch() puts the client's copy.
      await expect((await bob.fromId(shared.id)).startBatch({ size: 2, out }), out).rejects.toThrow(InvalidInputError);
      // A hand-made workflow input naming a file changes nothing: the worker stores the batch in the store only.
      const final = (await stack.client.workflow.execute('batchWorkflow', {
        taskQueue: stack.config.temporal.taskQueue,
        workflowId: `veda-${shared.id}-batch-crafted-${i}`,
        args: [{ datasetId: shared.id, size: 2, output: out }],
      })) as { outputKey: string };
      expect(final.outputKey, out).toMatch(new RegExp(`^${shared.id}/veda-${shared.id}-batch-crafted-${i}\\.`));
    }
    expect(await secret.count()).toEqual(before);
    expect(existsSync(path.join(tmp, 'evil.h5'))).toBe(false);
    expect(existsSync(path.join(stack.dataDir, 'evil.h5'))).toBe(false);
  }, 60_000);
});

interface CliOutcome {
  code: number;
  json: { error?: { kind: string; message: string } } & Record<string, unknown>;
}

async function veda(user: string, args: string[]): Promise<CliOutcome> {
  const { code, stdout } = await execFileAsync(process.execPath, [BIN, ...args, '--user', user, '--json'], { env: stack.childEnv, timeout: 180_000 }).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (err: { code: number; stdout: string }) => ({ code: err.code, stdout: err.stdout }),
  );
  return { code, json: JSON.parse(stdout) as CliOutcome['json'] };
}

describe('the CLI, as another user', () => {
  it('exits 3 on a private dataset, 4 on writes to a public one, 0 on reads of it, for every command', async () => {
    const pub = shared.id;
    const priv = secret.id;
    const cases: Array<[string[], number, RegExp?]> = [
      [['show', priv], 3, /not found/],
      [['slice', priv, '0', '1'], 3],
      [['status', priv], 3],
      [['preview', priv, '0', '--out', path.join(tmp, 'p.png')], 3],
      [['batch', priv, '--size', '1'], 3],
      [['show', pub], 0],
      [['slice', pub, '0', '2'], 0],
      [['status', pub], 0],
      [['preview', pub, '0', '--out', path.join(tmp, 'bob.png')], 0],
      [['search', '--owner', 'alice'], 0],
      [['batch', pub, '--size', '2', '--out', path.join(tmp, 'bob-cli.h5')], 0],
      [['batch', uncached.id, '--size', '2'], 4, /may not build a batch/],
      [['ingest', pub, '--image', OLINDA.image, '--labels', OLINDA.labels, '--count', '2'], 4, /bob may not ingest into/],
      [['cache', pub], 4, /bob may not cache/],
      [['publish', pub], 4, /bob may not publish/],
      [['unpublish', pub], 4, /bob may not unpublish/],
      [['delete', pub], 4, /bob may not delete/],
      [['schedule', 'create', pub, '--every', '24h'], 4, /bob may not schedule batches of/],
      [['schedule', 'list', pub], 4],
      [['schedule', 'describe', pub], 4],
      [['schedule', 'trigger', pub], 4],
      [['schedule', 'pause', pub], 4],
      [['schedule', 'unpause', pub], 4],
      [['schedule', 'delete', pub], 4],
    ];
    // Two at a time: each CLI process takes seconds to start on a loaded machine.
    const results: Array<[string, CliOutcome]> = [];
    for (let i = 0; i < cases.length; i += 2) {
      results.push(...(await Promise.all(cases.slice(i, i + 2).map(async ([args]) => [args.join(' '), await veda('bob', args)] as [string, CliOutcome]))));
    }
    console.log(results.map(([cmd, r]) => `  bob: veda ${cmd} -> exit ${r.code}${r.json.error ? ` ${r.json.error.kind}: ${r.json.error.message}` : ''}`).join('\n'));
    cases.forEach(([args, code, message], i) => {
      const [, result] = results[i]!;
      expect(result.code, args.join(' ')).toBe(code);
      if (code === 3) expect(result.json.error?.kind).toBe('NotFoundError');
      if (code === 4) expect(result.json.error?.kind).toBe('ForbiddenError');
      if (message) expect(result.json.error?.message, args.join(' ')).toMatch(message);
    });
    const search = results.find(([cmd]) => cmd.startsWith('search'))![1].json as unknown as Array<{ id: string }>;
    expect(search.map((d) => d.id).sort()).toEqual([pub, uncached.id].sort());
    expect(existsSync(path.join(tmp, 'bob-cli.h5'))).toBe(true);
    // Still alice's, unchanged.
    expect((await shared.doc()).public).toBe(true);
    expect(await shared.count()).toEqual({ train: 6 });
  }, 600_000);

  it('lets the owner do the same writes', async () => {
    const coll = await dataset('alices-own', { public: false, cache: true });
    for (const args of [['publish', coll.id], ['unpublish', coll.id], ['schedule', 'list', coll.id], ['delete', coll.id]]) {
      const result = await veda('alice', args);
      expect(result.code, args.join(' ')).toBe(0);
    }
    await expect(alice.fromId(coll.id)).rejects.toThrow(NotFoundError);
  }, 300_000);
});
