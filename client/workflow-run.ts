/**
 * A handle on one veda workflow run: its id, its Web UI page, and its progress, read by querying the workflow
 * (never by polling the catalog).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ApplicationFailure,
  defaultPayloadConverter,
  WorkflowFailedError,
  type Client,
  type WorkflowExecutionDescription,
} from '@temporalio/client';
import { workflowUrl } from '../temporal/connection.js';
import { ForbiddenError, InvalidInputError, NotFoundError, SetupError, type VedaError } from '../domain/errors.js';
import { PROGRESS_QUERY, type Progress } from '../workflows/progress.js';

/**
 * While a batch file is written (one long activity), the workflow knows only that it started; the activity's
 * heartbeat carries how far it is. Fold that in, so a progress bar moves.
 */
function withActivityProgress({ raw }: WorkflowExecutionDescription, p: Progress): Progress {
  if (p.stage !== 'batching') return p;
  for (const activity of raw.pendingActivities ?? []) {
    const payload = activity.heartbeatDetails?.payloads?.[0];
    if (activity.activityType?.name !== 'buildBatch' || !payload) continue;
    const beat = defaultPayloadConverter.fromPayload<{ done?: number; total?: number }>(payload);
    if (typeof beat.done === 'number') return { ...p, done: beat.done, total: beat.total ?? p.total };
  }
  return p;
}

const DOMAIN_ERRORS: Record<string, new (message: string) => VedaError> = {
  InvalidInputError,
  NotFoundError,
  ForbiddenError,
  SetupError,
};

/** The innermost failure of a workflow failure chain, as the domain error it started as when it was one. */
export function runFailure(workflowId: string, err: unknown): Error {
  if (!(err instanceof WorkflowFailedError)) return err as Error;
  // Walk down to the activity's failure: the first one of a domain type, else the innermost.
  let inner: Error = err;
  while (!(inner instanceof ApplicationFailure && inner.type && DOMAIN_ERRORS[inner.type]) && inner.cause instanceof Error) inner = inner.cause;
  const message = `workflow ${workflowId} failed: ${inner.message}`;
  const DomainError = inner instanceof ApplicationFailure && inner.type ? DOMAIN_ERRORS[inner.type] : undefined;
  return DomainError ? new DomainError(message) : new Error(message, { cause: err });
}

export class WorkflowRun {
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
   * state. Throws the workflow's failure if the run fails.
   */
  async *progress(options: { intervalMs?: number } = {}): AsyncGenerator<Progress> {
    const interval = options.intervalMs ?? 250;
    const handle = this.client.workflow.getHandle(this.workflowId);
    let last = '';
    for (;;) {
      const description = await handle.describe();
      if (description.status.name !== 'RUNNING') {
        const final = await this.result();
        yield final;
        return;
      }
      try {
        const current = withActivityProgress(description, await handle.query<Progress>(PROGRESS_QUERY));
        const key = JSON.stringify(current);
        if (key !== last) {
          last = key;
          yield current;
        }
      } catch {
        // The first workflow task may not have run yet (no query handler): ask again shortly.
      }
      await sleep(interval);
    }
  }
}
