/**
 * The veda HTTP API (`veda serve`, issue 14): the real server on a free port over the real Temporal server and
 * catalog, reached over real HTTP with two users' tokens. The pyveda walkthrough through `Veda.connect({ url, token })`
 * (batch readable by h5py); every link of a document answers with its method; another user's private dataset is
 * invisible through every endpoint of the OpenAPI document; no token or a revoked one is 401; bad bodies are 400
 * with a message; limits give 413 and 429; progress streams from the workflow; downloads take ranges; the CLI and
 * Python's `requests` use it without database or Temporal credentials.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, readFile, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DirectBackend } from '../client/direct-backend.js';
import { Veda } from '../client/veda.js';
import type { DatasetDoc } from '../domain/catalog/dataset-doc.js';
import { CancelledError, ForbiddenError, NotFoundError, UnauthorizedError } from '../domain/errors.js';
import { walkthrough } from '../examples/walkthrough.js';
import { serveApi, type RunningApi } from '../server/serve.js';
import { summarizeWithH5py } from './support/h5py.js';
import { makeTempDir, removeTempDir } from './support/gdal.js';
import { OLINDA, startTestStack, type TestStack } from './support/stack.js';

const run = promisify(execFile);
const BIN = path.resolve('bin/veda.js');

let stack: TestStack;
let api: RunningApi;
let tmp: string;
const token = { alice: '', bob: '' };
let alice: Veda;
let bob: Veda;

/** A request as any HTTP client makes it; the answer's status, headers and parsed JSON (or bytes). */
async function call(method: string, route: string, options: { token?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== null) headers.authorization = `Bearer ${options.token ?? token.alice}`;
  let body: string | undefined = options.raw;
  if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(route.startsWith('http') ? route : api.url + route, { method, headers, body });
  const bytes = Buffer.from(await response.arrayBuffer());
  const json = (response.headers.get('content-type') ?? '').includes('json') ? JSON.parse(bytes.toString() || 'null') : undefined;
  return { status: response.status, headers: response.headers, json, bytes };
}

beforeAll(async () => {
  [stack, tmp] = await Promise.all([startTestStack({ user: 'operator' }), makeTempDir('veda-http-')]);
  const tokens = stack.services.catalog.tokens;
  token.alice = (await tokens.create('alice', 'test')).token;
  token.bob = (await tokens.create('bob')).token;
  // The service reads local inputs only under the directories it is given: here the Olinda scene's.
  api = await serveApi(stack.veda().backend as DirectBackend, { port: 0, inputDirs: [path.dirname(OLINDA.image)] });
  alice = await Veda.connect({ url: api.url, token: token.alice, downloadDir: path.join(tmp, 'alice') });
  bob = await Veda.connect({ url: api.url, token: token.bob, downloadDir: path.join(tmp, 'bob') });
}, 180_000);
afterAll(async () => {
  await api?.close();
  await stack?.teardown();
  if (tmp) await removeTempDir(tmp);
});

