/**
 * `veda batch` (build an HDF5 training file, with a progress bar) and `veda schedule ...` (Temporal Schedules that
 * rebuild it: create, list, describe, trigger, pause, unpause, delete). Every command takes --json.
 */
import type { Command } from 'commander';
import type { BatchOptions } from './batch-options.js';
import type { ScheduleSummary } from './schedules.js';
import { intArg, numberList } from './cli-args.js';
import { emit } from './cli-output.js';
import { follow, globals, withVeda, type GlobalOptions } from './cli-session.js';

/** The batch options `veda batch` and `veda schedule create` share. */
function addBatchOptions(cmd: Command): Command {
  return cmd
    .option('--size <n>', 'samples in the batch (default: every cached datapoint)', intArg('--size', 1))
    .option('--groups <a,b>', 'data groups to draw from (default: all)', (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .option('--split <70,20,10>', 're-partition the samples into train,test,validate by these ratios', numberList('--split'))
    .option('--allow-leakage', '--split even when windows share pixels (refused otherwise; the overlap is recorded)')
    .option('--seed <s>', 'seed of the shuffle and the split', intArg('--seed'), 0)
    .option('--no-shuffle', 'take samples in posting order')
    .option('--compression <level>', 'gzip level 1-9 for images and masks (default: none)', intArg('--compression'))
    .option('--out <file.h5>', 'fetch the stored file here (stored as <dataset>/<run>.h5 and <dataset>/latest.h5; read-only, linked when it can be)');
}

function batchOptions(o: Record<string, unknown>): BatchOptions {
  return {
    size: o.size as number | undefined,
    groups: o.groups as string[] | undefined,
    split: o.split as number[] | undefined,
    allowLeakage: o.allowLeakage as boolean | undefined,
    seed: o.seed as number,
    shuffle: o.shuffle as boolean,
    compression: o.compression as number | undefined,
    out: o.out as string | undefined,
  };
}

function describeGroups(groups: Record<string, number>): string {
  const total = Object.values(groups).reduce((a, b) => a + b, 0);
  return `${Object.entries(groups).map(([g, n]) => `${g} ${n}`).join(', ')} (${total} samples)`;
}

function describeSchedule(s: ScheduleSummary): string {
  return [
    `${s.id}  ${s.paused ? 'paused' : 'active'}  ${s.spec}  ${s.runs} run(s)`,
    ...(s.note ? [`  note: ${s.note}`] : []),
    ...(s.nextRuns.length ? [`  next: ${s.nextRuns.slice(0, 3).join(', ')}`] : []),
    ...s.recentRuns.map((r) => `  ran:  ${r.scheduledAt} ${r.workflowId}`),
  ].join('\n');
}

export function registerBatchCommands(program: Command): void {
  addBatchOptions(
    program.command('batch <id>').description('write an HDF5 training batch of cached chips and labels (a workflow; caches what is missing)'),
  ).action(async (id: string, o, cmd: Command) => {
    const opts = globals(cmd);
    await withVeda(opts, async (veda) => {
      const { out: _copyTo, ...options } = batchOptions(o); // --out is the client's copy, fetched below
      const run = await (await veda.fromId(id)).startBatch(options);
      const final = (await follow(run, { ...opts, wait: true }, `batch of ${id}: workflow ${run.workflowId}`))!;
      // path: a local file (the --out copy fetched from the store, else the local store's own file); uri: the stored one.
      const stored = veda.batchLocation(final);
      const local = o.out ? await veda.fetchBatch(final, o.out) : stored.path;
      const file = { workflowId: run.workflowId, uiUrl: run.uiUrl ?? null, path: local, uri: stored.uri, groups: final.groups, samples: final.total };
      emit(opts, file, () => `${file.path ?? file.uri}\n  ${describeGroups(file.groups)}`);
    });
  });

  const schedule = program.command('schedule').description("rebuild a dataset's batch on a Temporal Schedule (runs show in the Web UI)");
  addBatchOptions(
    schedule
      .command('create <id>')
      .description('create a schedule that rebuilds the batch (--every 24h or --cron "0 3 * * *"; overlapping runs are skipped)')
      .option('--every <interval>', 'interval: a number and ms, s, m, h or d (e.g. 24h)')
      .option('--cron <expression>', 'cron expression, e.g. "0 3 * * *"')
      .option('--name <name>', 'schedule name within the dataset', 'default')
      .option('--trigger-now', 'also build once right away'),
  ).action(async (id: string, o, cmd: Command) => {
    const opts = globals(cmd);
    await withVeda(opts, async (veda) => {
      const created = await (await veda.fromId(id)).schedules.create({
        ...batchOptions(o),
        every: o.every,
        cron: o.cron,
        name: o.name,
        triggerNow: Boolean(o.triggerNow),
      });
      emit(opts, created, () => `created ${describeSchedule(created)}`);
    });
  });

  schedule
    .command('list <id>')
    .description("the dataset's batch schedules")
    .action(async (id: string, _o, cmd: Command) => {
      const opts = globals(cmd);
      await withVeda(opts, async (veda) => {
        const all = await (await veda.fromId(id)).schedules.list();
        emit(opts, all, () => all.map(describeSchedule).join('\n') || `(dataset ${id} has no batch schedules)`);
      });
    });

  schedule
    .command('describe <id>')
    .description('one schedule: spec, state, next and recent runs')
    .option('--name <name>', 'schedule name', 'default')
    .action(async (id: string, o, cmd: Command) => {
      const opts = globals(cmd);
      await withVeda(opts, async (veda) => {
        const s = await (await veda.fromId(id)).schedules.describe(o.name);
        emit(opts, s, () => describeSchedule(s));
      });
    });

  const verbs = {
    trigger: 'start a build now (skipped while one is running)',
    pause: 'stop starting builds until unpaused',
    unpause: 'start builds on the calendar again',
    delete: 'delete the schedule (batch files stay)',
  } as const;
  for (const [verb, description] of Object.entries(verbs) as Array<[keyof typeof verbs, string]>) {
    schedule
      .command(`${verb} <id>`)
      .description(description)
      .option('--name <name>', 'schedule name', 'default')
      .action(async (id: string, o, cmd: Command) => {
        const opts: GlobalOptions = globals(cmd);
        await withVeda(opts, async (veda) => {
          const schedules = (await veda.fromId(id)).schedules;
          await schedules[verb](o.name);
          const scheduleId = schedules.id(o.name);
          emit(opts, { id: scheduleId, datasetId: id, action: verb }, () => `${verb}: ${scheduleId}`);
        });
      });
  }
}
