/**
 * A handle on one veda workflow run: its id, its Web UI page, and its progress, read by querying the workflow
 * (never by polling the catalog).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client, WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import { clientSdk } from '../temporal/client-sdk.js';
import { workflowUrl } from '../temporal/ui-links.js';
import { CancelledError, ForbiddenError, InvalidInputError, NotFoundError, SetupError, type VedaError } from '../domain/errors.js';
import { initialProgress, PROGRESS_QUERY, type Progress } from '../workflows/progress.js';

/** A progress answer, with `warning` set while the run cannot move (no worker polls its task queue). */
export interface RunProgress extends Progress {
  warning?: string;
}

/** How often a waiting client asks the server whether any worker polls the run's task queue. */
const POLLER_CHECK_MS = 2000;
/** A worker long-polls about once a minute; a poller not seen for longer than this is gone. */
const POLLER_SILENCE_MS = 75_000;
/**
 * A poller seen less than a minute ago may be a worker that just died: a query no worker answers within this long
 * counts as "no worker" too (the warning clears as soon as one answers).
 */
const QUERY_DEADLINE_MS = 5000;

/**
 * While a batch file is written (one long activity), the workflow knows only that it started; the activity's
 * heartbeat carries how far it is. Fold that in, so a progress bar moves.
 */
function withActivityProgress({ raw }: WorkflowExecutionDescription, p: Progress): Progress {
  if (p.stage !== 'batching') return p;
  for (const activity of raw.pendingActivities ?? []) {
    const payload = activity.heartbeatDetails?.payloads?.[0];
    if (activity.activityType?.name !== 'buildBatch' || !payload) continue;
    const beat = clientSdk().defaultPayloadConverter.fromPayload<{ done?: number; total?: number }>(payload);
    if (typeof beat.done === 'number') return { ...p, done: beat.done, total: beat.total ?? p.total };
  }
  return p;
}

/** What a run reports before it has answered a query: nothing done yet. */
function emptyProgress({ workflowId }: WorkflowExecutionDescription): Progress {
  const kind = (['ingest', 'cache', 'batch'] as const).find((k) => workflowId.includes(`-${k}-`)) ?? 'ingest';
  const datasetId = workflowId.replace(/^veda-/, '').replace(/-(ingest|cache|batch)-\d+$/, '');
  return initialProgress(kind, datasetId);
}

const DOMAIN_ERRORS: Record<string, new (message: string) => VedaError> = {
  InvalidInputError,
  NotFoundError,
  ForbiddenError,
  SetupError,
};

/** The innermost failure of a workflow failure chain, as the domain error it started as when it was one. */
export function runFailure(workflowId: string, err: unknown): Error {
  if (!(err instanceof clientSdk().WorkflowFailedError)) return err as Error;
  if (err.cause instanceof clientSdk().CancelledFailure) return new CancelledError(`workflow ${workflowId} was cancelled`);
  // Walk down to the activity's failure: the first one of a domain type, else the innermost.
  let inner: Error = err;
  while (!(inner instanceof clientSdk().ApplicationFailure && inner.type && DOMAIN_ERRORS[inner.type]) && inner.cause instanceof Error) inner = inner.cause;
  const message = `workflow ${workflowId} failed: ${inner.message}`;
  const DomainError = inner instanceof clientSdk().ApplicationFailure && inner.type ? DOMAIN_ERRORS[inner.type] : undefined;
  return DomainError ? new DomainError(message) : new Error(message, { cause: err });
}

/**
 * A handle on one veda workflow run, wherever it is reached from: TemporalRun asks Temporal itself, HttpRun a veda
 * HTTP service (which asks Temporal). Progress is always the workflow's own `progress` query answer.
 */
export interface WorkflowRun {
  readonly workflowId: string;
  /** The run's page in the Temporal Web UI, when the UI address is known. */
  readonly uiUrl: string | undefined;
  /** The workflow's current progress (works on running and finished runs). */
  query(): Promise<Progress>;
  /** How the run stands in Temporal: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT, ... */
  status(): Promise<string>;
  /**
   * Asks the run to stop. Its activities see the request at their next heartbeat (within seconds) and stop where
   * they are; the run then ends as cancelled (`result()` throws CancelledError). What was posted or cached stays,
   * consistent, and a new run of the same ingest posts only what is missing.
   */
  cancel(): Promise<void>;
  /** Waits for the run to end, whatever the outcome; returns its final status (COMPLETED, FAILED, CANCELLED, ...). */
  ended(): Promise<string>;
  /** Waits for the run to finish; a failed run throws the domain error its activity raised. */
  result(): Promise<Progress>;
  /**
   * Streams progress until the run ends: each distinct answer, the last one the final state; `warning` is set
   * while no worker works on it. Throws the workflow's failure if the run fails (CancelledError if cancelled).
   */
  progress(options?: ProgressOptions): AsyncGenerator<RunProgress>;
}

export interface ProgressOptions {
  /** How often the workflow is asked (default 250 ms). */
  intervalMs?: number;
  /** Stops the stream (it then ends without a final answer), e.g. when the HTTP client that follows it goes away. */
  signal?: AbortSignal;
}

/** A run reached through a Temporal client. */
export class TemporalRun implements WorkflowRun {
  constructor(
    private readonly client: Client,
    readonly workflowId: string,
    private readonly ui?: { url: string; namespace: string },
  ) {}

  /** The run's page in the Temporal Web UI, when the UI address is known. */
  get uiUrl(): string | undefined {
    return this.ui ? workflowUrl(this.ui.url, this.ui.namespace, this.workflowId) : undefined;
  }

  /** The workflow's current progress (works on running and finished runs). */
  query(): Promise<Progress> {
    return this.client.workflow.getHandle(this.workflowId).query<Progress>(PROGRESS_QUERY);
  }

