/**
 * A workflow run reached through a veda HTTP service. The service queries the workflow (`progress`), so progress
 * here is the workflow's own answer, streamed as server-sent events; nothing polls the catalog.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { errorOfKind } from '../domain/errors.js';
import type { Progress } from '../workflows/progress.js';
import type { ApiClient } from './http-api.js';
import type { ProgressOptions, RunProgress, WorkflowRun } from './workflow-run.js';

/** How a run is described by the service (`POST .../ingests`, `GET .../runs/<id>`). */
export interface RunInfo {
  workflowId: string;
  datasetId: string;
  uiUrl: string | null;
  status?: string;
  progress?: Progress | null;
  seed?: number;
}

/** Times a progress stream the connection dropped is opened again before giving up. */
const STREAM_RECONNECTS = 5;

export class HttpRun implements WorkflowRun {
  readonly uiUrl: string | undefined;

  constructor(
    private readonly api: ApiClient,
    readonly datasetId: string,
    readonly workflowId: string,
    uiUrl?: string | null,
  ) {
    this.uiUrl = uiUrl ?? undefined;
  }

  private get route(): string {
    return `/datasets/${encodeURIComponent(this.datasetId)}/runs/${encodeURIComponent(this.workflowId)}`;
  }

  query(): Promise<Progress> {
    return this.api.json<Progress>('GET', `${this.route}/progress`);
  }

  async status(): Promise<string> {
    return (await this.api.json<RunInfo>('GET', this.route)).status!;
  }

  async cancel(): Promise<void> {
    await this.api.json('POST', `${this.route}/cancel`);
  }

  async ended(): Promise<string> {
    try {
      for await (const _ of this.progress()) {
        // only waiting for the end
      }
    } catch {
      // however it ended
    }
    return this.status();
  }

  async result(): Promise<Progress> {
    let last: Progress | undefined;
    for await (const { warning, ...p } of this.progress()) if (!warning) last = p;
    return last!;
  }

  async *progress(options: ProgressOptions = {}): AsyncGenerator<RunProgress> {
    let lastKey = '';
    for (let reconnects = 0; ; ) {
      const route = `${this.route}/events${options.intervalMs ? `?intervalMs=${options.intervalMs}` : ''}`;
      let opened = false;
      try {
        for await (const { event, data } of this.api.events(route)) {
          opened = true;
          if (options.signal?.aborted) return;
          if (event === 'end') return;
          if (event === 'error') {
            const { error } = data as { error: { kind: string; message: string } };
            throw errorOfKind(error.kind, error.message);
          }
          // A reopened stream starts with the answer already seen: say each one once.
          const key = JSON.stringify(data);
          if (event === 'progress' && key !== lastKey) {
            lastKey = key;
            yield data as RunProgress;
          }
        }
      } catch (err) {
        if (!(err instanceof TypeError) || ++reconnects > STREAM_RECONNECTS) throw err; // TypeError: the connection broke
      }
      // The stream ended without saying how the run did (a proxy or the service restarted): ask again.
      if (!opened && ++reconnects > STREAM_RECONNECTS) throw new Error(`the progress stream of ${this.workflowId} keeps closing`);
      await sleep(1000);
    }
  }
}
