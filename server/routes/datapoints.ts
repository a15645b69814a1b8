/**
 * Datapoints: feed labelled windows (an upload: its own size and rate limits), slice them with their labels in the
 * served form, remove them, and read a chip's pixels as raw bytes or as a PNG preview with its label drawn over it.
 */
import type { FastifyInstance } from 'fastify';
import type { FeedItem } from '../../client/collection.js';
import type { Datapoint } from '../../domain/catalog/types.js';
import { InvalidInputError } from '../../domain/errors.js';
import { bytesOf } from '../../domain/imagery/dtypes.js';
import { serveLabel } from '../../domain/labels/served-label.js';
import type { MlType } from '../../domain/types.js';
import type { RouteContext } from '../app.js';
import {
  answers, datapointParams, datasetParams, feedBody, MAX_SLICE, previewParams, previewQuery, removeBody, sliceQuery,
} from '../schemas.js';

const tags = ['datapoints'];

const datapoint = {
  type: 'object',
  additionalProperties: true,
  description: 'a datapoint: id, group, source, window, label (stored form), chipKey, and `y`, the label as batches serve it',
  properties: {
    id: { type: 'string' },
    group: { type: 'string' },
    source: { type: 'string' },
    window: { type: 'object', properties: { x: { type: 'integer' }, y: { type: 'integer' }, width: { type: 'integer' }, height: { type: 'integer' } } },
    label: {},
    chipKey: { type: 'string', nullable: true },
    y: {},
  },
} as const;

/** A datapoint with its label in the served form (one-hot, boxes, mask), as in `slice()` and batches. */
function served(point: Datapoint, mlType: MlType): Datapoint & { y: unknown } {
  return { ...point, y: serveLabel(point.label, mlType) };
}

/** Non-ASCII as \u escapes: a header value must be ASCII. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const numbers = (text: string | undefined) => (text === undefined ? undefined : text.split(',').map(Number));

export function datapointRoutes(app: FastifyInstance, { backend, limits, inputs }: RouteContext): void {
  app.post<{ Params: { id: string }; Body: { pairs: FeedItem[]; group?: string; source?: string } }>('/datasets/:id/datapoints', {
    bodyLimit: limits.uploadBytes,
    config: { rateLimit: { max: limits.uploadsPerMinute, timeWindow: 60_000 } },
    schema: {
      tags,
      summary: 'feed labelled windows into a group (owner only); every pair is checked before any is posted',
      params: datasetParams,
      body: feedBody,
      response: answers({ 200: { type: 'object', properties: { added: { type: 'integer', description: 'new datapoints (feeding is idempotent)' } } } }, 403, 413),
    },
  }, async (request) => {
    const { pairs, ...options } = request.body;
    const acting = backend(request);
    await acting.dataset(request.params.id); // an invisible dataset is not found, whatever the pairs name
    await inputs.checkFeed(pairs, options.source);
    return { added: await acting.feed(request.params.id, pairs, options) };
  });

  app.get<{ Params: { id: string }; Querystring: { start: number; end: number; group?: string } }>('/datasets/:id/datapoints', {
    schema: {
      tags,
      summary: `datapoints [start, end) in posting order, with their labels (at most ${MAX_SLICE} a request)`,
      params: datasetParams,
      querystring: sliceQuery,
      response: answers({ 200: { type: 'array', items: datapoint } }),
    },
  }, async (request) => {
    const { start, end, group } = request.query;
    if (end - start > MAX_SLICE) throw new InvalidInputError(`at most ${MAX_SLICE} datapoints a request: ask for [${start}, ${start + MAX_SLICE}) and go on from there`);
    const as = backend(request);
    const { mlType } = await as.dataset(request.params.id);
    return (await as.slice(request.params.id, start, end, group)).map((p) => served(p, mlType));
  });

  app.post<{ Params: { id: string }; Body: { ids: string[] } }>('/datasets/:id/datapoints/remove', {
    schema: {
      tags,
      summary: 'remove datapoints by id, with their chips (owner only); unknown ids are ignored',
      params: datasetParams,
      body: removeBody,
      response: answers({ 200: { type: 'object', properties: { removed: { type: 'integer' } } } }, 403),
    },
  }, async (request) => ({ removed: await backend(request).remove(request.params.id, request.body.ids) }));

  app.get<{ Params: { id: string; datapointId: string } }>('/datasets/:id/datapoints/:datapointId', {
    schema: { tags, summary: 'one datapoint with its label', params: datapointParams, response: answers({ 200: datapoint }) },
  }, async (request) => {
    const as = backend(request);
    const point = await as.datapoint(request.params.id, request.params.datapointId);
    return served(point, (await as.dataset(request.params.id)).mlType);
  });

  app.get<{ Params: { id: string; datapointId: string } }>('/datasets/:id/datapoints/:datapointId/chip', {
    schema: {
      tags,
      summary: "a chip's pixels: raw little-endian samples, band-sequential [bands, height, width]",
      description: 'The headers say how to read them: `X-Veda-Dtype` (numpy name, e.g. uint16) and `X-Veda-Shape` (bands,height,width). ' +
        "Python: `np.frombuffer(r.content, dtype=r.headers['X-Veda-Dtype']).reshape(shape)`.",
      params: datapointParams,
      response: answers({ 200: { description: 'the samples', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } } }),
    },
  }, async (request, reply) => {
    const as = backend(request);
    const point = await as.datapoint(request.params.id, request.params.datapointId);
    const chip = await as.chip(request.params.id, point);
    return reply
      .type('application/octet-stream')
      .header('x-veda-dtype', chip.dtype)
      .header('x-veda-shape', `${chip.bands},${chip.height},${chip.width}`)
      .send(Buffer.from(bytesOf(chip.data)));
  });

  app.get<{ Params: { id: string; index: number }; Querystring: { bands?: string; scale?: number; group?: string; percentiles?: string } }>('/datasets/:id/previews/:index', {
    schema: {
      tags,
      summary: 'the chip at an index (posting order) as a PNG with its label drawn over it',
      description: '`X-Veda-Preview` holds what was drawn, as JSON: bands and why, scale, size, the datapoint and the class colours.',
      params: previewParams,
      querystring: previewQuery,
      response: answers({ 200: { description: 'the PNG', content: { 'image/png': { schema: { type: 'string', format: 'binary' } } } } }),
    },
  }, async (request, reply) => {
    const { bands, scale, group, percentiles } = request.query;
    const preview = await backend(request).preview(request.params.id, request.params.index, {
      bands: numbers(bands), scale, group, percentiles: numbers(percentiles) as [number, number] | undefined,
    });
    // The label stays out of the header (a mask can be large): `GET .../datapoints/<id>` has it.
    const { png, datapoint: { label: _label, ...point }, ...about } = preview;
    return reply.type('image/png').header('x-veda-preview', asciiJson({ ...about, datapoint: point })).send(png);
  });
}
