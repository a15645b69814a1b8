/**
 * Hostile input, table-driven, against the real stack (Temporal + PostgreSQL + worker): broken and lying image
 * files and servers, TIFF bombs, bad GeoJSON, odd names, absurd numbers, labels of the wrong shape. Each case
 * states the outcome a user sees (error kind and message, or what was stored) and prints it. Input problems fail
 * fast and non-retryably (exit code 2 in the CLI), and a run that fails after posting leaves no datapoint behind.
 * Fixtures are made at test time: GDAL for images, truncated copies of the Olinda scene, TIFF bytes written here.
 */
import { execFile } from 'node:child_process';
import { copyFile, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VedaCollection } from '../client/collection.js';
import type { IngestOptions } from '../client/ingest-options.js';
import { Veda, type NewCollection } from '../client/veda.js';
import { isVedaError } from '../domain/errors.js';
import { openImage, RemoteReadError } from '../domain/imagery/index.js';
import type { MlType } from '../domain/types.js';
import { corruptBlock, gdalTranslate, makeTempDir, removeTempDir } from './support/gdal.js';
import { serveHostile, type HostileServer } from './support/hostile-http.js';
import { OLINDA, startTestStack, type TestStack } from './support/stack.js';

const execFileAsync = promisify(execFile);
const BIN = path.resolve('bin/veda.js');

let stack: TestStack;
let tmp: string;
let http: HostileServer;
const fixture = (name: string) => path.join(tmp, name);

/** What a user sees: the error's kind and message (or 'ok' and what was stored), and the CLI's exit code. */
interface Outcome {
  kind: string;
  message: string;
  exitCode?: number | null;
}
const outcomes: Array<[string, Outcome]> = [];

async function outcomeOf(work: () => Promise<unknown>): Promise<Outcome> {
  try {
    const value = await work();
    return { kind: 'ok', message: typeof value === 'string' ? value : JSON.stringify(value) };
  } catch (err) {
    const kind = isVedaError(err) ? err.kind : err instanceof RemoteReadError ? 'RemoteReadError (retryable)' : (err as Error).name;
    return { kind, message: (err as Error).message };
  }
}

let datasets = 0;
async function create(mlType: MlType = 'segmentation', extra: Partial<NewCollection> = {}): Promise<VedaCollection> {
  return stack.veda().create({ name: `hostile-${++datasets}`, mlType, tileSize: [64, 64], classes: OLINDA.classes, ...extra });
}

/**
 * Ingests into a new dataset and waits; a failure must be non-retryable on its first attempt (no activity retried)
 * and leave no datapoint in the dataset.
 */
async function ingest(options: Partial<IngestOptions>, mlType: MlType = 'segmentation'): Promise<string> {
  const coll = await create(mlType);
  const run = await coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, count: 8, cache: false, ...options });
  try {
    const final = await run.result();
    return `posted ${final.posted}, groups ${JSON.stringify(await coll.count())}`;
  } catch (err) {
    expect(await coll.count()).toEqual({});
    const { events } = await stack.client.workflow.getHandle(run.workflowId).fetchHistory();
    const attempts = events!.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt);
    expect(attempts.every((a) => a === 1)).toBe(true);
    throw err;
  }
}

/** Runs the CLI; the outcome carries the exit code and the `--json` error (or stdout). */
async function cli(args: string[]): Promise<Outcome> {
  const result = await execFileAsync(process.execPath, [BIN, ...args, '--json'], { env: stack.childEnv, timeout: 120_000 }).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (err: { code: number; stdout: string }) => ({ code: err.code, stdout: err.stdout }),
  );
  const json = JSON.parse(result.stdout) as { error?: { kind: string; message: string } };
  return json.error ? { ...json.error, exitCode: result.code } : { kind: 'ok', message: result.stdout.trim(), exitCode: result.code };
}

// ---- fixtures -------------------------------------------------------------------------------------------------