describe('the pyveda walkthrough over HTTP', () => {
  let seen: Awaited<ReturnType<typeof walkthrough>>;

  it('creates, feeds 100 train + 25 test, saves, publishes, finds, slices and batches, as the token says who', async () => {
    expect(alice.user).toBe('alice');
    seen = await walkthrough(alice);
    const { doc } = seen;
    expect(doc).toMatchObject({ userId: 'alice', public: true, count: { train: 100, test: 25 }, total: 125, percent_cached: 100, classes: ['class1'] });
    expect(seen.found).toContain(doc.id);
    expect(seen.pairs).toHaveLength(5);
    // The chips that came over HTTP are the chips in the store, byte for byte.
    const direct = await stack.veda('alice').fromId(doc.id);
    const directPairs = await direct.slice(0, 5);
    for (const [i, pair] of directPairs.entries()) {
      const chip = await pair.image();
      expect(seen.pairs[i]!.data).toEqual(pair.data);
      expect(seen.pairs[i]!.y).toEqual(pair.y);
      expect({ ...seen.chips[i]!, data: undefined }).toEqual({ ...chip, data: undefined });
      expect(Buffer.from(seen.chips[i]!.data.buffer).equals(Buffer.from(chip.data.buffer))).toBe(true);
    }
    // The batch was downloaded, and h5py reads it.
    expect(seen.batch.train + seen.batch.test).toBe(32);
    expect(seen.batch.path.startsWith(path.join(tmp, 'alice'))).toBe(true);
    const h5 = await summarizeWithH5py(seen.batch.path);
    expect(h5.groups.train!.images!.shape).toEqual([seen.batch.train, doc.shape![0], 64, 64]);
    expect(h5.groups.test!.labels!.shape).toEqual([seen.batch.test, 1]);
    expect(JSON.parse(String(h5.attrs.dataset)).id).toBe(doc.id);
  }, 300_000);

  it("gives documents whose links are this server's URLs", async () => {
    const { links, id } = seen.doc;
    expect(links.self).toMatchObject({ href: `${api.url}/datasets/${id}`, method: 'GET' });
    expect(links.update).toMatchObject({ href: `${api.url}/datasets/${id}`, method: 'PUT' });
    expect(links.publish).toMatchObject({ href: `${api.url}/datasets/${id}/publish`, method: 'PUT' });
    expect(links.unpublish).toMatchObject({ href: `${api.url}/datasets/${id}/unpublish`, method: 'PUT' });
    expect(links.delete).toMatchObject({ href: `${api.url}/datasets/${id}`, method: 'DELETE' });
    expect(links.create).toMatchObject({ href: `${api.url}/datasets`, method: 'POST' });
    // Direct use keeps the operation names: there is no server to link to.
    expect((await stack.veda('alice').fromId(id).then((c) => c.doc())).links.self.href).toBe(`veda:datasets/${id}`);
  });

  it('lets bob read the public dataset and build a batch of it, but not change it (403 naming the owner)', async () => {
    const coll = await bob.fromId(seen.doc.id);
    expect(await coll.count()).toEqual({ train: 100, test: 25 });
    const batch = await coll.batch(4, { out: path.join(tmp, 'bob.h5') });
    expect(batch.path).toBe(path.join(tmp, 'bob.h5'));
    batch.close();
    await expect(coll.publish()).rejects.toThrow(new ForbiddenError(`bob may not publish dataset ${seen.doc.id}: it belongs to alice`));
    await expect(coll.feed([{ source: OLINDA.image, window: [0, 0, 64, 64], label: [1] }])).rejects.toThrow(ForbiddenError);
    await expect(coll.delete()).rejects.toThrow(ForbiddenError);
    await expect(coll.cache()).rejects.toThrow(ForbiddenError);
    expect((await coll.doc()).public).toBe(true);
  }, 120_000);
});

describe('document links', () => {
  it('every link answers with the method it names', async () => {
    const created = await call('POST', '/datasets', { body: { name: 'linked', mlType: 'classification', tileSize: [64, 64] } });
    expect(created.status).toBe(201);
    const doc = created.json as DatasetDoc;
    const bodies: Record<string, unknown> = {
      update: { name: 'linked-renamed' },
      create: { name: 'made-by-link', mlType: 'segmentation', tileSize: [32, 32], classes: ['a'] },
    };
    // delete last: the others act on the dataset.
    const names = [...Object.keys(doc.links).filter((n) => n !== 'delete'), 'delete'] as Array<keyof DatasetDoc['links']>;
    const outcomes: string[] = [];
    for (const name of names) {
      const link = doc.links[name]!;
      const answer = name === 'workflows' ? await call('GET', link.href, { token: null }) : await call(link.method, link.href, { body: bodies[name] });
      outcomes.push(`${name}: ${link.method} ${link.href} -> ${answer.status}`);
      expect(answer.status, `${name} ${link.method} ${link.href}`).toBeGreaterThanOrEqual(200);
      expect(answer.status, `${name} ${link.method} ${link.href}: ${JSON.stringify(answer.json)}`).toBeLessThan(300);
    }
    console.log(outcomes.join('\n'));
    expect((await call('GET', doc.links.self.href)).status).toBe(404); // deleted
  });
});

