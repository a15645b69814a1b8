/**
 * Batch rebuilds on Temporal Schedules: each dataset's schedules start the batch workflow (overlap: skip, so a slow
 * build is never stacked), and each run writes a new versioned file and makes the dataset's `latest.h5` that file.
 * Schedule ids are `veda-<dataset>-batches-<name>`; their runs show in the Web UI like any workflow.
 */
import type { Client, ScheduleDescription } from '@temporalio/client';
import { clientSdk } from '../temporal/client-sdk.js';
import type { DatasetRecord } from '../domain/catalog/types.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../domain/errors.js';
import { DATASET_ID, ML_TYPE, STAGE } from '../workflows/search-attributes.js';
import type { DatasetSchedules } from './backend.js';
import type { BatchOptions } from './batch-options.js';
import { checkScheduleName, scheduleId } from './schedule-ids.js';
import { batchWorkflowInput } from './batch-options.js';
import { WORKFLOW_TYPES, type WorkflowOf } from './workflow-types.js';

export interface ScheduleCreateOptions extends BatchOptions {
  /** Schedule name within the dataset (default `default`). */
  name?: string;
  /** An interval such as `24h`, `30m`, `7d`. */
  every?: string;
  /** A cron expression such as `0 3 * * *`. */
  cron?: string;
  /** Start the first build now as well as on the calendar. */
  triggerNow?: boolean;
}

export interface ScheduleSummary {
  id: string;
  datasetId: string;
  paused: boolean;
  note?: string;
  spec: string;
  nextRuns: string[];
  /** The schedule's latest runs, oldest first (a schedule's runs may share a workflow id: the run id tells them apart). */
  recentRuns: Array<{ workflowId: string; runId: string; scheduledAt: string }>;
  runs: number;
}

/** A positive whole number and a unit (the units Temporal's duration strings take). */
const INTERVAL = /^0*[1-9]\d*(ms|s|m|h|d)$/;