/** A little-endian classic TIFF: the given IFD entries (sorted here) and `data` after them. */
function tiffBytes(entries: Array<[tag: number, type: 3 | 4, value: number]>, data = Buffer.alloc(16)): Buffer {
  const sorted = [...entries].sort((a, b) => a[0] - b[0]);
  const ifdBytes = 2 + sorted.length * 12 + 4;
  const dataOffset = 8 + ifdBytes;
  const out = Buffer.alloc(dataOffset + data.length);
  out.write('II', 0, 'latin1');
  out.writeUInt16LE(42, 2);
  out.writeUInt32LE(8, 4);
  out.writeUInt16LE(sorted.length, 8);
  sorted.forEach(([tag, type, value], i) => {
    const at = 10 + i * 12;
    out.writeUInt16LE(tag, at);
    out.writeUInt16LE(type, at + 2);
    out.writeUInt32LE(1, at + 4);
    const v = value === -1 ? dataOffset : value; // -1: "where the data starts"
    if (type === 3) out.writeUInt16LE(v, at + 8);
    else out.writeUInt32LE(v, at + 8);
  });
  data.copy(out, dataOffset);
  return out;
}

const SHORT = 3;
const LONG = 4;
/** One band of 8-bit unsigned samples, uncompressed, grey. */
const BASE: Array<[number, 3 | 4, number]> = [[258, SHORT, 8], [259, SHORT, 1], [262, SHORT, 1], [277, SHORT, 1], [339, SHORT, 1]];
const stripBomb = (size: number) => tiffBytes([...BASE, [256, LONG, size], [257, LONG, size], [273, LONG, -1], [278, LONG, size], [279, LONG, 16]]);
const tileBomb = (size: number, tile: number) =>
  tiffBytes([...BASE, [256, LONG, size], [257, LONG, size], [322, SHORT, tile], [323, SHORT, tile], [324, LONG, -1], [325, LONG, 16]]);

async function geojson(name: string, features: unknown[], extra: Record<string, unknown> = {}): Promise<string> {
  const projected = JSON.parse(await readFile(OLINDA.labels, 'utf8')) as { crs: unknown };
  await writeFile(fixture(name), JSON.stringify({ type: 'FeatureCollection', crs: projected.crs, ...extra, features }));
  return fixture(name);
}

const polygon = (cls: string, ring: number[][]) => ({ type: 'Feature', properties: { class: cls }, geometry: { type: 'Polygon', coordinates: [ring] } });
/** A square in the scene's CRS (SIRGAS 2000 / UTM 25S), around the scene's centre unless moved. */
const square = (cls: string, dx = 0, dy = 0) => {
  const [x, y, s] = [288_000 + dx, 9_120_000 + dy, 2_000];
  return polygon(cls, [[x, y], [x + s, y], [x + s, y + s], [x, y + s], [x, y]]);
};

beforeAll(async () => {
  [stack, tmp] = await Promise.all([startTestStack({ user: 'alice' }), makeTempDir('veda-hostile-')]);
  http = await serveHostile(tmp);
  const scene = await readFile(OLINDA.image);
  await Promise.all([
    writeFile(fixture('truncated-40k.tif'), scene.subarray(0, 40_000)),
    writeFile(fixture('truncated-header.tif'), scene.subarray(0, 500)),
    writeFile(fixture('empty.tif'), ''),
    writeFile(fixture('text.tif'), 'this is not a GeoTIFF\n'),
    writeFile(fixture('strip-bomb.tif'), stripBomb(100_000)),
    writeFile(fixture('tile-count-bomb.tif'), tileBomb(1_048_576, 16)),
    writeFile(fixture('size-bomb.tif'), tileBomb(60_000, 256)),
    copyFile(OLINDA.image, fixture('scene.tif')),
  ]);
  await gdalTranslate(OLINDA.image, fixture('png.tif'), ['-of', 'PNG', '-b', '1']);
  await gdalTranslate(OLINDA.image, fixture('lzma.tif'), ['-co', 'COMPRESS=LZMA']);
  const tiledCog = await gdalTranslate(OLINDA.image, fixture('tiled.tif'), ['-co', 'TILED=YES', '-co', 'COMPRESS=DEFLATE']);
  await writeFile(fixture('tiled-truncated.tif'), (await readFile(tiledCog)).subarray(0, 200_000));
  await gdalTranslate(OLINDA.image, fixture('corrupt-first.tif'), ['-co', 'COMPRESS=DEFLATE']);
  await corruptBlock(fixture('corrupt-first.tif'), 0, 0);
  // The scene is in 118 strips of 3 rows; strip 58 (rows 174-176) is met only by windows that reach the middle.
  await gdalTranslate(OLINDA.image, fixture('corrupt-middle.tif'), ['-co', 'COMPRESS=DEFLATE']);
  await corruptBlock(fixture('corrupt-middle.tif'), 0, 58);
}, 120_000);