describe("another user's private dataset", () => {
  it('is invisible and untouchable through every endpoint (404, not 403, so ids do not leak)', async () => {
    const secret = await alice.create({ name: 'secret', mlType: 'classification', tileSize: [64, 64], classes: OLINDA.classes });
    const ingest = await secret.ingest({ image: OLINDA.image, labels: OLINDA.labels, count: 4, seed: 3 });
    await ingest.result();
    const batchRun = await secret.startBatch({ size: 2 });
    await batchRun.result();
    await secret.schedules.create({ every: '24h' });
    const [point] = await secret.slice(0, 1);
    const before = await secret.doc();

    const openapi = (await call('GET', '/openapi.json', { token: null })).json as { paths: Record<string, Record<string, unknown>> };
    const bodies: Record<string, unknown> = {
      'PUT /datasets/{id}': { name: 'stolen' },
      'POST /datasets/{id}/datapoints': { pairs: [{ source: OLINDA.image, window: [0, 0, 64, 64], label: [1, 0, 0] }] },
      'POST /datasets/{id}/datapoints/remove': { ids: [point!.data.id] },
      'POST /datasets/{id}/ingests': { image: OLINDA.image, labels: OLINDA.labels, count: 2 },
      'POST /datasets/{id}/batches': { size: 1 },
      'POST /datasets/{id}/schedules': { every: '12h', name: 'bobs' },
      'POST /datasets/{id}/schedules/{name}/pause': {},
      'POST /datasets/{id}/schedules/{name}/unpause': {},
      'POST /datasets/{id}/schedules/{name}/trigger': {},
    };
    const queries: Record<string, string> = { 'GET /datasets/{id}/datapoints': '?start=0&end=1' };
    const tried: string[] = [];
    for (const [template, methods] of Object.entries(openapi.paths)) {
      if (!template.includes('{id}')) continue;
      for (const method of Object.keys(methods).map((m) => m.toUpperCase())) {
        if (method === 'HEAD') continue;
        const route = template
          .replace('{id}', secret.id)
          .replace('{datapointId}', point!.data.id)
          .replace('{workflowId}', batchRun.workflowId)
          .replace('{index}', '0')
          .replace('{name}', template.includes('/batches/') ? 'latest.h5' : 'default') + (queries[`${method} ${template}`] ?? '');
        const key = `${method} ${template}`;
        // The owner's own request gets through (so bob's 404 is about access, not about the request).
        const answer = await call(method, route, { token: token.bob, body: bodies[key] });
        tried.push(`${key} -> ${answer.status}`);
        expect(answer.status, key).toBe(404);
        expect(answer.json?.error, key).toEqual({ kind: 'NotFoundError', message: `dataset ${secret.id} not found` });
      }
    }
    console.log(`bob on alice's private dataset:\n  ${tried.join('\n  ')}`);
    expect(tried.length).toBeGreaterThanOrEqual(25);
    expect(((await call('GET', '/datasets', { token: token.bob })).json as DatasetDoc[]).map((d) => d.id)).not.toContain(secret.id);
    await expect(bob.fromId(secret.id)).rejects.toThrow(NotFoundError);
    // Nothing changed.
    const after = await secret.doc();
    expect({ ...after, updated_at: '' }).toEqual({ ...before, updated_at: '' });
    expect((await secret.schedules.list()).map((s) => s.id)).toEqual([secret.schedules.id()]);
    expect((await secret.schedules.describe()).paused).toBe(false);
    await secret.schedules.delete();
  }, 300_000);
});