export class BatchSchedules implements DatasetSchedules {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    private readonly dataset: Pick<DatasetRecord, 'id' | 'name' | 'mlType'>,
    private readonly defaults: { chunkSize?: number; parallelism?: number },
  ) {}

  private get prefix(): string {
    return scheduleId(this.dataset.id, '');
  }

  id(name = 'default'): string {
    return scheduleId(this.dataset.id, checkScheduleName(name));
  }

  async create(options: ScheduleCreateOptions): Promise<ScheduleSummary> {
    const { every, cron } = options;
    if (Boolean(every) === Boolean(cron)) throw new InvalidInputError('a schedule needs exactly one of --every (e.g. 24h) or --cron (e.g. "0 3 * * *")');
    if (every && !INTERVAL.test(every)) throw new InvalidInputError(`--every ${every}: use a number and a unit, e.g. 30m, 24h, 7d`);
    if (options.out) {
      throw new InvalidInputError('scheduled batches go to the batch store (<dataset>/latest.h5 is the newest); --out is for `veda batch`, which fetches a copy');
    }
    const scheduleId = this.id(options.name);
    const { name: _name, every: _every, cron: _cron, triggerNow: _triggerNow, ...batch } = options;
    const input = batchWorkflowInput(this.dataset.id, batch, 'schedule');
    const handle = await this.client.schedule.create<WorkflowOf<'batch'>>({
      scheduleId,
      spec: every ? { intervals: [{ every: every as `${number}h` }] } : { cronExpressions: [cron!] },
      action: {
        type: 'startWorkflow',
        workflowType: WORKFLOW_TYPES.batch,
        taskQueue: this.taskQueue,
        // Temporal appends the scheduled time; the schedule's name keeps two schedules' runs apart.
        workflowId: `veda-${this.dataset.id}-batch-scheduled-${options.name ?? 'default'}`,
        args: [{ ...this.defaults, ...input }],
        typedSearchAttributes: [
          { key: DATASET_ID, value: this.dataset.id },
          { key: ML_TYPE, value: this.dataset.mlType },
          { key: STAGE, value: 'starting' },
        ],
        staticSummary: `scheduled batch rebuild of dataset ${this.dataset.name} (${this.dataset.id})`,
      },
      policies: { overlap: clientSdk().ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
      // The spec as the user wrote it: the server keeps a cron expression only as calendar structures.
      memo: { datasetId: this.dataset.id, spec: every ? `every ${every}` : `cron ${cron}` },
      state: { note: `batches of dataset ${this.dataset.id}` },
    }).catch((err: unknown) => {
      if (err instanceof clientSdk().ScheduleAlreadyRunning) throw new ConflictError(`schedule ${scheduleId} already exists: delete it first or pick another --name`);
      // The server's verdict on the spec (a bad cron expression) comes back as a TypeError.
      if (err instanceof TypeError && cron) throw new InvalidInputError(`--cron "${cron}": ${err.message}`);
      throw err;
    });
    if (options.triggerNow) await handle.trigger(clientSdk().ScheduleOverlapPolicy.SKIP);
    return this.describe(options.name);
  }

  async list(): Promise<ScheduleSummary[]> {
    const out: ScheduleSummary[] = [];
    for await (const s of this.client.schedule.list()) {
      if (!s.scheduleId.startsWith(this.prefix)) continue;
      // The list comes from the server's visibility store, which lags: a schedule deleted a moment ago may still be
      // listed, and is not one any more.
      const summary = await this.describe(s.scheduleId.slice(this.prefix.length)).catch((err: unknown) => {
        if (err instanceof NotFoundError) return undefined;
        throw err;
      });
      if (summary) out.push(summary);
    }
    return out;
  }

  async describe(name?: string): Promise<ScheduleSummary> {
    const id = this.id(name);
    try {
      return summarize(id, this.dataset.id, await this.client.schedule.getHandle(id).describe());
    } catch (err) {
      if (err instanceof clientSdk().ScheduleNotFoundError) throw new NotFoundError(`schedule ${id} does not exist`);
      throw err;
    }
  }

  async trigger(name?: string): Promise<void> {
    await this.describe(name);
    await this.client.schedule.getHandle(this.id(name)).trigger(clientSdk().ScheduleOverlapPolicy.SKIP);
  }

  async pause(name?: string, note = 'paused with veda'): Promise<void> {
    await this.describe(name);
    await this.client.schedule.getHandle(this.id(name)).pause(note);
  }

  async unpause(name?: string, note = 'unpaused with veda'): Promise<void> {
    await this.describe(name);
    await this.client.schedule.getHandle(this.id(name)).unpause(note);
  }

  async delete(name?: string): Promise<void> {
    await this.describe(name);
    await this.client.schedule.getHandle(this.id(name)).delete();
  }
}

function summarize(id: string, datasetId: string, d: ScheduleDescription): ScheduleSummary {
  const written = d.memo?.spec;
  const spec = typeof written === 'string' ? written : [
    ...(d.spec.intervals ?? []).map((i) => `every ${String(i.every)} ms`),
    ...(d.spec.calendars ?? []).map((c) => `calendar ${JSON.stringify(c)}`),
    ...((d.spec as { cronExpressions?: string[] }).cronExpressions ?? []).map((c) => `cron ${c}`),
  ].join('; ');
  return {
    id,
    datasetId,
    paused: d.state.paused,
    note: d.state.note,
    spec,
    nextRuns: d.info.nextActionTimes.map((t) => t.toISOString()),
    recentRuns: d.info.recentActions.map((a) => ({
      workflowId: a.action.type === 'startWorkflow' ? a.action.workflow.workflowId : '',
      runId: a.action.type === 'startWorkflow' ? a.action.workflow.firstExecutionRunId : '',
      scheduledAt: a.scheduledAt.toISOString(),
    })),
    runs: d.info.numActionsTaken,
  };
}