afterAll(async () => {
  const width = Math.max(...outcomes.map(([name]) => name.length));
  console.log(
    `hostile input: ${outcomes.length} cases\n` +
      outcomes.map(([name, o]) => `  ${name.padEnd(width)}  ${o.kind}${o.exitCode !== undefined ? ` (exit ${o.exitCode})` : ''}: ${o.message}`).join('\n'),
  );
  await http?.close();
  await stack?.teardown();
  if (tmp) await removeTempDir(tmp);
});

interface Case {
  name: string;
  run: () => Promise<unknown>;
  kind: string;
  message: RegExp;
  exitCode?: number;
}

function table(title: string, cases: Case[], timeout = 60_000): void {
  describe(title, () => {
    it.each(cases.map((c) => [c.name, c] as const))('%s', async (name, c) => {
      const outcome = c.exitCode === undefined ? await outcomeOf(c.run) : ((await c.run()) as Outcome);
      outcomes.push([name, outcome]);
      expect(outcome.kind).toBe(c.kind);
      expect(outcome.message).toMatch(c.message);
      if (c.exitCode !== undefined) expect(outcome.exitCode).toBe(c.exitCode);
    }, timeout);
  });
}

// ---- image files: found before anything is posted ---------------------------------------------------------------

const invalid = 'InvalidInputError';

table('image files', [
  { name: 'the first 40 kB of the scene', run: () => ingest({ image: fixture('truncated-40k.tif') }), kind: invalid,
    message: /truncated-40k\.tif: truncated: block \d+ of 118 \(bytes \d+-\d+\) lies past the end of the file \(40000 bytes\)/ },
  { name: 'the first 500 bytes (directory cut off)', run: () => ingest({ image: fixture('truncated-header.tif') }), kind: invalid,
    message: /truncated-header\.tif: corrupt TIFF directory .*truncated or damaged/ },
  { name: 'a tiled COG cut at 200 kB', run: () => ingest({ image: fixture('tiled-truncated.tif') }), kind: invalid,
    message: /tiled-truncated\.tif: truncated: block \d+ of 4 .* lies past the end of the file \(200000 bytes\)/ },
  { name: 'an empty file', run: () => ingest({ image: fixture('empty.tif') }), kind: invalid, message: /empty\.tif is empty \(0 bytes\), not a TIFF file/ },
  { name: 'a text file named .tif', run: () => ingest({ image: fixture('text.tif') }), kind: invalid, message: /text\.tif is not a TIFF file \(no TIFF signature\)/ },
  { name: 'a PNG named .tif', run: () => ingest({ image: fixture('png.tif') }), kind: invalid, message: /png\.tif is not a TIFF file/ },
  { name: 'a corrupt first block', run: () => ingest({ image: fixture('corrupt-first.tif') }), kind: invalid,
    message: /corrupt-first\.tif: corrupt block: block 0 \(bytes \d+-\d+\) is not valid DEFLATE data/ },
  { name: 'an unsupported compression (LZMA)', run: () => ingest({ image: fixture('lzma.tif') }), kind: invalid, message: /lzma\.tif: unsupported TIFF compression LZMA/ },
  { name: 'a missing file', run: () => ingest({ image: fixture('nowhere.tif') }), kind: 'NotFoundError', message: /image file not found: .*nowhere\.tif/ },
  { name: 'TIFF bomb: one 100000 x 100000 strip', run: () => ingest({ image: fixture('strip-bomb.tif') }), kind: invalid,
    message: /strip-bomb\.tif: one 100000 x 100000 block decodes to 9537 MiB/ },
  { name: 'TIFF bomb: 4 billion 16 x 16 tiles', run: () => ingest({ image: fixture('tile-count-bomb.tif') }), kind: invalid,
    message: /tile-count-bomb\.tif: absurd tile count: 1048576 x 1048576 pixels in 16 x 16 blocks make 4294967296 blocks/ },
  { name: 'TIFF bomb: 60000 x 60000 in 162 bytes', run: () => ingest({ image: fixture('size-bomb.tif') }), kind: invalid,
    message: /size-bomb\.tif: declares 60000 x 60000 x 1 pixels \(3433 MiB\) in a file of \d+ bytes: a TIFF bomb/ },
]);