describe('tokens', () => {
  it('no token, an unknown one or a revoked one is 401; the OpenAPI document is open', async () => {
    for (const t of [null, 'veda_not-a-token', 'nonsense']) {
      const answer = await call('GET', '/datasets', { token: t });
      expect(answer.status).toBe(401);
      expect(answer.json.error.kind).toBe('UnauthorizedError');
      expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    const tokens = stack.services.catalog.tokens;
    const carol = await tokens.create('carol', 'short-lived');
    expect((await call('GET', '/me', { token: carol.token })).json).toEqual({ user: 'carol' });
    expect(await tokens.revoke({ id: carol.id })).toBe(1);
    const revoked = await call('GET', '/me', { token: carol.token });
    expect(revoked.status).toBe(401);
    expect(revoked.json.error.message).toMatch(/unknown or revoked/);
    await expect(Veda.connect({ url: api.url, token: carol.token })).rejects.toThrow(UnauthorizedError);
    // Only the hash is kept.
    const listed = (await tokens.list('carol'))[0]!;
    expect(listed).toMatchObject({ id: carol.id, userId: 'carol', name: 'short-lived' });
    expect(listed.revokedAt).toBeInstanceOf(Date);
    expect(JSON.stringify(await tokens.list())).not.toContain(carol.token);
    expect((await call('GET', '/openapi.json', { token: null })).status).toBe(200);
  });
});

describe('bad requests', () => {
  it('bad bodies and queries get 400 with a message that says what is wrong', async () => {
    const id = (await alice.create({ name: 'strict', mlType: 'classification', tileSize: [64, 64], classes: ['a', 'b'] })).id;
    const cases: Array<[string, string, { body?: unknown; raw?: string }, RegExp]> = [
      ['POST', '/datasets', { body: {} }, /body must have required property 'name'/],
      ['POST', '/datasets', { body: { name: 'x', mlType: 'classification', tile_size: [8, 8] } }, /must have required property 'tileSize'|unknown property 'tile_size'/],
      ['POST', '/datasets', { body: { name: 'x', mlType: 'regression', tileSize: [8, 8] } }, /body\/mlType must be one of classification, object_detection, segmentation/],
      ['POST', '/datasets', { raw: '{"name": ' }, /JSON/i],
      ['POST', '/datasets', { body: { name: 'x', mlType: 'segmentation', tileSize: [8, 8] } }, /needs its classes/],
      ['PUT', `/datasets/${id}`, { body: { public: 'yes please' } }, /body\/public must be boolean/],
      ['POST', `/datasets/${id}/datapoints`, { body: { pairs: [{ source: OLINDA.image, window: [0, 0, 64, 64], label: [1, 0, 1] }] } }, /pair 0: a classification label is a one-hot array of 2/],
      ['POST', `/datasets/${id}/datapoints`, { body: { pairs: [{ source: OLINDA.image, window: [0, 0, 64, 64], label: [1, 0] }], sorce: 'x' } }, /body has unknown property 'sorce'/],
      ['POST', `/datasets/${id}/datapoints`, { body: { pairs: [{ source: `${OLINDA.image}.missing`, window: [0, 0, 64, 64], label: [1, 0] }] } }, /pair 0: /],
      ['POST', `/datasets/${id}/ingests`, { body: { image: OLINDA.image, labels: OLINDA.labels, count: 'many' } }, /body\/count must be integer/],
      ['POST', `/datasets/${id}/ingests`, { body: { image: OLINDA.image, labels: OLINDA.labels, count: 0 } }, /count/],
      ['POST', `/datasets/${id}/batches`, { body: { size: 0 } }, /body\/size must be >= 1/],
      ['GET', `/datasets/${id}/datapoints?start=5&end=2`, {}, /slice\(5, 2\)/],
      ['GET', `/datasets/${id}/datapoints?start=0`, {}, /querystring must have required property 'end'/],
      ['GET', '/datasets?bbox=1,2,3', {}, /querystring\/bbox must match/],
    ];
    for (const [method, route, options, message] of cases) {
      const answer = await call(method, route, options);
      expect(answer.status, `${method} ${route} ${JSON.stringify(options)}: ${JSON.stringify(answer.json)}`).toBe(answer.json?.error?.kind === 'NotFoundError' ? 404 : 400);
      expect(answer.json.error.message, `${method} ${route}`).toMatch(message);
    }
  });

  it('a body over the upload limit is 413; too many requests are 429 with Retry-After', async () => {
    const tight = await serveApi(stack.veda().backend as DirectBackend, { port: 0, limits: { uploadBytes: 2000, requestsPerMinute: 5, uploadsPerMinute: 5 } });
    try {
      const id = (await alice.create({ name: 'limits', mlType: 'classification', tileSize: [64, 64] })).id;
      const pairs = Array.from({ length: 100 }, (_, i) => ({ source: OLINDA.image, window: [i, 0, 64, 64], label: [1] }));
      const big = await call('POST', `${tight.url}/datasets/${id}/datapoints`, { body: { pairs } });
      expect(big.status).toBe(413);
      expect(big.json.error.kind).toBe('PayloadTooLargeError');
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) statuses.push((await call('GET', `${tight.url}/me`)).status);
      expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
      expect(statuses.at(-1)).toBe(429);
      const limited = await call('GET', `${tight.url}/me`);
      expect(limited.json.error.kind).toBe('RateLimitError');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      // Each user has a budget of their own.
      expect((await call('GET', `${tight.url}/me`, { token: token.bob })).status).toBe(200);
    } finally {
      await tight.close();
    }
  });
});

