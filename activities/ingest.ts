/**
 * Ingest activities: thin adapters from Temporal to the domain (window plans, label encoders, the catalog).
 * Each chunk heartbeats its position and resumes from it on retry; posts insert new ids only (idempotent).
 */
import { Context } from '@temporalio/activity';
import { whileHeartbeating } from './heartbeat.js';
import { InvalidInputError } from '../domain/errors.js';
import { datapointId } from '../domain/datapoints/id.js';
import type { Catalog, DatasetCounts, DatasetRecord, NewDatapoint } from '../domain/catalog/types.js';
import type { ChipStore, LocalChipRoot } from '../domain/chips/types.js';
import { chipKey } from '../domain/chips/index.js';
import type { ImageSource } from '../domain/imagery/index.js';
import { bytesPerSample } from '../domain/imagery/dtypes.js';
import { checkChipShape, claimChipShape } from './chip-shape.js';
import { extendDatasetBbox } from './dataset-bbox.js';
import { encodeLabel, featureAnchors, windowLabelContext } from '../domain/labels/index.js';
import { cellsPerGroup, drawCellLayout, planSize, sceneArea, spreadGroupCounts, windowRange, windowsAt, type CellLayout, type HeldWindow } from '../domain/windows/index.js';
import { candidatePlan, selectBalanced } from '../domain/windows/balance.js';
import { describeSource, VEDA_VERSION } from '../domain/manifest/manifest.js';
import { LABEL_ENCODING_VERSION } from '../domain/labels/encoding-version.js';
import { cellsOutsideAoi, loadAoi } from '../domain/labels/aoi.js';
import type { LabelSource } from '../domain/labels/index.js';
import { unionBounds, windowBounds, windowBox } from '../domain/geo/index.js';
import type { PlannedWindow } from '../domain/types.js';
import type {
  AbandonIngestInput,
  FinishIngestInput,
  IngestChunkInput,
  IngestChunkResult,
  IngestSpec,
  PreparedIngest,
} from './types.js';
import type { ActivityResources, ImageLeases } from './worker-caches.js';
import { batchesOf, CHIP_WRITES, eachConcurrently, eachLoadingNext } from './read-ahead.js';

/** Datapoints posted per catalog statement; a heartbeat follows each. */
const POST_BATCH = 64;
/** Bound on the chips a caching chunk holds at once (a batch's, read before they are stored). */
const CHIP_BATCH_BYTES = 64 * 1024 * 1024;
/** Chips a failed ingest deletes at once. */
const CHIP_DELETES = 16;
/** Datapoints read per catalog query while collecting the windows other groups hold. */
const HELD_PAGE = 5000;

