/**
 * The batch activity: stream cached chips and labels of the selected datapoints into one HDF5 file. Writing goes
 * to a temporary name and is renamed into place, so a retry or a killed worker leaves the old file or a complete
 * new one. The file name derives from the workflow run, so a retried build rewrites the same version while every
 * run (a schedule's runs may share a workflow id) writes a new one.
 */
import { mkdir, readdir, rename, symlink, rm } from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import type { Catalog } from '../domain/catalog/types.js';
import { InvalidInputError } from '../domain/errors.js';
import type { ChipStore } from '../domain/chips/types.js';
import { datasetDoc } from '../domain/catalog/dataset-doc.js';
import { selectBatch, writeBatch, type BatchSample } from '../domain/batches/index.js';
import type { BuildBatchInput, BuildBatchResult } from './types.js';
import type { PixelWindow } from '../domain/types.js';
import { checkLeakage, windowOverlap } from '../domain/splits/leakage.js';
import { batchManifest } from '../domain/manifest/manifest.js';
import type { ActivityResources } from './resources.js';

/** Datapoints read from the catalog per query while collecting candidates, and while writing. */
const PAGE = 5000;
const WRITE_PAGE = 256;

export function createBatchActivities(catalog: Catalog, chips: ChipStore, resources: ActivityResources, batchDir: string) {
  async function buildBatch(input: BuildBatchInput): Promise<BuildBatchResult> {
    const ctx = Context.current();
    const dataset = await resources.dataset(input.datasetId);
    const counts = await catalog.counts(dataset.id);
    // Select on ids and groups only: labels (a segmentation mask each) are fetched a page at a time while writing,
    // so memory follows the page size, not the dataset. Pages follow the key, so each costs the same.
    const candidates: Array<{ id: string; group: string; source: string; window: PixelWindow }> = [];
    for (let after: string | null = null; ; ) {
      const page = await catalog.pageDatapoints(dataset.id, { after, limit: PAGE });
      for (const p of page.points) if (p.chipKey !== null) candidates.push({ id: p.id, group: p.group, source: p.source, window: p.window });
      ctx.heartbeat({ collected: candidates.length });
      if (page.points.length < PAGE) break;
      after = page.last;
    }
    const selected = selectBatch(candidates, input);
    const leakage = input.split ? resplitLeakage(dataset.id, selected.map((s) => s.item), input.allowLeakage) : undefined;

    // Started outside a workflow (a standalone activity), a build is a run of its own.
    const { workflowId, runId } = ctx.info.workflowExecution ?? { workflowId: `batch-${ctx.info.activityId}`, runId: ctx.info.activityId };
    const dir = path.join(batchDir, dataset.id);
    const file = input.output ? outputInside(dir, input.output) : path.join(dir, `${workflowId}.${runId.slice(-8)}.h5`);
    await mkdir(path.dirname(file), { recursive: true });
    // An earlier attempt of this build died mid-write (a killed worker): drop its partial file.
    if (ctx.info.attempt > 1) await removePartials(file);

    async function* samples(): AsyncGenerator<BatchSample> {
      for (let start = 0; start < selected.length; start += WRITE_PAGE) {
        const slice = selected.slice(start, start + WRITE_PAGE);
        const points = await catalog.getDatapoints(dataset.id, slice.map((s) => s.item.id));
        if (points.length !== slice.length) throw new Error(`datapoints of dataset ${dataset.id} were deleted while its batch was written`);
        for (const [i, point] of points.entries()) {
          const { id, source, window, label, chipKey } = point;
          yield { id, group: slice[i]!.group, source, window, label, image: await chips.get(chipKey!) };
        }
      }
    }
    // File group order: the split's, else the requested groups', else posting order (not the shuffled draw's).
    const drawn = new Set(selected.map((s) => s.group));
    const posted = [...new Set(candidates.map((c) => c.group))];
    const groups = input.split ? Object.keys(input.split) : (input.groups ?? posted).filter((g) => drawn.has(g));
    const summary = await writeBatch(
      file,
      {
        dataset: datasetDoc(dataset, counts),
        classes: dataset.classes,
        mlType: dataset.mlType,
        seed: input.seed,
        inputs: {
          ...batchManifest(dataset.sources),
          ingests: dataset.ingests,
          selection: { ...input, output: undefined },
          ...(leakage ? { leakage } : {}),
          workflowId,
          runId,
        },
        groups,
      },
      samples(),
      {
        compression: input.compression,
        onProgress: (done) => ctx.heartbeat({ done, total: selected.length }),
        signal: ctx.cancellationSignal,
      },
    );

    let latest: string | undefined;
    if (!input.output) {
      latest = path.join(dir, 'latest.h5');
      // Move the pointer atomically: a new symlink under a temporary name, renamed over the old one.
      const tmp = `${latest}.tmp-${process.pid}`;
      await rm(tmp, { force: true });
      await symlink(path.basename(file), tmp);
      await rename(tmp, latest);
    }
    return { path: file, latest, groups: summary.groups, samples: summary.samples };
  }

  return { buildBatch };
}

/**
 * A named output, which must lie in the dataset's own batch folder: the workflow input comes from a client, and
 * no client may make a worker write elsewhere (over another dataset's files, the catalog, or outside veda's
 * storage). A user's own copy elsewhere is the client's to make (`batch(size, { out })`, `veda batch --out`).
 */
function outputInside(dir: string, output: string): string {
  const file = path.resolve(dir, output);
  const relative = path.relative(dir, file);
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative) || output.split(/[\\/]/).includes('..')) {
    throw new InvalidInputError(
      `batch output ${output} is outside the dataset's batch folder ${dir}: workers write only under veda's storage ` +
        '(the client copies the file to --out)',
    );
  }
  return file;
}

/**
 * A --split shuffles samples across new groups. Refused when the dataset's own groups are spatially separate
 * (the split would undo that), and when windows share pixels (the same pixels would land in two splits) unless
 * the user allows it; then the measured overlap is returned to be recorded in the file.
 */
function resplitLeakage(datasetId: string, items: ReadonlyArray<{ group: string; source: string; window: PixelWindow }>, allow?: boolean) {
  const groups = [...new Set(items.map((i) => i.group))];
  if (groups.length > 1 && !checkLeakage(items.map((i) => ({ ...i, label: [] })), 'classification', []).leaks && !allow) {
    throw new InvalidInputError(
      `dataset ${datasetId}'s groups ${groups.join(', ')} share no pixel: --split would shuffle them into one another. ` +
        'Drop --split to keep them (choose with --groups)',
    );
  }
  const overlap = windowOverlap(items);
  if (overlap.overlapping > 0 && !allow) {
    throw new InvalidInputError(
      `${overlap.overlapping} of ${overlap.windows} windows of dataset ${datasetId} share pixels with another window ` +
        `(${(overlap.pixelShare * 100).toFixed(1)} % of the pixels they cover lie in two or more): a shuffled --split ` +
        'would put the same pixels in two splits. Ingest with --spatial-split instead, or pass --allow-leakage',
    );
  }
  return overlap;
}

/** Removes `<file>.tmp-*` left by a writer that never finished (BatchWriter's temporary names). */
async function removePartials(file: string): Promise<void> {
  const prefix = `${path.basename(file)}.tmp-`;
  const names = await readdir(path.dirname(file)).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => n.startsWith(prefix)).map((n) => rm(path.join(path.dirname(file), n), { force: true })));
}
