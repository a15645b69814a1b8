/**
 * End to end, as a user runs it: `veda create`, `veda ingest --count N --wait` (plan, labels, post, cache) and
 * `veda batch --out` through the CLI (bin/veda.js) against a local stack with a `veda worker` process, on a
 * 4188 x 4224 x 6 uint16 COG and its 65,088 land-cover polygons in a GeoPackage. The baseline does the same work in
 * one Python process with GDAL and h5py (py/end_to_end.py): read each window, rasterize its mask from the
 * GeoPackage, write images and masks to HDF5. Both take the same windows: the plan veda's `--seed` makes.
 */
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { loadConfig } from '../config/config.js';
import type { PixelWindow } from '../domain/types.js';
import { planWindows } from '../domain/windows/index.js';
import type { Progress } from '../workflows/progress.js';
import { sceneFixture, type SceneFixture } from './fixtures.js';
import { compare, timeRounds, type BenchOptions, type Comparison } from './harness.js';
import { GDAL_PYTHON, PythonBaseline } from './python.js';
import { ROOT, startWorkerStack, type WorkerStack } from './worker-stack.js';

const TILE = 256;
/** Olinda copies per side: 12 x 12 makes 4188 x 4224 pixels. */
const COPIES = 12;
/** The untimed first round: warms the worker (label index, image, Temporal) and Python with a few windows. */
const WARMUP_WINDOWS = 16;
/**
 * Timed rounds, each its own dataset and windows; the rate is their median. One round let a single page-cache
 * hiccup of this VM decide the ratio (a batch took 3 s or 5 s with the same code, minutes apart).
 */
const TIMED_ROUNDS = 3;

const run = promisify(execFile);

/** A round: a dataset of its own, `count` random windows planned with `seed`. */
interface Round {
  seed: number;
  count: number;
}

/** Wall-clock seconds of veda's two timed CLI commands in a round. */
interface Split {
  ingest: number;
  batch: number;
}

export async function benchEndToEnd(options: BenchOptions): Promise<Comparison[]> {
  const { outDir, log } = options;
  const count = options.windows ?? (options.quick ? 200 : 1000);
  log('end to end: building dist/ for the veda command, making the scene on the first run (about 20 s)');
  await run('bash', [path.join(ROOT, 'scripts/build.sh')]);
  const scene = await sceneFixture(outDir, COPIES);
  const gdal = await PythonBaseline.start(GDAL_PYTHON, 'end_to_end.py', {
    image: scene.image,
    labels: scene.labels,
    layer: scene.layer,
    attribute: 'class_id',
  });
  let stack: WorkerStack | undefined;
  try {
    log('end to end: starting a Temporal dev server, a PostgreSQL database and a veda worker');
    stack = await startWorkerStack('bench-e2e');
    const { env } = stack;
    const splits: Split[] = [];
    const gdalSeconds: number[] = [];
    const rounds: Round[] = [{ seed: 1, count: WARMUP_WINDOWS }, ...Array.from({ length: TIMED_ROUNDS }, (_, i) => ({ seed: 2 + i, count }))];
    log(`end to end: ${WARMUP_WINDOWS} windows to warm up, then ${TIMED_ROUNDS} rounds of ${count} through the veda CLI and through GDAL + h5py`);
    const rates = await timeRounds(rounds, 1, {
      veda: async (round) => {
        const split = await throughCli(env, scene, round, outDir);
        splits.push(split);
        return { items: round.count, seconds: split.ingest + split.batch };
      },
      gdal: async (round) => {
        const out = path.join(outDir, `e2e-gdal-${round.seed}.h5`);
        const seconds = await gdal.round({ windows: plannedWindows(scene, round), out });
        await rm(out);
        gdalSeconds.push(seconds);
        return { items: round.count, seconds };
      },
    });
    const settings = { ...splitSettings(splits, gdalSeconds), 'worker peak RSS': `${(await stack.peakRssMiB()).toFixed(0)} MiB` };
    const slots = loadConfig(env).worker.maxConcurrentActivities;
    return [
      compare({
        bench: 'end to end',
        case:
          `${scene.width}x${scene.height}x${scene.bands} uint16 COG, ${scene.features.toLocaleString('en-US')} polygons ` +
          `(GeoPackage), segmentation ${TILE}x${TILE}, ${count} windows`,
        unit: 'windows/s',
        subject: 'veda CLI',
        subjectRate: rates.veda,
        baseline: 'GDAL + h5py',
        baselineRate: rates.gdal,
        settings: { ...settings, worker: `one process, started and warmed up before timing, ${slots} activity slots`, catalog: 'PostgreSQL' },
      }),
    ];
  } finally {
    await stack?.stop();
    await gdal.close();
  }
}

