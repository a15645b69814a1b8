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
import { vedaVersion } from './version.js';
import { collect, emit, follow, globals, intArg, jsonReplacer, nameList, numberList, shareArg, tileSizeArg, withVeda } from './cli-context.js';

export function buildProgram(): Command {
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
    .requiredOption('--classes <a,b,c>', 'class names, in label order', (v: string) => v.split(',').map((s) => s.trim()))
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
    .option('--seed <s>', 'seed of the random / features plan', intArg('--seed'), 0)
    .option('--stride <px>', 'grid stride in pixels (default: the tile size)', intArg('--stride', 1))
    .option('--jitter <px>', 'features plan: random shift of the window centre', intArg('--jitter'))
    .option('--group <name>', 'data group the windows feed', 'train')
    .option('--bands <1,2,3>', 'bands to keep, 1-based (default: all)', numberList('--bands'))
    .option('--max-nodata <share>', 'reject windows with more nodata than this share', shareArg('--max-nodata'))
    .option('--all-touched', 'segmentation: burn every pixel a polygon touches')
    .option('--min-overlap <share>', 'classification: a class is present when it covers this share', shareArg('--min-overlap'))
    .option('--min-box-size <px>', 'detection: drop smaller boxes', intArg('--min-box-size'))
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
          bands: o.bands,
          maxNodata: o.maxNodata,
          allTouched: o.allTouched,
          minOverlap: o.minOverlap,
          minBoxSize: o.minBoxSize,
          cache: o.cache,
        });
        const final = await follow(run, { ...opts, wait: o.wait }, `ingest into ${id}: workflow ${run.workflowId}`);
        emit(opts, { workflowId: run.workflowId, uiUrl: run.uiUrl ?? null, progress: final }, () =>
          final ? describeProgress(final) : `started ${run.workflowId}${run.uiUrl ? `\n  ${run.uiUrl}` : ''}`,
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
    .description("progress of the dataset's latest workflow (queried from the workflow)")
    .action(async (id: string, _o, cmd: Command) => {
      const opts = globals(cmd);
      await withVeda(opts, async (veda) => {
        await veda.fromId(id);
        const run = await veda.latestRun(id);
        const progress = run ? await run.query() : null;
        emit(opts, { datasetId: id, workflowId: run?.workflowId ?? null, uiUrl: run?.uiUrl ?? null, progress }, () =>
          progress ? `${run!.workflowId}: ${describeProgress(progress)}` : `dataset ${id} has no workflow runs yet`,
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

  program
    .command('show <id>')
    .description('the dataset document')
    .action(async (id: string, _o, cmd: Command) => {
      const opts = globals(cmd);
      await withVeda(opts, async (veda) => {
        const doc = await (await veda.fromId(id)).doc();
        emit(opts, doc, () => JSON.stringify(doc, null, 2));
      });
    });

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
  return program;
}

export async function main(argv = process.argv): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
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
