/**
 * The pipeline through Temporal: ingest + cache of N random windows of the Olinda scene on a real local stack
 * (dev server, embedded catalog, in-process worker) against the same domain steps called directly in one loop
 * (plan, encode, read, store chips, post datapoints cached, as an ingest chunk does) on the same catalog and chip
 * store. Both do the pixel work on one thread (the worker without compute threads). The ratio is what
 * orchestration costs: activities, history, heartbeats.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config/config.js';
import { Veda } from '../client/veda.js';
import type { Datapoint, NewDataset } from '../domain/catalog/types.js';
import { chipKey } from '../domain/chips/index.js';
import { datapointId } from '../domain/datapoints/id.js';
import { openImage, type ImageSource } from '../domain/imagery/index.js';
import { encodeLabel, loadLabelSource, windowLabelContext, type LabelSource } from '../domain/labels/index.js';
import type { MlType } from '../domain/types.js';
import { planWindows } from '../domain/windows/index.js';
import { startLocalStack, type LocalStack } from '../stack/local-stack.js';
import type { Services } from '../runtime/services.js';
import { OLINDA } from './fixtures.js';
import { compare, timeRounds, type BenchOptions, type Comparison } from './harness.js';

const TILE = 64;
const ML_TYPE: MlType = 'segmentation';
/** The workflows' default chunk, passed explicitly so the report states what ran. */
const CHUNK_SIZE = 128;
/** Datapoints per catalog statement in the direct loop (what the ingest activity posts at once). */
const POST_BATCH = 64;

export async function benchPipeline(options: BenchOptions): Promise<Comparison[]> {
  const { warmup, log } = options;
  const windows = options.windows ?? (options.quick ? 200 : 1000);
  const repeats = Math.min(options.repeats, 3); // a round is seconds long: three are enough for a median
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'veda-bench-'));
  // A stack of its own whatever the shell says: local dev server, embedded catalog, temp data dir.
  const config = loadConfig({
    ...process.env,
    VEDA_DATA_DIR: dataDir,
    DATABASE_URL: '',
    TEMPORAL_ADDRESS: '',
    VEDA_USER: 'bench',
    VEDA_TASK_QUEUE: 'veda-bench',
    // Like for like with the loop: the worker's main thread does the pixel work.
    VEDA_COMPUTE_THREADS: '0',
  });
  // Open once, as the worker keeps them open across activities.
  const image = await openImage(OLINDA.image);
  const labels = await loadLabelSource(OLINDA.labels, { classes: OLINDA.classes, imageEpsg: image.info.epsg });
  let stack: LocalStack | undefined;
  try {
    log('pipeline: starting a local stack');
    stack = await startLocalStack(config);
    const { client, namespace, services } = stack;
    const settings = {
      'ML type': ML_TYPE,
      'chunk size': CHUNK_SIZE,
      'worker activity slots': config.worker.maxConcurrentActivities,
      catalog: 'embedded (PGlite)',
      temporal: 'local dev server',
      'compute threads': 0,
    };
    const vedaWith = (parallelism: number) =>
      Veda.over({
        client,
        namespace,
        taskQueue: config.temporal.taskQueue,
        services,
        user: config.user,
        chunkSize: CHUNK_SIZE,
        parallelism,
      });
    const ingestThrough = (veda: Veda, name: string) => async (seed: number) => {
      const collection = await veda.create(newDataset(`${name}-${seed}`));
      const run = await collection.ingest({ image: OLINDA.image, labels: OLINDA.labels, count: windows, seed });
      const final = await run.result();
      if (final.posted !== windows || final.percentCached !== 100) {
        throw new Error(`the ingest posted ${final.posted} of ${windows} windows and cached ${final.percentCached}%`);
      }
      return windows;
    };
    // A round is a seed: every subject makes a dataset of its own from the same windows.
    const rounds = Array.from({ length: warmup + repeats }, (_, seed) => seed);
    log(`pipeline: ${windows} windows per round through Temporal and directly`);
    const rates = await timeRounds(rounds, warmup, {
      temporal: ingestThrough(vedaWith(config.worker.chunkParallelism), 'temporal'),
      // One chunk in flight, like the direct loop: what orchestration costs without parallelism hiding it.
      temporalSerial: ingestThrough(vedaWith(1), 'temporal-serial'),
      direct: (seed) =>
        ingestDirectly(services, image, labels, windows, { ...newDataset(`direct-${seed}`), userId: config.user }, seed),
    });
    const common = {
      bench: 'pipeline',
      unit: 'windows/s',
      subject: 'Temporal',
      baseline: 'direct loop',
      baselineRate: rates.direct,
      settings,
    };
    const what = `Olinda ingest + cache, ${windows} windows ${TILE}x${TILE}`;
    return [
      compare({ ...common, case: `${what}, ${config.worker.chunkParallelism} chunks in flight`, subjectRate: rates.temporal }),
      compare({ ...common, case: `${what}, 1 chunk in flight`, subjectRate: rates.temporalSerial }),
    ];
  } finally {
    await stack?.stop();
    await image.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

function newDataset(name: string): Omit<NewDataset, 'userId'> {
  return { name, mlType: ML_TYPE, tileSize: [TILE, TILE], classes: OLINDA.classes };
}

/** An ingest chunk's domain calls, in one loop without Temporal: `count` windows of a new dataset, posted cached. */
async function ingestDirectly(
  { catalog, chips }: Services,
  image: ImageSource,
  labels: LabelSource,
  count: number,
  record: NewDataset,
  seed: number,
): Promise<number> {
  const dataset = await catalog.createDataset(record);
  const windows = planWindows(image.info, { strategy: 'random', count, seed, tileSize: [TILE, TILE] }, [{ group: 'train', count }]);
  for (let i = 0; i < windows.length; i += POST_BATCH) {
    const points: Datapoint[] = windows.slice(i, i + POST_BATCH).map((w) => {
      const window = { x: w.x, y: w.y, width: w.width, height: w.height };
      return {
        id: datapointId(dataset.id, OLINDA.image, window, w.group),
        datasetId: dataset.id,
        group: w.group,
        source: OLINDA.image,
        window,
        label: encodeLabel(ML_TYPE, windowLabelContext(labels, image.info.geoTransform, window)),
        chipKey: null,
      };
    });
    for (const point of points) {
      point.chipKey = chipKey(dataset.id, point.id);
      await chips.put(point.chipKey, await image.readWindow(point.window));
    }
    await catalog.insertDatapoints(points);
  }
  return count;
}