/** The split of the timed round with the median time, every timed round, and the warm-up's ingest (a cold worker). */
function splitSettings(splits: readonly Split[], gdalSeconds: readonly number[]): Record<string, string> {
  const [cold, ...timed] = splits;
  const total = (split: Split) => split.ingest + split.batch;
  const median = [...timed].sort((a, b) => total(a) - total(b))[timed.length >> 1]!;
  return {
    'ingest + cache': `${median.ingest.toFixed(1)} s`,
    batch: `${median.batch.toFixed(1)} s`,
    'in all': `${total(median).toFixed(1)} s (the median round)`,
    'rounds, veda / GDAL + h5py': timed.map((split, i) => `${total(split).toFixed(1)} / ${gdalSeconds[i + 1]!.toFixed(1)} s`).join(', '),
    'cold worker': `${cold!.ingest.toFixed(1)} s to ingest the ${WARMUP_WINDOWS} warm-up windows`,
  };
}

/** The windows `veda ingest --count N --seed S` plans into one group (the ingest activity's plan, no layout). */
function plannedWindows(scene: SceneFixture, { seed, count }: Round): PixelWindow[] {
  const plan = { strategy: 'random' as const, count, seed, tileSize: [TILE, TILE] as [number, number] };
  return planWindows(scene, plan, [{ group: 'train', count }]).map(({ x, y, width, height }) => ({ x, y, width, height }));
}

/** create, ingest + cache, batch with the veda command a user runs; the wall clock of ingest and of batch. */
async function throughCli(env: NodeJS.ProcessEnv, scene: SceneFixture, round: Round, outDir: string): Promise<Split> {
  const { value: created } = await veda<{ id: string }>(env, [
    ...['create', '--name', `e2e-${round.seed}`, '--ml-type', 'segmentation', '--tile-size', `${TILE},${TILE}`],
    ...['--classes', scene.classes.join(',')],
  ]);
  const ingest = await veda<{ progress: Progress | null }>(env, [
    ...['ingest', created.id, '--image', scene.image, '--labels', scene.labels, '--layer', scene.layer],
    ...['--class-property', 'class', '--count', String(round.count), '--seed', String(round.seed), '--wait'],
  ]);
  const final = ingest.value.progress;
  if (final?.posted !== round.count || final.percentCached !== 100) {
    throw new Error(`veda ingest posted ${final?.posted} of ${round.count} windows and cached ${final?.percentCached}%`);
  }
  const out = path.join(outDir, `e2e-veda-${round.seed}.h5`);
  const batch = await veda<{ samples: number }>(env, ['batch', created.id, '--out', out]);
  await rm(out);
  if (batch.value.samples !== round.count) throw new Error(`veda batch wrote ${batch.value.samples} of ${round.count} samples`);
  return { ingest: ingest.seconds, batch: batch.seconds };
}

/** Runs `veda --json ARGS` (a process per command, as a user's shell would) and parses its answer. */
async function veda<T>(env: NodeJS.ProcessEnv, args: string[]): Promise<{ value: T; seconds: number }> {
  const start = performance.now();
  const { stdout } = await run(process.execPath, [path.join(ROOT, 'bin/veda.js'), '--json', ...args], { env, maxBuffer: 16 << 20 });
  return { value: JSON.parse(stdout) as T, seconds: (performance.now() - start) / 1000 };
}