// ---- image servers --------------------------------------------------------------------------------------------

table('image servers', [
  { name: 'HTTP: a server that hangs (read timeout)', run: () => openImage(`${http.url}/hang/scene.tif`, { httpTimeoutMs: 500 }),
    kind: 'RemoteReadError (retryable)', message: /GET http:.*\/hang\/scene\.tif \(bytes 0-65535\) failed: no answer within 0\.5 s/ },
  { name: 'HTTP: a server that answers 500', run: () => openImage(`${http.url}/500/scene.tif`), kind: 'RemoteReadError (retryable)',
    message: /GET http:.*\/500\/scene\.tif: HTTP 500 Internal Server Error/ },
  { name: 'HTTP: a server that lies about the length', run: () => ingest({ image: `${http.url}/lies/scene.tif` }), kind: invalid,
    message: /lies\/scene\.tif: the server sent 32768 bytes for bytes 0-65535 of a file it says holds 798453 bytes: its length is wrong/ },
  { name: 'HTTP: a server that ignores Range', run: () => ingest({ image: `${http.url}/whole/scene.tif` }), kind: invalid,
    message: /whole\/scene\.tif: the server ignored the Range header \(HTTP 200\)/ },
  { name: 'HTTP: a missing URL (404)', run: () => ingest({ image: `${http.url}/ok/nowhere.tif` }), kind: 'NotFoundError',
    message: /image URL not found \(HTTP 404\): .*nowhere\.tif/ },
  { name: 'HTTP: a truncated file', run: () => ingest({ image: `${http.url}/ok/truncated-40k.tif` }), kind: invalid,
    message: /ok\/truncated-40k\.tif: truncated: block \d+ of 118 .* \(40000 bytes\)/ },
], 90_000);

// ---- labels ---------------------------------------------------------------------------------------------------

