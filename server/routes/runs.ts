/**
 * Runs: start ingest, cache and batch workflows, follow them (the workflow's `progress` query, as JSON or as a
 * server-sent event stream), and cancel them. A run is reached under its dataset; it is found only when it is one
 * of that dataset's runs (its VedaDatasetId search attribute) and the dataset is visible to the caller.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { QueryNotRegisteredError } from '@temporalio/client';
import type { BatchOptions } from '../../client/batch-options.js';
import type { IngestOptions } from '../../client/ingest-options.js';
import type { WorkflowRun } from '../../client/workflow-run.js';
import { initialProgress, type Progress, type WorkflowKind } from '../../workflows/progress.js';
import type { RouteContext } from '../app.js';
import { streamProgress } from '../progress-events.js';
import { answers, batchBody, datasetParams, ingestBody, progress, runInfo, runParams } from '../schemas.js';

const tags = ['runs'];

interface RunRoute {
  Params: { id: string; workflowId: string };
}

export function runRoutes(app: FastifyInstance, { backend, baseUrl, inputs }: RouteContext): void {
  /** How a run is described: its id and dataset, its Web UI page and its links here. */
  const describe = (request: FastifyRequest, datasetId: string, run: WorkflowRun, more: object = {}) => {
    const self = `${baseUrl(request)}/datasets/${datasetId}/runs/${encodeURIComponent(run.workflowId)}`;
    return {
      workflowId: run.workflowId,
      datasetId,
      uiUrl: run.uiUrl ?? null,
      ...more,
      links: {
        self: { href: self, method: 'GET' },
        progress: { href: `${self}/progress`, method: 'GET' },
        events: { href: `${self}/events`, method: 'GET' },
        cancel: { href: `${self}/cancel`, method: 'POST' },
      },
    };
  };
  const started = { 202: { ...runInfo, description: 'the workflow started; follow it with its links' } };

  app.post<{ Params: { id: string }; Body: IngestOptions }>('/datasets/:id/ingests', {
    schema: {
      tags,
      summary: 'start an ingest: plan windows over an image, encode labels, post datapoints, cache chips (owner only)',
      params: datasetParams,
      body: ingestBody,
      response: answers(started, 403),
    },
  }, async (request, reply) => {
    const acting = backend(request);
    await acting.dataset(request.params.id); // an invisible dataset is not found, whatever the inputs
    await inputs.checkIngest(request.body);
    const run = await acting.ingest(request.params.id, request.body);
    return reply.status(202).send(describe(request, request.params.id, run, { seed: run.seed }));
  });

  app.post<{ Params: { id: string } }>('/datasets/:id/cache', {
    schema: { tags, summary: 'start caching the chips not cached yet (owner only)', params: datasetParams, response: answers(started, 403) },
  }, async (request, reply) => {
    const run = await backend(request).cache(request.params.id);
    return reply.status(202).send(describe(request, request.params.id, run));
  });

  app.post<{ Params: { id: string }; Body: BatchOptions }>('/datasets/:id/batches', {
    schema: {
      tags: ['runs', 'batches'],
      summary: 'start building an HDF5 batch (the owner, or anyone for a public dataset that is fully cached)',
      description: 'The file is stored in the batch store; once the run is done, `GET /datasets/{id}/batches/{name}` downloads it (`outputKey` in the final progress names it).',
      params: datasetParams,
      body: batchBody,
      response: answers(started, 403),
    },
  }, async (request, reply) => {
    const run = await backend(request).startBatch(request.params.id, request.body ?? {});
    return reply.status(202).send(describe(request, request.params.id, run));
  });

  app.get<{ Params: { id: string } }>('/datasets/:id/runs/latest', {
    schema: {
      tags,
      summary: "the dataset's most recent run (any kind), or null",
      params: datasetParams,
      response: answers({ 200: { type: 'object', properties: { run: { ...runInfo, nullable: true } } } }),
    },
  }, async (request) => {
    const run = await backend(request).latestRun(request.params.id);
    return { run: run ? describe(request, request.params.id, run, { status: await run.status() }) : null };
  });

  app.post<{ Params: { id: string } }>('/datasets/:id/runs/cancel', {
    schema: {
      tags,
      summary: "cancel the dataset's running workflows (owner only); answers once they have stopped",
      params: datasetParams,
      response: answers({ 200: { type: 'object', properties: { cancelled: { type: 'array', items: { type: 'string' } } } } }, 403),
    },
  }, async (request) => ({ cancelled: await backend(request).cancelRuns(request.params.id) }));

  app.get<RunRoute>('/datasets/:id/runs/:workflowId', {
    schema: { tags, summary: 'how a run stands, with its latest progress', params: runParams, response: answers({ 200: runInfo }) },
  }, async (request) => {
    const run = await backend(request).datasetRun(request.params.id, request.params.workflowId);
    return describe(request, request.params.id, run, { status: await run.status(), progress: await queried(run) });
  });

  app.get<RunRoute>('/datasets/:id/runs/:workflowId/progress', {
    schema: { tags, summary: "the workflow's `progress` query answer, now", params: runParams, response: answers({ 200: progress }) },
  }, async (request) => queried(await backend(request).datasetRun(request.params.id, request.params.workflowId)));

  app.get<RunRoute & { Querystring: { intervalMs?: number } }>('/datasets/:id/runs/:workflowId/events', {
    schema: {
      tags,
      summary: 'progress as server-sent events until the run ends',
      description: 'Events: `progress` (each distinct answer of the workflow\'s `progress` query; `warning` while no worker polls), ' +
        'then `end` ({ workflowId, status }) or `error` ({ error: { kind, message } }; CancelledError for a cancelled run).',
      params: runParams,
      querystring: { type: 'object', additionalProperties: false, properties: { intervalMs: { type: 'integer', minimum: 100, maximum: 60_000 } } },
      response: answers({ 200: { description: 'the event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } } }),
    },
  }, async (request, reply) => {
    const run = await backend(request).datasetRun(request.params.id, request.params.workflowId);
    await streamProgress(reply, run, request.query.intervalMs);
  });

  app.post<RunRoute>('/datasets/:id/runs/:workflowId/cancel', {
    schema: {
      tags,
      summary: 'ask a run to stop (the dataset\'s owner, or whoever started the run); it ends as cancelled within seconds',
      params: runParams,
      response: answers({ 202: { type: 'object', properties: { workflowId: { type: 'string' }, cancelling: { type: 'boolean' } } } }, 403),
    },
  }, async (request, reply) => {
    const run = await backend(request).datasetRun(request.params.id, request.params.workflowId, { write: 'cancel' });
    await run.cancel();
    return reply.status(202).send({ workflowId: run.workflowId, cancelling: true });
  });
}

/** The run's progress; before its first workflow task has run (no query handler yet), nothing done. */
async function queried(run: WorkflowRun): Promise<Progress> {
  try {
    return await run.query();
  } catch (err) {
    if (!(err instanceof QueryNotRegisteredError)) throw err;
    const [, datasetId, kind] = /^veda-([0-9a-z]+)-(ingest|cache|batch)-/.exec(run.workflowId) ?? [];
    return initialProgress((kind ?? 'ingest') as WorkflowKind, datasetId ?? '');
  }
}
