/**
 * `veda` commands on datasets: create, show, check, manifest, slice, search, rm, publish, unpublish, delete.
 */
import { Option, type Command } from 'commander';
import { ML_TYPES, type MlType } from '../domain/types.js';
import type { VedaCollection } from './collection.js';
import { intArg, numberList, tileSizeArg } from './cli-args.js';
import { emit, jsonReplacer } from './cli-output.js';
import { globals, withVeda, type CliOutcome } from './cli-session.js';
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

export function registerDatasetCommands(program: Command, outcome: CliOutcome): void {
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
}
