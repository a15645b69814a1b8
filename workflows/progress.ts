/**
 * What a running veda workflow reports: the `progress` query's answer. The client streams it; the Web UI shows
 * the same numbers as the workflow's current details.
 */
export type WorkflowKind = 'ingest' | 'cache' | 'batch';
export type Stage = 'starting' | 'planning' | 'posting' | 'caching' | 'batching' | 'done' | 'failed' | 'cancelled';

export interface Progress {
  kind: WorkflowKind;
  datasetId: string;
  stage: Stage;
  /** Units finished in the current stage (windows when posting, datapoints when caching, samples when batching). */
  done: number;
  total: number;
  /** Windows in the ingest's plan (0 for cache and batch runs). */
  planned: number;
  /** Datapoints per group in the dataset, known once posting ends. */
  groups: Record<string, number>;
  /** Datapoints this run added (a re-run of the same plan adds 0). */
  posted: number;
  /** Datapoints a failed ingest had posted and took back (set only on failure). */
  removed?: number;
  /** Windows rejected by the plan's nodata threshold. */
  skipped: number;
  /** Label features ignored because their class is not one of the dataset's classes. */
  ignoredFeatures: number;
  percentCached: number;
  /** Where the batch workflow stored its file (a local path or an s3:// URI), once done. */
  output?: string;
  /** The file's key in the batch store (what clients fetch), once done. */
  outputKey?: string;
  errors: string[];
}

/** Name of the query that answers `Progress` (defined in tracked.ts; this file stays free of the SDK so the CLI
 * can describe progress without loading it). */
export const PROGRESS_QUERY = 'progress';

export function initialProgress(kind: WorkflowKind, datasetId: string): Progress {
  return {
    kind,
    datasetId,
    stage: 'starting',
    done: 0,
    total: 0,
    planned: 0,
    groups: {},
    posted: 0,
    skipped: 0,
    ignoredFeatures: 0,
    percentCached: 0,
    errors: [],
  };
}

export function describeProgress(p: Progress): string {
  const pct = p.total > 0 ? Math.floor((100 * p.done) / p.total) : 0;
  const groups = Object.entries(p.groups)
    .map(([g, n]) => `${g} ${n}`)
    .join(', ');
  return `${p.kind} ${p.datasetId}: ${p.stage} ${p.done}/${p.total} (${pct}%)` +
    (groups ? `; groups ${groups}` : '') +
    `; cached ${p.percentCached}%` +
    (p.skipped ? `; skipped ${p.skipped}` : '') +
    (p.errors.length ? `; errors: ${p.errors.join(' | ')}` : '');
}

/** The innermost message of a failure chain: an ActivityFailure says only "Activity task failed", its cause says why. */
export function failureMessage(err: unknown): string {
  let current: unknown = err;
  let message = String(err);
  while (current instanceof Error) {
    message = current.message;
    current = (current as { cause?: unknown }).cause;
  }
  return message;
}
