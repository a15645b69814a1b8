/**
 * Ingest activities: thin adapters from Temporal to the domain (window plans, label encoders, the catalog).
 * Each chunk heartbeats its position and resumes from it on retry; posts are idempotent upserts.
 */
import { Context } from '@temporalio/activity';
import { InvalidInputError } from '../domain/errors.js';
import { datapointId } from '../domain/datapoints/id.js';
import type { Catalog, Datapoint, DatasetCounts, DatasetRecord } from '../domain/catalog/types.js';
import { nodataShare, type ImageSource } from '../domain/imagery/index.js';
import { claimChipShape, extendDatasetBbox, extendExtent } from './dataset-extent.js';
import { encodeLabel, featureAnchors, readWindowLabelContext } from '../domain/labels/index.js';
import { planSize, sceneArea, spreadGroupCounts, windowRange } from '../domain/windows/index.js';
import type { PlannedWindow } from '../domain/types.js';
import type {
  FinishIngestInput,
  IngestChunkInput,
  IngestChunkResult,
  IngestSpec,
  PreparedIngest,
} from './types.js';
import type { ActivityResources, ImageLeases } from './resources.js';

/** Datapoints posted per catalog statement; a heartbeat follows each. */
const POST_BATCH = 64;

export function createIngestActivities(catalog: Catalog, resources: ActivityResources) {
  async function openInputs(spec: IngestSpec, images: ImageLeases): Promise<{ dataset: DatasetRecord; image: ImageSource }> {
    const dataset = await resources.dataset(spec.datasetId);
    if (dataset.mlType !== spec.mlType) {
      throw new InvalidInputError(`dataset ${dataset.id} is ${dataset.mlType}, but the ingest asks for ${spec.mlType}`);
    }
    return { dataset, image: await images.get(spec.image) };
  }

  /** Every feature of the labels: read whole (once per worker, cached). */
  const wholeLabels = (spec: IngestSpec, dataset: DatasetRecord, image: ImageSource) =>
    resources.labels(spec.labels, dataset.classes, image.info.epsg);

  /** Window anchors of a features plan, which needs every feature; undefined for the other plans. */
  async function anchorsFor(spec: IngestSpec, dataset: DatasetRecord, image: ImageSource) {
    if (spec.plan.strategy !== 'features') return undefined;
    return featureAnchors(await wholeLabels(spec, dataset, image), image.info.geoTransform);
  }

  const prepareIngest = (spec: IngestSpec) => resources.withImages((images) => prepare(spec, images));
  const ingestChunk = (input: IngestChunkInput) => resources.withImages((images) => postChunk(input, images));
  const finishIngest = (input: FinishIngestInput) => resources.withImages((images) => finish(input, images));

  async function prepare(spec: IngestSpec, images: ImageLeases): Promise<PreparedIngest> {
    if (!spec.scenes || spec.scenes.length <= 1) return prepareScene(spec, images);
    const scenes: Array<{ spec: IngestSpec; total: number }> = [];
    let ignoredFeatures = 0;
    for (const sceneSpec of await splitByScene(spec, spec.scenes, images)) {
      const prepared = await prepareScene(sceneSpec, images);
      scenes.push({ spec: sceneSpec, total: prepared.total });
      ignoredFeatures = Math.max(ignoredFeatures, prepared.ignoredFeatures);
    }
    return { total: scenes.reduce((n, s) => n + s.total, 0), ignoredFeatures, scenes };
  }

  /** One single-scene spec per scene; a plan with a count has it spread over the scenes by ground area. */
  async function splitByScene(spec: IngestSpec, scenes: string[], images: ImageLeases): Promise<IngestSpec[]> {
    const { scenes: _all, ...single } = spec;
    const counted = spec.plan.strategy === 'random' || spec.plan.count !== undefined;
    if (!counted) return scenes.map((image) => ({ ...single, image }));
    const areas = await Promise.all(scenes.map(async (uri) => sceneArea((await images.get(uri)).info)));
    const shares = spreadGroupCounts(spec.groups, areas);
    return scenes.flatMap((image, i) => {
      const groups = shares[i]!;
      const count = groups.reduce((n, g) => n + g.count, 0);
      return count === 0 ? [] : [{ ...single, image, groups, plan: { ...spec.plan, count } }];
    });
  }

  async function prepareScene(spec: IngestSpec, images: ImageLeases): Promise<PreparedIngest> {
    const { dataset, image } = await openInputs(spec, images);
    // The whole file is read here once, to check it and count what it holds; chunks read only their windows' features.
    const labels = await wholeLabels(spec, dataset, image);
    const { info } = image;
    const bands = spec.bands ?? Array.from({ length: info.bands }, (_, i) => i + 1);
    for (const b of bands) {
      if (!Number.isInteger(b) || b < 1 || b > info.bands) {
        throw new InvalidInputError(`band ${b} does not exist in ${spec.image} (it has ${info.bands} bands)`);
      }
    }
    const { maxNodata } = spec;
    if (maxNodata !== undefined && !(typeof maxNodata === 'number' && maxNodata >= 0 && maxNodata <= 1)) {
      throw new InvalidInputError(`maxNodata ${String(maxNodata)} must be a share between 0 and 1`);
    }
    const [tileW, tileH] = dataset.tileSize;
    const [planW, planH] = spec.plan.tileSize;
    if (planW !== tileW || planH !== tileH) {
      throw new InvalidInputError(`the plan's tile ${planW}x${planH} differs from dataset ${dataset.id}'s tile ${tileW}x${tileH}`);
    }
    const shape: [number, number, number] = [bands.length, tileH, tileW];
    const total = planSize(info, spec.plan, spec.groups, await anchorsFor(spec, dataset, image));
    await claimChipShape(catalog, dataset, shape, info.dtype, spec.image);
    await catalog.addSources(dataset.id, [spec.image]);
    const { scene } = info;
    if (scene) {
      // A STAC item says what took the scene: its platform and instruments join the dataset's sensors.
      const sensors = [...new Set([...dataset.sensors, ...[scene.platform, ...scene.instruments].filter((s) => s !== null)])];
      if (sensors.length !== dataset.sensors.length) await catalog.updateDataset(dataset.id, { sensors });
    }
    const workflowId = Context.current().info.workflowExecution?.workflowId ?? null;
    await catalog.recordIngest(dataset.id, { workflowId, at: new Date().toISOString(), ...spec, ...(scene ? { scene } : {}) });
    const { skipped } = labels;
    return { total, ignoredFeatures: skipped.unknownClass + skipped.missingClass + skipped.unsupportedGeometry };
  }

  async function postChunk({ spec, start, end }: IngestChunkInput, images: ImageLeases): Promise<IngestChunkResult> {
    const ctx = Context.current();
    const { dataset, image } = await openInputs(spec, images);
    const labels = await resources.labelWindows(spec.labels, dataset.classes, image.info.epsg);
    const resumeAt = (ctx.info.heartbeatDetails as { next?: number } | undefined)?.next ?? start;
    const previous = (ctx.info.heartbeatDetails as { result?: IngestChunkResult } | undefined)?.result;
    const result: IngestChunkResult = previous ?? { windows: 0, posted: 0, skipped: 0, extent: null };
    const windows = windowRange(image.info, spec.plan, spec.groups, resumeAt, end, await anchorsFor(spec, dataset, image));

    for (let i = 0; i < windows.length; i += POST_BATCH) {
      if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
      const batch = windows.slice(i, i + POST_BATCH);
      const points: Datapoint[] = [];
      for (const w of batch) {
        result.windows++;
        if (spec.maxNodata !== undefined && (await rejectsNodata(image, w, spec))) {
          result.skipped++;
          continue;
        }
        points.push({
          id: datapointId(dataset.id, spec.image, w, w.group),
          datasetId: dataset.id,
          group: w.group,
          source: spec.image,
          window: { x: w.x, y: w.y, width: w.width, height: w.height },
          label: encodeLabel(dataset.mlType, await readWindowLabelContext(labels, image.info.geoTransform, w), spec.labelOptions),
          chipKey: null,
        });
        result.extent = extendExtent(result.extent, w);
      }
      result.posted += await catalog.upsertDatapoints(points);
      ctx.heartbeat({ next: resumeAt + i + batch.length, result });
    }
    return result;
  }

  async function finish({ spec, extent }: FinishIngestInput, images: ImageLeases): Promise<DatasetCounts> {
    const dataset = await resources.dataset(spec.datasetId);
    if (extent) await extendDatasetBbox(catalog, dataset.id, (await images.get(spec.image)).info, extent);
    return catalog.counts(dataset.id);
  }

  return { prepareIngest, ingestChunk, finishIngest };
}

async function rejectsNodata(image: ImageSource, w: PlannedWindow, spec: IngestSpec): Promise<boolean> {
  const raster = await image.readWindow(w, spec.bands);
  return nodataShare(raster, image.info.nodata) > (spec.maxNodata ?? 1);
}
