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
import { encodeLabel, featureAnchors, windowLabelContext, type LabelSource } from '../domain/labels/index.js';
import { planSize, windowRange } from '../domain/windows/index.js';
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
  async function openInputs(
    spec: IngestSpec,
    images: ImageLeases,
  ): Promise<{ dataset: DatasetRecord; image: ImageSource; labels: LabelSource }> {
    const dataset = await resources.dataset(spec.datasetId);
    if (dataset.mlType !== spec.mlType) {
      throw new InvalidInputError(`dataset ${dataset.id} is ${dataset.mlType}, but the ingest asks for ${spec.mlType}`);
    }
    const image = await images.get(spec.image);
    const labels = await resources.labels(spec.labels.uri, spec.labels.classProperty, dataset.classes, image.info.epsg);
    return { dataset, image, labels };
  }

  function anchorsFor(spec: IngestSpec, image: ImageSource, labels: LabelSource) {
    return spec.plan.strategy === 'features' ? featureAnchors(labels, image.info.geoTransform) : undefined;
  }

  const prepareIngest = (spec: IngestSpec) => resources.withImages((images) => prepare(spec, images));
  const ingestChunk = (input: IngestChunkInput) => resources.withImages((images) => postChunk(input, images));
  const finishIngest = (input: FinishIngestInput) => resources.withImages((images) => finish(input, images));

  async function prepare(spec: IngestSpec, images: ImageLeases): Promise<PreparedIngest> {
    const { dataset, image, labels } = await openInputs(spec, images);
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
    const total = planSize(info, spec.plan, spec.groups, anchorsFor(spec, image, labels));
    await claimChipShape(catalog, dataset, shape, info.dtype, spec.image);
    await catalog.addSources(dataset.id, [spec.image]);
    const workflowId = Context.current().info.workflowExecution?.workflowId ?? null;
    await catalog.recordIngest(dataset.id, { workflowId, at: new Date().toISOString(), ...spec });
    const { skipped } = labels;
    return { total, ignoredFeatures: skipped.unknownClass + skipped.missingClass + skipped.unsupportedGeometry };
  }

  async function postChunk({ spec, start, end }: IngestChunkInput, images: ImageLeases): Promise<IngestChunkResult> {
    const ctx = Context.current();
    const { dataset, image, labels } = await openInputs(spec, images);
    const resumeAt = (ctx.info.heartbeatDetails as { next?: number } | undefined)?.next ?? start;
    const previous = (ctx.info.heartbeatDetails as { result?: IngestChunkResult } | undefined)?.result;
    const result: IngestChunkResult = previous ?? { windows: 0, posted: 0, skipped: 0, extent: null };
    const windows = windowRange(image.info, spec.plan, spec.groups, resumeAt, end, anchorsFor(spec, image, labels));

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
          label: encodeLabel(dataset.mlType, windowLabelContext(labels, image.info.geoTransform, w), spec.labelOptions),
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