describe('runs and batch files', () => {
  it('streams progress from the workflow, cancels, and serves batch files with ranges', async () => {
    const coll = await alice.create({ name: 'streamed', mlType: 'segmentation', tileSize: [64, 64], classes: OLINDA.classes });
    const ingest = await coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, count: 12, seed: 5 });
    expect(ingest.workflowId).toBe(`veda-${coll.id}-ingest-1`);
    const seen: string[] = [];
    let last;
    for await (const p of ingest.progress()) {
      seen.push(`${p.stage} ${p.done}/${p.total}`);
      last = p;
    }
    expect(last).toMatchObject({ kind: 'ingest', datasetId: coll.id, stage: 'done', groups: { train: 12 }, percentCached: 100 });
    expect(await ingest.status()).toBe('COMPLETED');
    expect((await alice.latestRun(coll.id))!.workflowId).toBe(ingest.workflowId);
    // The same answers as the workflow's query, through JSON.
    expect((await call('GET', `/datasets/${coll.id}/runs/${ingest.workflowId}/progress`)).json).toEqual(await stack.client.workflow.getHandle(ingest.workflowId).query('progress'));

    const batch = await coll.startBatch({ size: 6 });
    const final = await batch.result();
    const files = (await call('GET', `/datasets/${coll.id}/batches`)).json as Array<{ name: string; size: number; href: string }>;
    expect(files.map((f) => f.name).sort()).toEqual(['latest.h5', final.outputKey!.split('/')[1]].sort());
    const latest = files.find((f) => f.name === 'latest.h5')!;
    const stored = await readFile(stack.services.batches.localPath(`${coll.id}/latest.h5`)!);
    const whole = await call('GET', latest.href);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(whole.bytes.equals(stored)).toBe(true);
    const head = await call('GET', latest.href, { headers: { range: 'bytes=0-7' } });
    expect(head.status).toBe(206);
    expect(head.headers.get('content-range')).toBe(`bytes 0-7/${stored.length}`);
    expect(head.bytes.equals(Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true); // HDF5 signature
    const tail = await call('GET', latest.href, { headers: { range: 'bytes=-100' } });
    expect(tail.bytes.equals(stored.subarray(stored.length - 100))).toBe(true);
    const middle = await call('GET', latest.href, { headers: { range: `bytes=1000-${stored.length + 50}` } });
    expect(middle.bytes.equals(stored.subarray(1000))).toBe(true);
    expect((await call('GET', latest.href, { headers: { range: `bytes=${stored.length}-` } })).status).toBe(416);
    expect((await call('GET', `/datasets/${coll.id}/batches/nope.h5`)).status).toBe(404);

    // A chip as raw bytes and as a PNG.
    const [pair] = await coll.slice(0, 1);
    const raw = await call('GET', `/datasets/${coll.id}/datapoints/${pair!.data.id}/chip`);
    expect(raw.headers.get('x-veda-dtype')).toBe('uint8');
    const chip = await pair!.image();
    expect(raw.headers.get('x-veda-shape')).toBe(`${chip.bands},64,64`);
    expect(raw.bytes.equals(Buffer.from(chip.data.buffer, chip.data.byteOffset, chip.data.byteLength))).toBe(true);
    const preview = await coll.preview(0, { scale: 2 });
    expect(preview.png.subarray(1, 4).toString()).toBe('PNG');
    expect(preview).toMatchObject({ width: 128, height: 128, datapoint: pair!.data });

    // Cancelling through the API: the run ends as cancelled, and its stream says so.
    const long = await coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, count: 600, seed: 9 });
    await long.cancel();
    await expect(long.result()).rejects.toThrow(CancelledError);
    expect(await long.status()).toBe('CANCELLED');
    expect(await coll.cancelRuns()).toEqual([]); // nothing left running
  }, 300_000);
});

