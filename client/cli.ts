/**
 * The `veda` CLI: one verb per job, `--json` on every command as a stable machine-readable contract, progress
 * bars on stderr, and a non-zero exit with a clear message on error (exit codes by error type, see README).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { isVedaError, messageWithCauses } from '../domain/errors.js';
import { ML_TYPES, type MlType } from '../domain/types.js';
import { describeProgress } from '../workflows/progress.js';
import type { VedaCollection } from './collection.js';
import { registerDevCommands } from './cli-dev.js';
import { registerPreviewCommands } from './cli-preview.js';
import { registerBatchCommands } from './cli-batch.js';
import { registerServeCommands } from './cli-serve.js';
import { vedaVersion } from './version.js';
import { collect, emit, follow, globals, intArg, jsonReplacer, nameList, numberList, shareArg, tileSizeArg, withVeda } from './cli-context.js';
import { DEFAULT_MIN_BOX_SIZE } from '../domain/types.js';
import { describeLeakage } from './leakage-report.js';

/** `veda VERB <id>`: reads something of one dataset and prints it (text, or the value itself with --json). */
function readCommand<T>(
  program: Command,
  outcome: CliOutcome,
  name: string,
  description: string,
  read: (coll: VedaCollection) => Promise<T>,
  text: (value: T) => string,
  exitStatus?: (value: T) => number,
): void {
  program
    .command(name)
    .description(description)
    .action(async (id: string, _o, cmd: Command) => {
      const opts = globals(cmd);
      await withVeda(opts, async (veda) => {
        const value = await read(await veda.fromId(id));
        emit(opts, value, () => text(value));
        if (exitStatus) outcome.exitCode = exitStatus(value);
      });
    });
}

/** `equal`, or class ratios like `water=1,urban=2`. */
function balanceArg(value: string): Record<string, number> | 'equal' {
  return value.trim() === 'equal' ? 'equal' : namedCounts('--balance', value);
}

/** `train=70,val=20,test=10` -> { train: 70, val: 20, test: 10 }. */
function groupCounts(value: string): Record<string, number> {
  return namedCounts('--groups', value);
}

function namedCounts(flag: string, value: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
    const match = /^([^=\s]+)=(\d+)$/.exec(part);
    if (!match) throw new InvalidArgumentError(`${flag} takes name=count pairs like a=70,b=30, got '${part}'`);
    if (match[1]! in out) throw new InvalidArgumentError(`${flag} names ${match[1]} twice`);
    out[match[1]!] = Number(match[2]);
  }
  if (Object.keys(out).length === 0) throw new InvalidArgumentError(`${flag} needs at least one name=count pair`);
  return out;
}

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

/** What an action wants the process to exit with when it did not fail (only `status` sets it). */
export interface CliOutcome {
  exitCode: number;
}