table('label files', [
  { name: 'GeoJSON that is not JSON', run: async () => {
    await writeFile(fixture('broken.geojson'), '{"type": "FeatureCollection", "features": [');
    return ingest({ labels: fixture('broken.geojson') });
  }, kind: invalid, message: /label file .*broken\.geojson is not valid JSON/ },
  { name: 'GeoJSON with NaN', run: async () => {
    await writeFile(fixture('nan.geojson'), '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"class": "water"}, ' +
      '"geometry": {"type": "Polygon", "coordinates": [[[NaN, 0], [1, 0], [1, 1], [NaN, 0]]]}}]}');
    return ingest({ labels: fixture('nan.geojson') });
  }, kind: invalid, message: /nan\.geojson is not valid JSON/ },
  { name: 'GeoJSON with Infinity (1e999)', run: async () => {
    await writeFile(fixture('inf.geojson'), '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"class": "water"}, ' +
      '"geometry": {"type": "Polygon", "coordinates": [[[1e999, 0], [1, 0], [1, 1], [1e999, 0]]]}}]}');
    return ingest({ labels: fixture('inf.geojson') });
  }, kind: invalid, message: /inf\.geojson: feature 0 \(Polygon\): ring 0 has a position that is not \[x, y\] numbers: \[null,0\]/ },
  { name: 'a two-point ring', run: async () => ingest({ labels: await geojson('two-point.geojson', [polygon('water', [[288_000, 9_120_000], [289_000, 9_121_000]])]) }),
    kind: invalid, message: /two-point\.geojson: feature 0 \(Polygon\): ring 0 needs at least 4 positions/ },
  { name: 'a self-intersecting ring (bow tie): burned even-odd, as GDAL does', run: async () => {
    const [x, y, s] = [288_000, 9_120_000, 2_000];
    const labels = await geojson('bow-tie.geojson', [polygon('water', [[x, y], [x + s, y + s], [x + s, y], [x, y + s], [x, y]])]);
    return ingest({ labels, windows: 'grid', count: undefined }, 'classification');
  }, kind: 'ok', message: /posted 25, groups \{"train":25\}/ },
  { name: 'a CRS with no EPSG code', run: async () => ingest({
    labels: await geojson('local-crs.geojson', [square('water')], { crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:OGC:1.3:LOCAL' } } }) }),
    kind: invalid, message: /local-crs\.geojson declares CRS 'urn:ogc:def:crs:OGC:1\.3:LOCAL', which names no EPSG code/ },
  { name: 'no feature of the dataset\'s classes', run: async () => ingest({ labels: await geojson('other-classes.geojson', [square('forest'), square('road', 5000)]) }),
    kind: invalid, message: /other-classes\.geojson has no polygon feature whose 'class' is one of water, vegetation, urban \(found: forest, road\)/ },
  { name: 'features nowhere near the image', run: async () => ingest({ labels: await geojson('far-away.geojson', [square('water', 0, -3_000_000)]) }),
    kind: invalid, message: /far-away\.geojson: none of its 1 features lies over .*L7_ETMs\.tif .*wrong file or CRS\?/ },
]);

// ---- names, classes and groups --------------------------------------------------------------------------------

table('names and classes', [
  { name: 'a name with quotes and SQL: stored verbatim', run: async () => {
    const name = `Robert'); drop table datasets; -- "x"`;
    const coll = await create('classification', { name });
    const found = await stack.veda().search({ name: 'drop table' });
    return `name ${JSON.stringify((await coll.doc()).name)}, found by search: ${found.some((c) => c.id === coll.id)}`;
  }, kind: 'ok', message: /name "Robert'\); drop table datasets; -- \\"x\\"", found by search: true/ },
  { name: 'classes with quotes, .., / and unicode: stored verbatim', run: async () => {
    const classes = [`it's "water"`, '../../etc/passwd', 'a/b\\c', 'água 🌊'];
    const coll = await create('classification', { classes });
    return `classes ${JSON.stringify((await coll.doc()).classes)}`;
  }, kind: 'ok', message: /classes \["it's \\"water\\"","\.\.\/\.\.\/etc\/passwd","a\/b\\\\c","água 🌊"\]/ },
  { name: 'an empty class list', run: () => create('classification', { classes: [] }), kind: invalid, message: /invalid dataset: classes: must name at least one class/ },
  { name: 'a class named twice', run: () => create('classification', { classes: ['water', 'water'] }), kind: invalid, message: /classes: must be unique, repeated: water/ },
  { name: 'a group named ../evil', run: () => ingest({ group: '../evil' }), kind: invalid, message: /invalid group name "\.\.\/evil": value: must be one name without \// },
  { name: 'a group named a/b (would nest HDF5 groups)', run: async () => (await create('classification')).feed([{ source: OLINDA.image, window: [0, 0, 64, 64], label: [1, 0, 0] }], { group: 'a/b' }),
    kind: invalid, message: /invalid group name "a\/b"/ },
  { name: 'a unicode group name: accepted', run: () => ingest({ group: 'entraînement' }), kind: 'ok', message: /posted 8, groups \{"entraînement":8\}/ },
  { name: 'a dataset id with path separators', run: () => stack.veda().fromId('../../etc/passwd'), kind: 'NotFoundError', message: /dataset \.\.\/\.\.\/etc\/passwd not found/ },
]);

// ---- numbers --------------------------------------------------------------------------------------------------

table('counts, tile sizes and strides', [
  { name: 'count 0', run: () => ingest({ count: 0 }), kind: invalid, message: /count 0 must be a whole number of at least 1/ },
  { name: 'count -3', run: () => ingest({ count: -3 }), kind: invalid, message: /count -3 must be a whole number of at least 1/ },
  { name: 'count 2.5', run: () => ingest({ count: 2.5 }), kind: invalid, message: /count 2\.5 must be a whole number of at least 1/ },
  { name: 'count 2,000,000', run: () => ingest({ count: 2_000_000 }), kind: invalid, message: /count 2000000 must be a whole number from 1 to 1000000/ },
  { name: 'a group count of -5', run: () => ingest({ count: undefined, groups: { train: 10, test: -5 } }), kind: invalid, message: /group test: count -5 must be a whole number of at least 0/ },
  { name: 'tile size 0 x 0', run: () => stack.veda().create({ name: 't', mlType: 'classification', tileSize: [0, 0], classes: ['a'] }), kind: invalid, message: /invalid dataset: tileSize\[0\]: .*tileSize\[1\]/ },
  { name: 'tile size -64', run: () => stack.veda().create({ name: 't', mlType: 'classification', tileSize: [-64, 64], classes: ['a'] }), kind: invalid, message: /tileSize\[0\]: Too small/ },
  { name: 'tile size 1,000,000', run: () => stack.veda().create({ name: 't', mlType: 'classification', tileSize: [1e6, 1e6], classes: ['a'] }), kind: invalid, message: /tileSize\[0\]: Too big: expected number to be <=4096/ },
  { name: 'tile size 32.5', run: () => stack.veda().create({ name: 't', mlType: 'classification', tileSize: [32.5, 32], classes: ['a'] }), kind: invalid, message: /tileSize\[0\]: Invalid input: expected int, received number/ },
  { name: 'a tile larger than the image', run: async () => {
    const coll = await stack.veda().create({ name: 'big-tile', mlType: 'segmentation', tileSize: [400, 400], classes: OLINDA.classes });
    return (await coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, count: 1 })).result();
  }, kind: invalid, message: /tile 400x400 is larger than the 349x352 image/ },
  { name: 'stride 0', run: () => ingest({ windows: 'grid', count: undefined, stride: 0 }), kind: invalid, message: /stride 0 must be a whole number of pixels of at least 1/ },
  { name: 'stride -8', run: () => ingest({ windows: 'grid', count: undefined, stride: -8 }), kind: invalid, message: /stride -8 must be a whole number/ },
  { name: 'stride 2.5', run: () => ingest({ windows: 'grid', count: undefined, stride: 2.5 }), kind: invalid, message: /stride 2\.5 must be a whole number/ },
  { name: '256 classes, more than a byte indexes',
    run: () => stack.veda().create({ name: 't', mlType: 'segmentation', tileSize: [64, 64], classes: Array.from({ length: 256 }, (_, i) => `c${i}`) }),
    kind: invalid, message: /classes: may name at most 255 classes/ },
  { name: 'an unknown ML type', run: () => stack.veda().create({ name: 't', mlType: 'regression' as MlType, tileSize: [64, 64], classes: ['a'] }),
    kind: invalid, message: /invalid dataset: mlType: Invalid option: expected one of "classification"\|"object_detection"\|"segmentation"/ },
]);

// ---- feed -----------------------------------------------------------------------------------------------------

const feedOne = async (mlType: MlType, label: unknown, window: [number, number, number, number] = [0, 0, 64, 64]) =>
  (await create(mlType)).feed([{ source: OLINDA.image, window, label: label as never }]);

table('labels of the wrong shape in feed', [
  { name: 'classification: 2 values for 3 classes', run: () => feedOne('classification', [1, 0]), kind: invalid, message: /pair 0: a classification label is a one-hot array of 3 zeros and ones/ },
  { name: 'classification: not zeros and ones', run: () => feedOne('classification', [0.5, 2, 0]), kind: invalid, message: /one-hot array of 3 zeros and ones/ },
  { name: 'segmentation: a 10 x 10 mask for a 64 x 64 tile', run: () => feedOne('segmentation', new Array(100).fill(0)), kind: invalid,
    message: /pair 0: a segmentation mask has 4096 whole values from 0 \(background\) to 3/ },
  { name: 'segmentation: class 9 of 3', run: () => feedOne('segmentation', new Array(4096).fill(9)), kind: invalid, message: /a segmentation mask has 4096 whole values from 0 \(background\) to 3/ },
  // Values a byte conversion would have hidden: 256 wraps to background, 1.7 truncates to class 1.
  { name: 'segmentation: 256, which a byte would wrap to 0', run: () => feedOne('segmentation', new Array(4096).fill(256)), kind: invalid,
    message: /a segmentation mask has 4096 whole values from 0 \(background\) to 3/ },
  { name: 'segmentation: 1.7, which a byte would truncate to 1', run: () => feedOne('segmentation', new Array(4096).fill(1.7)), kind: invalid,
    message: /a segmentation mask has 4096 whole values from 0 \(background\) to 3/ },
  { name: 'detection: a box outside the window', run: () => feedOne('object_detection', [[[0, 0, 100, 100]], [], []]), kind: invalid,
    message: /pair 0: a detection label is, for each of the 3 classes, a list of pixel boxes/ },
  { name: 'a window of the wrong size', run: () => feedOne('classification', [1, 0, 0], [0, 0, 32, 32]), kind: invalid,
    message: /pair 0: the window must be at non-negative integer offsets and 64x64 pixels/ },
]);

// ---- the CLI: exit code 2 -------------------------------------------------------------------------------------

table('the CLI', [
  { name: 'veda create --tile-size 0,0', run: () => cli(['create', '--name', 'x', '--ml-type', 'classification', '--tile-size', '0,0', '--classes', 'a']),
    kind: invalid, message: /--tile-size takes W,H/, exitCode: 2 },
  { name: 'veda create --ml-type regression', run: () => cli(['create', '--name', 'x', '--ml-type', 'regression', '--tile-size', '64', '--classes', 'a']),
    kind: invalid, message: /argument 'regression' is invalid/, exitCode: 2 },
  { name: 'veda ingest --count=-5', run: async () => cli(['ingest', (await create()).id, '--image', OLINDA.image, '--labels', OLINDA.labels, '--count=-5']),
    kind: invalid, message: /--count must be an integer >= 1/, exitCode: 2 },
  { name: 'veda ingest of a truncated file --wait', run: async () =>
    cli(['ingest', (await create()).id, '--image', fixture('truncated-40k.tif'), '--labels', OLINDA.labels, '--count', '5', '--wait']),
    kind: invalid, message: /truncated: block \d+ of 118 .* lies past the end of the file \(40000 bytes\)/, exitCode: 2 },
  { name: 'veda batch --size 0', run: async () => cli(['batch', (await create()).id, '--size', '0']),
    kind: invalid, message: /--size must be an integer >= 1/, exitCode: 2 },
  { name: 'veda schedule create --name ../x', run: async () =>
    cli(['schedule', 'create', (await create()).id, '--every', '24h', '--name', '../x']),
    kind: invalid, message: /schedule name "\.\.\/x" may hold letters, digits/, exitCode: 2 },
], 120_000);

// ---- a run that fails after posting ---------------------------------------------------------------------------

describe('a run that fails after posting', () => {
  it('takes back its datapoints and chips, and the dataset document says why', async () => {
    // Chunks of one row of the 5 x 5 grid, one at a time: rows 1 and 2 are posted (and their chips stored) before
    // the third row's windows meet the corrupt strip (rows 174-176).
    const rowByRow = Veda.over({
      client: stack.client,
      namespace: stack.namespace,
      taskQueue: stack.config.temporal.taskQueue,
      services: stack.services,
      user: stack.config.user,
      chunkSize: 5,
      parallelism: 1,
    });
    const coll = await rowByRow.create({ name: `hostile-${++datasets}`, mlType: 'segmentation', tileSize: [64, 64], classes: OLINDA.classes });
    const run = await coll.ingest({ image: fixture('corrupt-middle.tif'), labels: OLINDA.labels, windows: 'grid' });
    const outcome = await outcomeOf(() => run.result());
    outcomes.push(['a corrupt block met while posting and caching', outcome]);
    expect(outcome).toMatchObject({ kind: invalid, message: expect.stringMatching(/corrupt-middle\.tif: corrupt block: block 58 \(bytes \d+-\d+\) is not valid DEFLATE data/) });
    const progress = await run.query();
    expect(progress).toMatchObject({ stage: 'failed', posted: 0, removed: 10 });

    const doc = await coll.doc();
    expect(doc).toMatchObject({ count: {}, total: 0, percent_cached: 0, shape: null, bbox: null, sources: [] });
    expect(doc.last_ingest).toMatchObject({ workflowId: run.workflowId, image: fixture('corrupt-middle.tif'), failed: { removed: 10 } });
    expect(doc.last_ingest!.failed!.message).toMatch(/corrupt block: block 58/);
    const chipsDir = path.join(stack.dataDir, 'chips', 'datasets', coll.id, 'chips');
    const shards = await readdir(chipsDir).catch(() => [] as string[]);
    const chips = (await Promise.all(shards.map((s) => readdir(path.join(chipsDir, s))))).flat();
    expect(chips).toEqual([]);

    // `veda show` says so too.
    const shown = await execFileAsync(process.execPath, [BIN, 'show', coll.id, '--json'], { env: stack.childEnv });
    expect(JSON.parse(shown.stdout)).toMatchObject({ total: 0, last_ingest: { failed: { message: expect.stringMatching(/corrupt block/) } } });

    // A good ingest afterwards works as if the failed one never happened, and is the last ingest now.
    const good = await coll.ingest({ image: OLINDA.image, labels: OLINDA.labels, count: 10 });
    await good.result();
    const after = await coll.doc();
    expect(after).toMatchObject({ count: { train: 10 }, percent_cached: 100, last_ingest: { workflowId: good.workflowId, failed: null } });
  }, 120_000);

  it('keeps datapoints an earlier run posted first', async () => {
    const coll = await create('segmentation');
    // Posted without reading pixels (no cache), so the corrupt strip is not met yet.
    await (await coll.ingest({ image: fixture('corrupt-middle.tif'), labels: OLINDA.labels, windows: 'grid', count: 5, cache: false })).result();
    expect(await coll.count()).toEqual({ train: 5 });
    // The whole grid: the same 5 ids again (kept by the first run) and 20 new ones, none posted: the corrupt strip
    // is met reading their chips, before their datapoints are posted.
    const failing = await coll.ingest({ image: fixture('corrupt-middle.tif'), labels: OLINDA.labels, windows: 'grid' });
    await expect(failing.result()).rejects.toThrow(/corrupt block/);
    expect(await coll.count()).toEqual({ train: 5 });
  }, 120_000);
});

describe('the table', () => {
  it('holds at least 25 hostile cases', () => {
    expect(outcomes.length).toBeGreaterThanOrEqual(25);
  });
});