describe('the rest of the collection API over HTTP', () => {
  it('feeds masks, removes, checks, tells the manifest, and keeps schedules, as the owner', async () => {
    const coll = await alice.create({ name: 'masks', mlType: 'segmentation', tileSize: [8, 8], classes: ['water', 'urban'] });
    const mask = Uint8Array.from({ length: 64 }, (_, i) => i % 3);
    const added = await coll.feed([
      { source: OLINDA.image, window: [0, 0, 8, 8], label: { data: mask, shape: [8, 8] } },
      [{ source: OLINDA.image, x: 8, y: 0, width: 8, height: 8 }, Array.from(mask)],
    ], { group: 'train' });
    expect(added).toBe(2);
    const pairs = await coll.slice(0, 2);
    expect(pairs.map((p) => Array.from((p.y as { data: Uint8Array }).data))).toEqual([Array.from(mask), Array.from(mask)]);
    expect((await coll.check()).datapoints).toBe(2);
    expect((await coll.manifest()).sources).toEqual([OLINDA.image]);
    expect(await coll.remove(pairs[1]!.data.id)).toBe(1);
    expect(await coll.count()).toEqual({ train: 1 });

    const schedules = coll.schedules;
    const created = await schedules.create({ name: 'nightly', cron: '0 3 * * *', size: 1 });
    expect(created).toMatchObject({ id: schedules.id('nightly'), datasetId: coll.id, paused: false, spec: 'cron 0 3 * * *' });
    await expect(schedules.create({ name: 'nightly', every: '1h' })).rejects.toThrow(/already exists/);
    expect((await call('POST', `/datasets/${coll.id}/schedules`, { body: { name: 'nightly', every: '1h' } })).status).toBe(409);
    await schedules.pause('nightly', 'holiday');
    expect(await schedules.describe('nightly')).toMatchObject({ paused: true, note: 'holiday' });
    expect((await schedules.list()).map((s) => s.id)).toEqual([schedules.id('nightly')]);
    await schedules.delete('nightly');
    await expect(schedules.describe('nightly')).rejects.toThrow(NotFoundError);
    await coll.delete();
    await expect(alice.fromId(coll.id)).rejects.toThrow(NotFoundError);
  }, 120_000);
});