export function buildProgram(outcome: CliOutcome = { exitCode: 0 }): Command {
  const program = new Command('veda')
    .description('Satellite imagery + vector labels -> ML training data, on durable Temporal workflows')
    .version(vedaVersion(), '-V, --version', 'print the version')
    .showHelpAfterError()
    // Before any .command(): subcommands copy it, so their usage errors reach main() (exit 2, JSON error).
    .exitOverride()
    .configureHelp({ showGlobalOptions: true })
    .option('--json', 'machine-readable output (a stable contract)')
    .option('--user <user>', 'who is acting (default: VEDA_USER, else the OS user)');

  program
    .command('create')
    .description('create a dataset')
    .requiredOption('--name <name>', 'dataset name')
    .addOption(new Option('--ml-type <type>', 'ML type').choices([...ML_TYPES]).makeOptionMandatory())
    .requiredOption('--tile-size <w,h>', 'chip size in pixels', tileSizeArg)
    .option('--classes <a,b,c>', 'class names, in label order (classification default: class1, binary)', (v: string) => v.split(',').map((s) => s.trim()))
    .option('--public', 'visible to every user')
    .option('--sensors <a,b>', 'sensor names', (v: string) => v.split(',').map((s) => s.trim()))
    .action(async (o, cmd: Command) => {
      const opts = globals(cmd);
      await withVeda(opts, async (veda) => {
        const coll = await veda.create({
          name: o.name,
          mlType: o.mlType as MlType,
          tileSize: o.tileSize,
          classes: o.classes,
          public: Boolean(o.public),
          sensors: o.sensors,
        });
        const doc = await coll.doc();
        emit(opts, doc, () => `created dataset ${doc.id} (${doc.name}, ${doc.mlType}, ${doc.tileSize.join('x')}, classes ${doc.classes.join(', ')})`);
      });
    });

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
        const run = await coll.ingest({
          image: o.image,
          assets: o.assets,
          labels: o.labels,
          layer: o.layer,
          classProperty: o.classProperty,
          windows: o.windows,
          count: o.count,
          seed: o.seed,
          stride: o.stride,
          jitter: o.jitter,
          group: o.group,
          groups: o.groups,
          spatialSplit: o.spatialSplit,
          cell: o.cell,
          buffer: o.buffer,
          allowOverlap: o.allowOverlap,
          aoi: o.aoi,
          balance: o.balance,
          minLabelled: o.minLabelled,
          bands: o.bands,
          maxNodata: o.maxNodata,
          allTouched: o.allTouched,
          minOverlap: o.minOverlap,
          minBoxSize: o.minBoxSize,
          cache: o.cache,
        });
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
    .command('rm <id> <datapoints...>')
    .description('remove datapoints (by id, as `veda slice` lists them) and their cached chips')
    .action(async (id: string, datapoints: string[], _o, cmd: Command) => {
      const opts = globals(cmd);
      await withVeda(opts, async (veda) => {
        const removed = await (await veda.fromId(id)).remove(datapoints);
        emit(opts, { datasetId: id, requested: datapoints.length, removed }, () =>
          `removed ${removed} of ${datapoints.length} datapoint(s) from ${id}` + (removed < datapoints.length ? ' (the others were not in it)' : ''),
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

  readCommand(program, outcome, 'check <id>', 'leakage check: pixels and windows groups share, class counts per group (exit 1 when groups share pixels)',
    (coll) => coll.check(), describeLeakage, (report) => (report.leaks ? 1 : 0));
  readCommand(program, outcome, 'manifest <id>', 'how the dataset was made: versions, and each ingest with its sources, checksums, plan, seed and split cells',
    (coll) => coll.manifest(), (manifest) => JSON.stringify(manifest, null, 2));
  readCommand(program, outcome, 'show <id>', 'the dataset document', (coll) => coll.doc(), (doc) => JSON.stringify(doc, null, 2));

  program
    .command('slice <id> <start> <end>')
    .description('datapoints [start, end) in posting order, with their labels')
    .option('--group <name>', 'one group only')
    .action(async (id: string, start: string, end: string, o, cmd: Command) => {
      const opts = globals(cmd);
      await withVeda(opts, async (veda) => {
        const pairs = await (await veda.fromId(id)).slice(intArg('start')(start), intArg('end')(end), { group: o.group });
        const rows = pairs.map((p) => ({ ...p.data, y: p.y }));
        emit(opts, rows, () =>
          rows.map((r) => `${r.id} ${r.group} [${r.window.x},${r.window.y},${r.window.width},${r.window.height}] ` +
            `${r.chipKey ? 'cached' : 'not cached'} y=${JSON.stringify(r.y, jsonReplacer).slice(0, 120)}`).join('\n') || '(no datapoints)',
        );
      });
    });

  program
    .command('search')
    .description('datasets visible to you')
    .option('--name <text>', 'name contains (case-insensitive)')
    .addOption(new Option('--ml-type <type>', 'ML type').choices([...ML_TYPES]))
    .option('--bbox <minx,miny,maxx,maxy>', 'WGS84 bbox the dataset intersects', numberList('--bbox', 4))
    .option('--owner <user>', 'owned by this user')
    .option('--public', 'public datasets only')
    .action(async (o, cmd: Command) => {
      const opts = globals(cmd);
      await withVeda(opts, async (veda) => {
        const found = await veda.search({
          name: o.name,
          mlType: o.mlType,
          bbox: o.bbox as [number, number, number, number] | undefined,
          userId: o.owner,
          public: o.public ? true : undefined,
        });
        const docs = await Promise.all(found.map((c: VedaCollection) => c.doc()));
        emit(opts, docs, () =>
          docs.map((d) => `${d.id}  ${d.name}  ${d.mlType}  ${d.total} datapoints  ${d.public ? 'public' : 'private'}  ${d.userId}`).join('\n') ||
          '(no datasets)',
        );
      });
    });

  for (const verb of ['publish', 'unpublish'] as const) {
    program
      .command(`${verb} <id>`)
      .description(verb === 'publish' ? 'make the dataset visible to every user' : 'make the dataset private again')
      .action(async (id: string, _o, cmd: Command) => {
        const opts = globals(cmd);
        await withVeda(opts, async (veda) => {
          const doc = await (await veda.fromId(id))[verb]();
          emit(opts, doc, () => `${doc.id} is ${doc.public ? 'public' : 'private'}`);
        });
      });
  }

  program
    .command('delete <id>')
    .description('delete the dataset, its datapoints and its cached chips')
    .action(async (id: string, _o, cmd: Command) => {
      const opts = globals(cmd);
      await withVeda(opts, async (veda) => {
        await (await veda.fromId(id)).delete();
        emit(opts, { id, deleted: true }, () => `deleted ${id}`);
      });
    });

  registerPreviewCommands(program);
  registerDevCommands(program);
  registerBatchCommands(program);
  registerServeCommands(program);
  return program;
}

export async function main(argv = process.argv): Promise<number> {
  try {
    const outcome: CliOutcome = { exitCode: 0 };
    await buildProgram(outcome).parseAsync(argv);
    return outcome.exitCode;
  } catch (err) {
    // A usage error is bad input (exit 2). Commander printed its own usage errors already; an InvalidArgumentError
    // reaching here was thrown by an argument parser inside an action, so it is not printed yet.
    const usage = err instanceof CommanderError;
    if (usage && err.exitCode === 0) return 0; // --help, help, --version
    const printed = usage && !(err instanceof InvalidArgumentError);
    // Not a usage error: the cause chain carries the reason ("Failed to start Workflow" alone says nothing).
    const raw = usage ? err.message : messageWithCauses(err);
    const message = printed ? raw.replace(/^error: /, '') : raw;
    const kind = usage ? 'InvalidInputError' : isVedaError(err) ? err.kind : 'Error';
    if (argv.includes('--json')) process.stdout.write(`${JSON.stringify({ error: { kind, message } })}\n`);
    if (!printed) process.stderr.write(`veda: ${message}\n`);
    return usage ? 2 : isVedaError(err) ? err.exitCode : 1;
  }
}

/** Resolves once everything written to `stream` so far has been handed to the OS. */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) resolve();
    else stream.write('', () => resolve());
  });
}

/**
 * Runs the CLI and exits with its code once stdout and stderr are flushed. The exit is explicit (an open Temporal
 * connection or a failed Worker.create must not keep the process alive), but process.exit() right away would cut a
 * piped answer at the pipe's 64 KiB buffer: an empty write's callback runs after every earlier write.
 */
export async function runAndExit(argv = process.argv): Promise<never> {
  const code = await main(argv);
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}
