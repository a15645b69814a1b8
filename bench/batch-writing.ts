/**
 * Batch writing: veda's HDF5 writer (writeBatch, h5wasm) against h5py writing the same arrays in the same layout
 * (images chunked per sample, one-hot labels, windows, ids, sources), uncompressed and gzip. The samples are real
 * 6 x 64 x 64 uint8 chips of the Olinda scene, built once; h5py reads the same bytes from a file before timing.
 * Both sides fsync the file before the round ends, as veda's writer does for its atomic rename.
 */
import { rm, writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { writeBatch, type BatchSample } from '../domain/batches/index.js';
import { openImage } from '../domain/imagery/index.js';
import { encodeLabel, loadLabelSource, windowLabelContext } from '../domain/labels/index.js';
import { OLINDA, windowRounds } from './fixtures.js';
import { compare, timeRounds, type BenchOptions, type Comparison } from './harness.js';
import { H5PY_PYTHON, PythonBaseline } from './python.js';

const TILE = 64;
/** h5py's default gzip level (compression='gzip'). */
const GZIP_LEVEL = 4;
/** How many times as many rounds the uncompressed case runs as a bench's default (see below). */
const SHORT_ROUNDS = 5;

export async function benchBatchWriting(options: BenchOptions): Promise<Comparison[]> {
  const { warmup, repeats, outDir, log } = options;
  const count = options.quick ? 200 : 1000;
  log(`batch writing: reading ${count} chips of ${TILE}x${TILE}`);
  const samples = await olindaSamples(count);
  const imagesFile = path.join(outDir, 'batch-images.u8');
  await writeFile(imagesFile, Buffer.concat(samples.map((s) => s.image.data as Uint8Array)));
  const h5py = await PythonBaseline.start(H5PY_PYTHON, 'write_batch.py', {
    images: imagesFile,
    shape: [count, samples[0]!.image.bands, TILE, TILE],
    labels: samples.map((s) => s.label),
    windows: samples.map((s) => [s.window.x, s.window.y, s.window.width, s.window.height]),
    ids: samples.map((s) => s.id),
    sources: samples.map((s) => s.source),
    classes: OLINDA.classes,
  });
  const rows: Comparison[] = [];
  try {
    for (const compression of [0, GZIP_LEVEL]) {
      const name = compression ? `gzip ${compression}` : 'uncompressed';
      log(`batch writing: ${name}`);
      // An uncompressed round takes about 40 ms: `repeats` of them would time a fraction of a second, which one
      // page-cache hiccup of this VM decides. Rounds that short run SHORT_ROUNDS times as often (about 1 s timed).
      const scale = compression ? 1 : SHORT_ROUNDS;
      const rounds = Array.from({ length: (warmup + repeats) * scale }, (_, i) => i);
      const meta = { dataset: { name: 'bench' }, classes: OLINDA.classes, mlType: 'classification' as const, seed: 0, inputs: {} };
      const rates = await timeRounds(rounds, warmup * scale, {
        veda: async (i) => {
          const file = path.join(outDir, `veda-${i}.h5`);
          // Timed like h5py's rounds: the write, not the removal of the file afterwards (about 5 ms of 25 MB).
          const started = performance.now();
          await writeBatch(file, meta, samples, { compression });
          const seconds = (performance.now() - started) / 1000;
          await rm(file);
          return { items: count, seconds };
        },
        h5py: async (i) => {
          const file = path.join(outDir, `h5py-${i}.h5`);
          const seconds = await h5py.round({ path: file, compression });
          await rm(file);
          return { items: count, seconds };
        },
      });
      const { bands } = samples[0]!.image;
      rows.push(
        compare({
          bench: 'batch writing',
          case: `${count} samples ${bands}x${TILE}x${TILE} uint8, ${name}`,
          unit: 'samples/s',
          subject: 'veda',
          subjectRate: rates.veda,
          baseline: 'h5py',
          baselineRate: rates.h5py,
        }),
      );
    }
  } finally {
    await h5py.close();
  }
  return rows;
}

/** `count` distinct random windows of the Olinda scene with their one-hot labels. */
async function olindaSamples(count: number): Promise<BatchSample[]> {
  const image = await openImage(OLINDA.image);
  try {
    const { info } = image;
    const labels = await loadLabelSource(OLINDA.labels, { classes: OLINDA.classes, imageEpsg: info.epsg });
    const [windows] = windowRounds(info, TILE, count, 1);
    const samples: BatchSample[] = [];
    for (const [i, window] of windows!.entries()) {
      samples.push({
        id: `sample-${i}`,
        group: 'train',
        source: OLINDA.image,
        window,
        image: await image.readWindow(window),
        label: encodeLabel('classification', windowLabelContext(labels, info.geoTransform, window)),
      });
    }
    return samples;
  } finally {
    await image.close();
  }
}
