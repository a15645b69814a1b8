/**
 * Datasets: the routes a dataset document's links name (`self` GET, `update` PUT, `publish` / `unpublish` PUT,
 * `delete` DELETE, `create` POST on the collection), search with the client's filters, counts, manifest and the
 * leakage check.
 */
import type { FastifyInstance } from 'fastify';
import type { DatasetQuery, DatasetUpdate, NewCollection } from '../../client/backend.js';
import type { MlType } from '../../domain/types.js';
import type { RouteContext } from '../app.js';
import { answers, datasetDoc, datasetParams, datasetUpdate, newDataset, searchQuery } from '../schemas.js';

interface Params {
  id: string;
}

const tags = ['datasets'];
const looseObject = { type: 'object', additionalProperties: true } as const;

export function datasetRoutes(app: FastifyInstance, { backend }: RouteContext): void {
  app.post<{ Body: NewCollection }>('/datasets', {
    schema: { tags, summary: 'create a dataset (you own it)', body: newDataset, response: answers({ 201: datasetDoc }) },
  }, async (request, reply) => {
    const as = backend(request);
    const created = await as.create(request.body);
    return reply.status(201).send(await as.doc(created.id));
  });

  app.get<{ Querystring: { name?: string; mlType?: MlType; bbox?: string; owner?: string; public?: boolean } }>('/datasets', {
    schema: {
      tags,
      summary: 'datasets you may see (yours and public ones), newest first',
      querystring: searchQuery,
      response: answers({ 200: { type: 'array', items: datasetDoc } }),
    },
  }, async (request) => {
    const { name, mlType, bbox, owner, public: isPublic } = request.query;
    const query: DatasetQuery = {
      name, mlType, userId: owner, public: isPublic,
      bbox: bbox ? (bbox.split(',').map(Number) as [number, number, number, number]) : undefined,
    };
    return backend(request).docs(query);
  });

  app.get<{ Params: Params }>('/datasets/:id', {
    schema: { tags, summary: 'the dataset document (`links.self`)', params: datasetParams, response: answers({ 200: datasetDoc }) },
  }, (request) => backend(request).doc(request.params.id));

  app.put<{ Params: Params; Body: DatasetUpdate }>('/datasets/:id', {
    schema: {
      tags,
      summary: 'change the name, visibility or sensors (`links.update`; owner only)',
      params: datasetParams,
      body: datasetUpdate,
      response: answers({ 200: datasetDoc }, 403),
    },
  }, (request) => backend(request).update(request.params.id, request.body ?? {}));

  for (const verb of ['publish', 'unpublish'] as const) {
    app.put<{ Params: Params }>(`/datasets/:id/${verb}`, {
      schema: {
        tags,
        summary: verb === 'publish' ? 'make the dataset visible to every user (`links.publish`; owner only)' : 'make it private again (`links.unpublish`; owner only)',
        params: datasetParams,
        response: answers({ 200: datasetDoc }, 403),
      },
    }, (request) => backend(request).update(request.params.id, { public: verb === 'publish' }));
  }

  app.delete<{ Params: Params }>('/datasets/:id', {
    schema: {
      tags,
      summary: 'delete the dataset, its datapoints and chips (`links.delete`; owner only)',
      params: datasetParams,
      response: answers({ 200: { type: 'object', properties: { id: { type: 'string' }, deleted: { type: 'boolean' } } } }, 403),
    },
  }, async (request) => {
    await backend(request).delete(request.params.id);
    return { id: request.params.id, deleted: true };
  });

  app.get<{ Params: Params }>('/datasets/:id/count', {
    schema: {
      tags,
      summary: 'datapoints per group, in all, and cached',
      params: datasetParams,
      response: answers({ 200: { type: 'object', properties: { groups: { type: 'object', additionalProperties: { type: 'integer' } }, total: { type: 'integer' }, cached: { type: 'integer' } } } }),
    },
  }, (request) => backend(request).counts(request.params.id));

  app.get<{ Params: Params }>('/datasets/:id/manifest', {
    schema: { tags, summary: 'how the dataset was made: versions, sources with checksums, each ingest', params: datasetParams, response: answers({ 200: looseObject }) },
  }, (request) => backend(request).manifest(request.params.id));

  app.get<{ Params: Params }>('/datasets/:id/check', {
    schema: { tags, summary: 'leakage check: pixels and windows groups share, classes per group', params: datasetParams, response: answers({ 200: looseObject }) },
  }, (request) => backend(request).check(request.params.id));
}