describe('the OpenAPI document', () => {
  it('validates, and names every route with its schemas', async () => {
    const doc = (await call('GET', '/openapi.json', { token: null })).json;
    const valid = await SwaggerParser.validate(structuredClone(doc));
    expect(valid.info.title).toBe('veda');
    const routes = Object.entries(doc.paths as Record<string, object>).flatMap(([p, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${p}`));
    console.log(`${routes.length} operations:\n  ${routes.join('\n  ')}`);
    for (const route of ['POST /datasets', 'GET /datasets/{id}', 'PUT /datasets/{id}/publish', 'POST /datasets/{id}/datapoints', 'GET /datasets/{id}/runs/{workflowId}/events', 'GET /datasets/{id}/batches/{name}', 'POST /datasets/{id}/schedules']) {
      expect(routes).toContain(route);
    }
    expect(doc.paths['/datasets'].post.requestBody.content['application/json'].schema.required).toEqual(['name', 'mlType', 'tileSize']);
  });
});

describe('clients without database or Temporal credentials', () => {
  it('the CLI works through VEDA_API_URL and VEDA_TOKEN; tokens are made with `veda token create`', async () => {
    // An operator's command (on the catalog) makes dave's token.
    const made = await run(process.execPath, [BIN, 'token', 'create', '--user', 'dave', '--name', 'cli', '--json'], { env: stack.childEnv });
    const dave = JSON.parse(made.stdout) as { token: string; id: string; userId: string };
    expect(dave.userId).toBe('dave');
    // Dave's environment names only the service.
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH, HOME: tmp, VEDA_DATA_DIR: path.join(tmp, 'dave'), VEDA_API_URL: api.url, VEDA_TOKEN: dave.token, VEDA_LOG_LEVEL: 'ERROR',
    };
    const veda = async (...args: string[]) => JSON.parse((await run(process.execPath, [BIN, ...args, '--json'], { env })).stdout);
    const created = await veda('create', '--name', 'daves', '--ml-type', 'classification', '--tile-size', '64', '--classes', 'water,vegetation,urban');
    expect(created).toMatchObject({ userId: 'dave', links: { self: { href: `${api.url}/datasets/${created.id}` } } });
    const ingested = await veda('ingest', created.id, '--image', OLINDA.image, '--labels', OLINDA.labels, '--count', '5', '--seed', '1', '--wait');
    expect(ingested.progress).toMatchObject({ stage: 'done', groups: { train: 5 } });
    expect((await veda('slice', created.id, '0', '2')).map((r: { y: number[] }) => r.y.length)).toEqual([3, 3]);
    expect(await veda('status', created.id)).toMatchObject({ status: 'COMPLETED', workflowId: ingested.workflowId });
    const batch = await veda('batch', created.id, '--size', '3', '--out', path.join(tmp, 'dave.h5'));
    expect(batch).toMatchObject({ path: path.join(tmp, 'dave.h5'), samples: 3 });
    expect((await summarizeWithH5py(batch.path)).groups.train!.images!.shape[0]).toBe(3);
    // Over the API a command loads neither database driver nor the worker SDK.
    const trace = path.join(tmp, 'dave-trace.txt');
    await run(process.execPath, ['--import', path.resolve('test/support/package-trace.mjs'), BIN, 'show', created.id, '--json'], { env: { ...env, VEDA_TEST_PACKAGE_TRACE: trace } });
    const loaded = (await readFile(trace, 'utf8')).split('\n');
    expect(loaded.filter((p) => ['pg', '@electric-sql/pglite', '@temporalio/worker', 'geotiff', 'h5wasm', 'sharp'].includes(p))).toEqual([]);
    const secretOfAlice = (await alice.create({ name: 'not-daves', mlType: 'classification', tileSize: [8, 8] })).id;
    const hidden = await run(process.execPath, [BIN, 'show', secretOfAlice, '--json'], { env }).catch((err: { code: number; stdout: string }) => err);
    expect((hidden as { code: number }).code).toBe(3);
    // Revoked, the same CLI is refused (exit 7).
    await run(process.execPath, [BIN, 'token', 'revoke', dave.id], { env: stack.childEnv });
    const refused = await run(process.execPath, [BIN, 'show', created.id, '--json'], { env }).catch((err: { code: number; stdout: string }) => err);
    expect((refused as { code: number }).code).toBe(7);
    expect(JSON.parse((refused as { stdout: string }).stdout).error.kind).toBe('UnauthorizedError');
  }, 300_000);

  it('`veda serve` serves until SIGINT, on the configured catalog and Temporal server', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--inputs', path.dirname(OLINDA.image), '--json'], { env: stack.childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const [line] = (await once(child.stdout.setEncoding('utf8'), 'data')) as [string];
      const { url } = JSON.parse(line) as { url: string };
      expect((await call('GET', `${url}/me`, { token: token.bob })).json).toEqual({ user: 'bob' });
      const docs = (await call('GET', `${url}/datasets?name=olinda-water`, { token: token.bob })).json as DatasetDoc[];
      expect(docs.map((d) => d.links.self.href)).toEqual(docs.map((d) => `${url}/datasets/${d.id}`));
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited, stderr).toBe(0);
  }, 120_000);

  it('reads local inputs only under its --inputs directories, symlinks followed; URLs as named', async () => {
    const id = (await alice.create({ name: 'inputs', mlType: 'classification', tileSize: [64, 64] })).id;
    // A copy outside the allowed directory, and a link inside it that points out.
    const outside = path.join(tmp, 'scene.tif');
    await copyFile(OLINDA.image, outside);
    const link = path.join(path.dirname(OLINDA.image), `.escape-${process.pid}.tif`);
    await symlink(outside, link);
    try {
      const refused: Array<[string, unknown, RegExp]> = [
        ['ingests', { image: outside, labels: OLINDA.labels, count: 2 }, /image .*scene\.tif: this service reads only under .*examples\/data/],
        ['ingests', { image: link, labels: OLINDA.labels, count: 2 }, /image .*\.escape-\d+\.tif: this service reads only under/],
        ['ingests', { image: OLINDA.image, labels: '/etc/passwd', count: 2 }, /label file \/etc\/passwd: this service reads only under/],
        ['ingests', { image: OLINDA.image, labels: OLINDA.labels, aoi: 'file:///etc/hosts', count: 2 }, /region of interest file:\/\/\/etc\/hosts/],
        ['datapoints', { pairs: [{ source: outside, window: [0, 0, 64, 64], label: [1] }] }, /image .*scene\.tif: this service reads only under/],
        ['datapoints', { pairs: [[{ x: 0, y: 0, width: 64, height: 64, source: link }, [1]]] }, /this service reads only under/],
        ['datapoints', { source: '/etc/shadow', pairs: [[[0, 0, 64, 64], [1]]] }, /image \/etc\/shadow/],
      ];
      for (const [route, body, message] of refused) {
        const answer = await call('POST', `/datasets/${id}/${route}`, { body });
        expect(answer.status, JSON.stringify(body)).toBe(403);
        expect(answer.json.error.message).toMatch(message);
      }
      expect(await alice.fromId(id).then((c) => c.count())).toEqual({});
      // Another user's private dataset stays not found, whatever the body names.
      expect((await call('POST', `/datasets/${id}/ingests`, { token: token.bob, body: { image: outside, labels: OLINDA.labels, count: 2 } })).status).toBe(404);
      // Allowed: a file under the directory (relative forms resolve there too).
      const ok = await call('POST', `/datasets/${id}/datapoints`, { body: { pairs: [{ source: OLINDA.image, window: [0, 0, 64, 64], label: [1] }] } });
      expect(ok.json).toEqual({ added: 1 });
      // A service given no directory reads no local file at all; a URL is read as named (this one answers 401).
      const closed = await serveApi(stack.veda().backend as DirectBackend, { port: 0 });
      try {
        const local = await call('POST', `${closed.url}/datasets/${id}/datapoints`, { body: { pairs: [{ source: OLINDA.image, window: [0, 0, 64, 64], label: [1] }] } });
        expect(local.status).toBe(403);
        expect(local.json.error.message).toMatch(/this service reads no local files \(its operator gives directories with `veda serve --inputs DIR`\)/);
        const url = await call('POST', `${closed.url}/datasets/${id}/datapoints`, { body: { pairs: [{ source: `${closed.url}/nowhere.tif`, window: [0, 0, 64, 64], label: [1] }] } });
        expect(url.json.error.message).toMatch(/pair 0: cannot read image URL http:.*\/nowhere\.tif/);
      } finally {
        await closed.close();
      }
    } finally {
      await rm(link, { force: true });
    }
  });

  it("Python's requests reads documents, chips and batch files (the README's lines)", async () => {
    const id = (await alice.search({ name: 'olinda-water' }))[0]!.id;
    const script = `
import os, io, requests, numpy as np, h5py
api, auth = os.environ["VEDA_API_URL"], {"Authorization": "Bearer " + os.environ["VEDA_TOKEN"]}
doc = requests.get(f"{api}/datasets/{os.environ['ID']}", headers=auth).json()
pairs = requests.get(doc["links"]["self"]["href"] + "/datapoints", params={"start": 0, "end": 5}, headers=auth).json()
r = requests.get(f"{api}/datasets/{doc['id']}/datapoints/{pairs[0]['id']}/chip", headers=auth)
chip = np.frombuffer(r.content, dtype=r.headers["X-Veda-Dtype"]).reshape([int(n) for n in r.headers["X-Veda-Shape"].split(",")])
f = h5py.File(io.BytesIO(requests.get(f"{api}/datasets/{doc['id']}/batches/latest.h5", headers=auth).content), "r")
print(doc["count"], len(pairs), pairs[0]["y"], chip.shape, chip.dtype, f["train/images"].shape[1:])
`;
    const { stdout } = await run('python3', ['-c', script], { env: { ...process.env, VEDA_API_URL: api.url, VEDA_TOKEN: token.bob, ID: id } });
    expect(stdout.trim()).toMatch(/^\{'test': 25, 'train': 100\} 5 \[[01]\] \(\d, 64, 64\) uint8 \(\d, 64, 64\)$/);
  }, 120_000);
});