  /** How the run stands in Temporal: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT, ... */
  async status(): Promise<string> {
    return (await this.client.workflow.getHandle(this.workflowId).describe()).status.name;
  }

  /**
   * Asks the run to stop. Its activities see the request at their next heartbeat (within seconds) and stop where
   * they are; the run then ends as cancelled (`result()` throws CancelledError). What was posted or cached stays,
   * consistent, and a new run of the same ingest posts only what is missing.
   */
  async cancel(): Promise<void> {
    await this.client.workflow.getHandle(this.workflowId).cancel();
  }

  /** Waits for the run to end, whatever the outcome; returns its final status (COMPLETED, FAILED, CANCELLED, ...). */
  async ended(): Promise<string> {
    const handle = this.client.workflow.getHandle(this.workflowId);
    await handle.result().catch(() => undefined);
    return (await handle.describe()).status.name;
  }

  /**
   * Waits for the run to finish. A failed run throws the domain error its activity raised (InvalidInputError,
   * NotFoundError, ...) with the workflow id and the activity's own message, so callers and the CLI can act on it.
   */
  async result(): Promise<Progress> {
    try {
      return (await this.client.workflow.getHandle(this.workflowId).result()) as Progress;
    } catch (err) {
      throw runFailure(this.workflowId, err);
    }
  }

  /**
   * Streams progress until the run ends: yields each distinct progress answer, the last one being the final
   * state. Throws the workflow's failure if the run fails (CancelledError if it was cancelled).
   *
   * A run nobody works on is not silent: when no worker polls its task queue (the server's view of the queue's
   * pollers, checked every 2 s) or none answers a query within 5 s (a worker that just died still shows as a
   * poller for a minute), the stream yields the last progress with a `warning` saying so, keeps waiting, and goes
   * on once a worker answers. A query that fails for any other reason than "not answerable
   * yet" throws.
   */
  async *progress(options: ProgressOptions = {}): AsyncGenerator<RunProgress> {
    const interval = options.intervalMs ?? 250;
    const handle = this.client.workflow.getHandle(this.workflowId);
    // Pauses end when the run does: the final answer comes as soon as the server has it, not up to an interval later.
    const stop = new AbortController();
    const ended = this.client.withAbortSignal(stop.signal, () => handle.result()).then(
      () => undefined,
      () => undefined,
    );
    const pause = async (ms: number) => {
      const timer = new AbortController();
      await Promise.race([sleep(ms, undefined, { signal: timer.signal }).catch(() => undefined), ended]);
      timer.abort();
    };
    try {
      yield* this.progressUntilEnd(handle, options, interval, pause);
    } finally {
      stop.abort();
    }
  }

  private async *progressUntilEnd(
    handle: WorkflowHandle,
    options: ProgressOptions,
    interval: number,
    pause: (ms: number) => Promise<void>,
  ): AsyncGenerator<RunProgress> {
    let last: RunProgress | undefined;
    let lastKey = '';
    let warned = false;
    while (!options.signal?.aborted) {
      const description = await handle.describe();
      if (description.status.name !== 'RUNNING') {
        yield await this.result();
        return;
      }
      let current: Progress | undefined;
      let stalled = !(await this.hasWorker(description.taskQueue));
      if (!stalled) {
        try {
          const answer = await this.client.withDeadline(Date.now() + QUERY_DEADLINE_MS, () => handle.query<Progress>(PROGRESS_QUERY));
          current = withActivityProgress(description, answer);
        } catch (err) {
          // The first workflow task has not run yet (no handler): ask again. No answer in time: no live worker.
          // A query past its deadline comes back as DEADLINE_EXCEEDED, or as CANCELLED when the server gives up
          // on it first (seen on a loaded machine): both mean nobody answered.
          if (options.signal?.aborted) return;
          if (clientSdk().isGrpcDeadlineError(err) || clientSdk().isGrpcCancelledError(err)) stalled = true;
          else if (!(err instanceof clientSdk().QueryNotRegisteredError)) throw err;
        }
      }
      if (stalled) {
        if (!warned) {
          warned = true;
          yield { ...(last ?? emptyProgress(description)), warning: this.noWorkerMessage(description.taskQueue) };
        }
        await pause(POLLER_CHECK_MS);
        continue;
      }
      if (current) {
        const key = JSON.stringify(current);
        if (key !== lastKey || warned) {
          lastKey = key;
          last = current;
          warned = false;
          yield current;
        }
      }
      await pause(interval);
    }
  }

  /** Whether any worker polls the task queue for workflow or activity tasks now. */
  private async hasWorker(taskQueue: string): Promise<boolean> {
    const { namespace } = this.client.options;
    const now = Date.now();
    for (const taskQueueType of [1, 2]) { // TASK_QUEUE_TYPE_WORKFLOW, TASK_QUEUE_TYPE_ACTIVITY
      const { pollers } = await this.client.workflowService.describeTaskQueue({ namespace, taskQueue: { name: taskQueue }, taskQueueType });
      const recent = (pollers ?? []).some((p) => {
        const seen = p.lastAccessTime?.seconds;
        return seen === undefined || seen === null || now - Number(seen) * 1000 < POLLER_SILENCE_MS;
      });
      if (recent) return true;
    }
    return false;
  }

  private noWorkerMessage(taskQueue: string): string {
    // A Connection (the only kind veda makes) knows its address; a ConnectionLike in general may not.
    const address = (this.client.connection as { options?: { address?: string } }).options?.address ?? 'the Temporal server';
    return `no worker is polling task queue ${taskQueue} on ${address}: start one with \`veda worker\` (waiting for one)`;
  }
}