export function createIngestActivities(catalog: Catalog, chips: ChipStore, resources: ActivityResources) {
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

  // Planning reads the whole label file and hashes the inputs, which for large ones outlasts the heartbeat timeout.
  const prepareIngest = (spec: IngestSpec) => whileHeartbeating(() => resources.withImages((images) => prepare(spec, images)));
  const ingestChunk = (input: IngestChunkInput) => resources.withImages((images) => postChunk(input, images));
  const finishIngest = (input: FinishIngestInput) => resources.withImages((images) => finish(input, images));

  async function prepare(spec: IngestSpec, images: ImageLeases): Promise<PreparedIngest> {
    if (!spec.scenes || spec.scenes.length <= 1) return prepareScene(spec, images, { labelsOverImage: true });
    if (spec.split?.spatial || spec.aoi || spec.balance) {
      throw new InvalidInputError('spatial splits, regions of interest and balanced classes take one scene per ingest: ingest each scene on its own');
    }
    const scenes: Array<{ spec: IngestSpec; total: number }> = [];
    let ignoredFeatures = 0;
    for (const sceneSpec of await splitByScene(spec, spec.scenes, images)) {
      // One label file may cover only some of the scenes.
      const prepared = await prepareScene(sceneSpec, images, { labelsOverImage: false });
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

  async function prepareScene(spec: IngestSpec, images: ImageLeases, checks: { labelsOverImage: boolean }): Promise<PreparedIngest> {
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
    const imageBounds = windowBounds(info.geoTransform, { x: 0, y: 0, width: info.width, height: info.height });
    if (checks.labelsOverImage && labels.query(imageBounds).length === 0) {
      const b = labels.features.map((f) => f.bbox).reduce((a, f) => unionBounds(a, f));
      const crs = info.epsg === null ? 'the image CRS' : `EPSG:${info.epsg}`;
      throw new InvalidInputError(
        `${spec.labels.uri}: none of its ${labels.features.length} features lies over ${spec.image} ` +
          `(labels span [${b.map(round).join(', ')}], the image [${imageBounds.map(round).join(', ')}], in ${crs}); wrong file or CRS?`,
      );
    }
    const shape: [number, number, number] = [bands.length, tileH, tileW];
    // Several scenes at once keep the plain plans (see prepare); one scene gets a layout and balance when asked.
    const layout = checks.labelsOverImage ? await layoutFor(spec, image) : null;
    const balanced = spec.balance ? pickBalanced(spec, dataset, image, labels, layout) : undefined;
    const total = balanced ? balanced.picks.length : planSize(info, spec.plan, spec.groups, await anchorsFor(spec, dataset, image), layout ?? undefined);
    await claimChipShape(catalog, dataset, shape, info.dtype, spec.image);
    await catalog.addSources(dataset.id, [spec.image]);
    const { scene } = info;
    if (scene) {
      // A STAC item says what took the scene: its platform and instruments join the dataset's sensors.
      const sensors = [...new Set([...dataset.sensors, ...[scene.platform, ...scene.instruments].filter((s) => s !== null)])];
      if (sensors.length !== dataset.sensors.length) await catalog.updateDataset(dataset.id, { sensors });
    }
    const split = layout ? { cell: layout.cell, buffer: layout.buffer, columns: layout.columns, rows: layout.rows, cells: cellsPerGroup(layout) } : null;
    const [imageSource, labelSource, aoiSource] = await Promise.all([
      describeSource(spec.image),
      describeSource(spec.labels.uri),
      spec.aoi ? describeSource(spec.aoi) : undefined,
    ]);
    const manifest = {
      vedaVersion: VEDA_VERSION,
      labelEncodingVersion: LABEL_ENCODING_VERSION,
      image: imageSource,
      labels: labelSource,
      ...(aoiSource ? { aoi: aoiSource } : {}),
      split,
      ...(balanced ? { balanced: balanced.groups } : {}),
    };
    await catalog.recordIngest(dataset.id, { workflowId: ingestRun(), at: new Date().toISOString(), ...spec, ...(scene ? { scene } : {}), manifest });
    const { skipped } = labels;
    return {
      total,
      ignoredFeatures: skipped.unknownClass + skipped.missingClass + skipped.unsupportedGeometry,
      layout,
      ...(balanced ? { picks: balanced.picks, balanced: balanced.groups } : {}),
    };
  }

  /** Scans the candidate plan in order and keeps what the quotas allow (see domain/windows/balance.ts). */
  function pickBalanced(spec: IngestSpec, dataset: DatasetRecord, image: ImageSource, labels: LabelSource, layout: CellLayout | null) {
    const candidates = candidatePlan(image.info, spec.plan, spec.groups, layout ?? undefined);
    return selectBalanced({
      mlType: dataset.mlType,
      classes: dataset.classes,
      balance: spec.balance!,
      groups: spec.groups,
      candidateGroups: candidates.groups,
      candidates: (s, e) => windowRange(image.info, candidates.plan, candidates.groups, s, e, undefined, layout ?? undefined),
      label: (w) => encodeLabel(dataset.mlType, windowLabelContext(labels, image.info.geoTransform, w), spec.labelOptions),
      onProgress: (scanned) => Context.current().heartbeat({ scanned }),
    });
  }

  /**
   * The cells each group may use: drawn for a spatial split, or the whole image less what other groups hold.
   * Null (the plain plan) when the ingest is not split and no other group holds pixels of the image.
   */
  async function layoutFor(spec: IngestSpec, image: ImageSource): Promise<CellLayout | null> {
    const split = spec.split ?? { spatial: false, seed: 0 };
    const aoi = spec.aoi ? await loadAoi(spec.aoi, image.info.epsg) : null;
    const held = spec.allowOverlap ? [] : await heldWindows(spec.datasetId, spec.image);
    const ours = new Set(spec.groups.map((g) => g.group));
    const others = held.filter((w) => !ours.has(w.group));
    if (!split.spatial) {
      if (others.length === 0 && !spec.aoi) return null;
      if (spec.groups.length > 1 && spec.aoi && others.length === 0) {
        throw new InvalidInputError('a region of interest with several groups needs a spatial split (--spatial-split)');
      }
      if (spec.groups.length > 1) {
        const names = [...new Set(others.map((w) => w.group))].join(', ');
        throw new InvalidInputError(
          `dataset ${spec.datasetId} already holds windows of ${spec.image} in ${names}: ingest several groups at once with a ` +
            'spatial split, one group at a time, or allow the overlap',
        );
      }
    }
    const layout = drawCellLayout({
      image: image.info,
      tile: spec.plan.tileSize,
      groups: spec.groups,
      seed: split.seed,
      ...(split.cell !== undefined ? { cell: split.cell } : {}),
      buffer: split.buffer ?? 0,
      spatial: split.spatial,
      held,
      ...(aoi ? { blocked: (grid: { cell: number; columns: number; rows: number }) => cellsOutsideAoi(aoi, image.info.geoTransform, image.info, grid) } : {}),
    });
    if (!/[^-]/.test(layout.cells)) {
      throw new InvalidInputError(
        aoi && others.length === 0
          ? `the region of interest ${spec.aoi} covers no whole cell of ${layout.cell} px of ${spec.image}: use smaller cells (--cell)`
          : `the other groups of dataset ${spec.datasetId}${aoi ? ' and the region of interest' : ''} leave no cell of ${layout.cell} px of ` +
              `${spec.image}: use smaller cells, another image, or allow the overlap`,
      );
    }
    return layout;
  }

  /** Windows the dataset already has on this image (ingested or fed), whatever their group. */
  async function heldWindows(datasetId: string, source: string): Promise<HeldWindow[]> {
    const held: HeldWindow[] = [];
    for (let after: string | null = null; ; ) {
      const page = await catalog.pageDatapointRefs(datasetId, { after, limit: HELD_PAGE });
      for (const p of page.points) if (p.source === source) held.push({ group: p.group, ...p.window });
      Context.current().heartbeat({ held: held.length });
      if (page.points.length < HELD_PAGE || !page.last) break;
      after = page.last;
    }
    return held;
  }


  async function postChunk({ spec, start, end, layout, picks, cache }: IngestChunkInput, images: ImageLeases): Promise<IngestChunkResult> {
    const ctx = Context.current();
    const opened = await openInputs(spec, images);
    const { image } = opened;
    let { dataset } = opened;
    const resumeAt = (ctx.info.heartbeatDetails as { next?: number } | undefined)?.next ?? start;
    const previous = (ctx.info.heartbeatDetails as { result?: IngestChunkResult } | undefined)?.result;
    const result: IngestChunkResult = previous ?? { windows: 0, posted: 0, skipped: 0, cached: 0, extent: null };
    const windows = picks
      ? pickedWindows(spec, image, layout, picks.slice(resumeAt - start))
      : windowRange(image.info, spec.plan, spec.groups, resumeAt, end, await anchorsFor(spec, dataset, image), layout ?? undefined);
    const labelBatch = (batch: PlannedWindow[]) =>
      resources.compute.labelWindows({
        labels: spec.labels,
        classes: dataset.classes,
        imageEpsg: image.info.epsg,
        geoTransform: image.info.geoTransform,
        mlType: dataset.mlType,
        labelOptions: spec.labelOptions,
        windows: batch.map(({ x, y, width, height }) => ({ x, y, width, height })),
        ...(spec.maxNodata !== undefined ? { nodata: { image: spec.image, ...(spec.bands ? { bands: spec.bands } : {}), maxNodata: spec.maxNodata } } : {}),
      });

    /**
     * A caching chunk reads and stores a batch's chips before posting its datapoints, already cached: one pass over
     * the windows instead of a cache stage reading the catalog back. Chips first, rows second: a crash in between
     * leaves stored chips that the retry (resuming at this batch) stores again, never a row without its chip.
     */
    async function storeChips(points: NewDatapoint[]): Promise<void> {
      const local = chips.local?.();
      if (local) return storeLocalChips(points, local);
      const read = await resources.compute.readWindows({ image: spec.image, ...(spec.bands ? { bands: spec.bands } : {}), windows: points.map((p) => p.window) });
      for (const [i, point] of points.entries()) {
        dataset = await checkChipShape(catalog, dataset, read[i]!, spec.image);
        point.chipKey = chipKey(dataset.id, point.id);
      }
      await eachConcurrently(points, CHIP_WRITES, (point, i) => chips.put(point.chipKey!, read[i]!));
      // Stored: their buffers can carry later windows (ChipStore.put keeps no chip).
      resources.compute.recycle(read);
    }

    /**
     * Local chips are stored by the thread that reads them (ComputePool.storeWindows). The shape a window's chip has
     * is known beforehand (its bands and size, the image's dtype): the dataset claims it before any chip is written.
     */
    async function storeLocalChips(points: NewDatapoint[], store: LocalChipRoot): Promise<void> {
      const bands = spec.bands?.length ?? image.info.bands;
      const { dtype } = image.info;
      for (const point of points) {
        dataset = await claimChipShape(catalog, dataset, [bands, point.window.height, point.window.width], dtype, spec.image);
        point.chipKey = chipKey(dataset.id, point.id);
      }
      const shapes = await resources.compute.storeWindows({
        image: spec.image,
        ...(spec.bands ? { bands: spec.bands } : {}),
        windows: points.map((p) => p.window),
        keys: points.map((p) => p.chipKey!),
        store,
      });
      for (const [i, shape] of shapes.entries()) {
        const { width, height } = points[i]!.window;
        if (shape.dtype !== dtype || shape.bands !== bands || shape.width !== width || shape.height !== height) {
          throw new Error(`the chip of window ${JSON.stringify(points[i]!.window)} of ${spec.image} came out ${shape.dtype} [${shape.bands}, ${shape.height}, ${shape.width}]`);
        }
      }
    }

    let next = resumeAt;
    await eachLoadingNext(batchesOf(windows, cache ? chipBatch(image, spec) : POST_BATCH), labelBatch, async (labels, batch) => {
      if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
      const points: NewDatapoint[] = [];
      for (const [j, w] of batch.entries()) {
        result.windows++;
        const label = labels[j];
        if (!label) {
          result.skipped++; // too much nodata
          continue;
        }
        points.push({
          id: datapointId(dataset.id, spec.image, w, w.group),
          datasetId: dataset.id,
          group: w.group,
          source: spec.image,
          window: { x: w.x, y: w.y, width: w.width, height: w.height },
          label,
          chipKey: null,
        });
        result.extent = unionBounds(result.extent, windowBox(w));
      }
      if (cache && points.length > 0) {
        // Datapoints an earlier run posted keep their rows (the insert skips them) and their chips (or the cache
        // stage stores them): a re-run or a resumed run reads and stores no window twice.
        const posted = new Set((await catalog.getDatapoints(dataset.id, points.map((p) => p.id))).map((p) => p.id));
        const fresh = points.filter((p) => !posted.has(p.id));
        if (fresh.length > 0) await storeChips(fresh);
        result.cached = (result.cached ?? 0) + fresh.length;
      }
      result.posted += await catalog.insertDatapoints(points, { ingestRun: ingestRun() ?? undefined });
      next += batch.length;
      ctx.heartbeat({ next, result });
    });
    return result;
  }

  async function finish({ spec, extent }: FinishIngestInput, images: ImageLeases): Promise<DatasetCounts> {
    const dataset = await resources.dataset(spec.datasetId);
    if (extent) await extendDatasetBbox(catalog, dataset.id, (await images.get(spec.image)).info, extent);
    return catalog.counts(dataset.id);
  }

  /**
   * A failed run takes back what it posted, so nothing of it looks like data: its datapoints (those an earlier
   * run posted first are kept) and their chips; its ingest record says why it failed. Safe to repeat.
   */
  async function abandonIngest({ spec, message }: AbandonIngestInput): Promise<{ removed: number }> {
    const ctx = Context.current();
    const run = ingestRun();
    if (!run) return { removed: 0 };
    // Chips first (a chip may be stored before the catalog marks it cached), then the rows: a retry finds the ids.
    const ids = await catalog.ingestRunIds(spec.datasetId, run);
    for (let i = 0; i < ids.length; i += CHIP_DELETES) {
      await Promise.all(ids.slice(i, i + CHIP_DELETES).map((id) => chips.deletePrefix(chipKey(spec.datasetId, id))));
      ctx.heartbeat({ chipsDeleted: i });
    }
    const removed = await catalog.removeIngestRun(spec.datasetId, run);
    // Left empty, the dataset takes no shape, bbox or source from the failed run: the next ingest starts afresh.
    if ((await catalog.counts(spec.datasetId)).total === 0) {
      await catalog.updateDataset(spec.datasetId, { shape: null, dtype: null, bbox: null, sources: [] });
    }
    await catalog.markIngestFailed(spec.datasetId, { workflowId: run, at: new Date().toISOString(), ...spec }, {
      at: new Date().toISOString(),
      message,
      removed,
    });
    return { removed };
  }

  return { prepareIngest, ingestChunk, finishIngest, abandonIngest };
}

/** The ingest's workflow id: datapoints carry it so a failed run can take back what it posted. */
function ingestRun(): string | null {
  return Context.current().info.workflowExecution?.workflowId ?? null;
}

const round = (v: number) => Math.round(v * 1000) / 1000;

/** Windows per batch of a caching chunk: POST_BATCH, or fewer when that many chips would pass CHIP_BATCH_BYTES. */
function chipBatch(image: ImageSource, spec: IngestSpec): number {
  const [width, height] = spec.plan.tileSize;
  const chipBytes = (spec.bands?.length ?? image.info.bands) * width * height * bytesPerSample(image.info.dtype);
  return Math.max(1, Math.min(POST_BATCH, Math.floor(CHIP_BATCH_BYTES / chipBytes)));
}

function pickedWindows(spec: IngestSpec, image: ImageSource, layout: CellLayout | null | undefined, picks: number[]): PlannedWindow[] {
  const candidates = candidatePlan(image.info, spec.plan, spec.groups, layout ?? undefined);
  return windowsAt(image.info, candidates.plan, candidates.groups, picks, undefined, layout ?? undefined);
}
