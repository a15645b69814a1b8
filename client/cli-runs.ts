/**
 * `veda` commands that start or follow a dataset's workflows: ingest, cache, status, cancel.
 */
import { Option, type Command } from 'commander';
import { DEFAULT_MIN_BOX_SIZE } from '../domain/types.js';
import { describeProgress } from '../workflows/progress.js';
import { balanceArg, collect, groupCounts, intArg, nameList, numberList, shareArg } from './cli-args.js';
import { emit } from './cli-output.js';
import type { IngestOptions } from './ingest-options.js';
import { follow, globals, withVeda, type CliOutcome } from './cli-session.js';

/**
 * `veda status` exit codes: how the dataset's latest run ended, so `veda status ID && veda batch ID` goes on only
 * after a completed run. 0 also when the dataset has no run yet.
 */
export const STATUS_EXIT_CODES: Record<string, number> = {
  COMPLETED: 0,
  RUNNING: 10,
  CONTINUED_AS_NEW: 10,
  FAILED: 11,
  CANCELLED: 12,
  TERMINATED: 13,
  TIMED_OUT: 14,
};
const UNKNOWN_STATUS_EXIT_CODE = 1;

export function registerRunCommands(program: Command, outcome: CliOutcome): void {
  program
    .command('ingest <id>')
    .description('plan windows over an image, encode their labels, post datapoints and cache chips (a workflow)')
    .requiredOption('--image <path|url>', 'GeoTIFF / Cloud-Optimized GeoTIFF or STAC item (.json); repeat for several scenes', collect)
    .option('--assets <a,b,c>', 'STAC item assets or band names, in band order (default: its data assets)', nameList('--assets'))
    .requiredOption('--labels <path|url>', 'labelled polygons: GeoJSON, GeoPackage (.gpkg) or FlatGeobuf (.fgb); a path, an http(s) or s3:// URL')
    .option('--layer <name>', 'GeoPackage layer to read (when it has several)')
    .option('--class-property <name>', 'feature property holding the class name', 'class')
    .addOption(new Option('--windows <plan>', 'window plan').choices(['random', 'grid', 'features']).default('random'))
    .option('--count <n>', 'windows to plan (random: required)', intArg('--count', 1))
    .option('--seed <s>', 'seed of the plan and the cell draw (default: drawn, printed and recorded)', intArg('--seed'))
    .option('--stride <px>', 'grid stride in pixels (default: the tile size)', intArg('--stride', 1))
    .option('--jitter <px>', 'features plan: random shift of the window centre', intArg('--jitter'))
    .option('--group <name>', 'data group the windows feed', 'train')
    .option('--groups <a=n,b=n>', 'windows per group, e.g. train=70,val=20,test=10 (percentages with --count)', groupCounts)
    .option('--spatial-split', 'cut the image into cells drawn among the groups: no pixel in windows of two groups')
    .option('--cell <px>', 'cell side of a spatial split (default: from the tile size)', intArg('--cell', 1))
    .option('--buffer <px>', 'minimum gap between windows of two groups', intArg('--buffer'))
    .option('--allow-overlap', 'let windows land on pixels other groups of the dataset already hold')
    .option('--aoi <file>', 'region of interest (GeoJSON polygons, any CRS): windows lie inside it')
    .option('--balance <equal|a=n,b=n>', 'class quotas of each group (random windows; classification, detection)', balanceArg)
    .option('--min-labelled <share>', 'segmentation: keep windows with at least this share of labelled pixels', shareArg('--min-labelled'))
    .option('--bands <1,2,3>', 'bands to keep, 1-based (default: all)', numberList('--bands'))
    .option('--max-nodata <share>', 'reject windows with more nodata than this share', shareArg('--max-nodata'))
    .option('--all-touched', 'segmentation: burn every pixel a polygon touches')
    .option('--min-overlap <share>', 'classification: a class is present when it covers this share', shareArg('--min-overlap'))
    .option('--min-box-size <px>', `detection: drop boxes narrower or shorter than this (default ${DEFAULT_MIN_BOX_SIZE}; 0 keeps all)`, intArg('--min-box-size'))
    .option('--no-cache', 'post datapoints only; cache later with `veda cache`')
    .option('--wait', 'follow the workflow to its end')
    .action(async (id: string, o, cmd: Command) => {
      const opts = globals(cmd);
      await withVeda(opts, async (veda) => {
        const coll = await veda.fromId(id);
        // The command's options are the API's (the same names, checked by the same schema), and --wait.
        const { wait: _wait, ...options } = o as IngestOptions & { wait?: boolean };
        const run = await coll.ingest(options);
        const final = await follow(run, { ...opts, wait: o.wait }, `ingest into ${id}: workflow ${run.workflowId} (seed ${run.seed})`);
        emit(opts, { workflowId: run.workflowId, uiUrl: run.uiUrl ?? null, seed: run.seed, progress: final }, () =>
          final ? `${describeProgress(final)} (seed ${run.seed})` : `started ${run.workflowId} (seed ${run.seed})${run.uiUrl ? `\n  ${run.uiUrl}` : ''}`,
        );
      });
    });

  program
    .command('cache <id>')
    .description('cache the chips of datapoints not cached yet (a workflow)')
    .option('--wait', 'follow the workflow to its end')
    .action(async (id: string, o, cmd: Command) => {
      const opts = globals(cmd);
      await withVeda(opts, async (veda) => {
        const run = await (await veda.fromId(id)).cache();
        const final = await follow(run, { ...opts, wait: o.wait }, `cache ${id}: workflow ${run.workflowId}`);
        emit(opts, { workflowId: run.workflowId, uiUrl: run.uiUrl ?? null, progress: final }, () =>
          final ? describeProgress(final) : `started ${run.workflowId}`,
        );
      });
    });

  program
    .command('status <id>')
    .description(
      "progress of the dataset's latest workflow (queried from the workflow); exits 0 completed, 10 running, " +
        '11 failed, 12 cancelled, 13 terminated, 14 timed out',
    )
    .action(async (id: string, _o, cmd: Command) => {
      const opts = globals(cmd);
      await withVeda(opts, async (veda) => {
        await veda.fromId(id);
        const run = await veda.latestRun(id);
        const status = run ? await run.status() : null;
        const progress = run ? await run.query() : null;
        outcome.exitCode = status ? (STATUS_EXIT_CODES[status] ?? UNKNOWN_STATUS_EXIT_CODE) : 0;
        emit(opts, { datasetId: id, workflowId: run?.workflowId ?? null, uiUrl: run?.uiUrl ?? null, status, progress }, () =>
          progress ? `${run!.workflowId} ${status!.toLowerCase()}: ${describeProgress(progress)}` : `dataset ${id} has no workflow runs yet`,
        );
      });
    });

  program
    .command('cancel <id>')
    .description("cancel the dataset's running workflows; returns once they have stopped")
    .action(async (id: string, _o, cmd: Command) => {
      const opts = globals(cmd);
      await withVeda(opts, async (veda) => {
        const cancelled = await (await veda.fromId(id)).cancelRuns();
        emit(opts, { datasetId: id, cancelled }, () =>
          cancelled.length ? cancelled.map((w) => `cancelled ${w}`).join('\n') : `dataset ${id} has no running workflows`,
        );
      });
    });
}
