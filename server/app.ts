/**
 * The veda HTTP API (`veda serve`): fastify routes over the same domain and workflows as the client API, through
 * a DirectBackend acting as the user each request's API token names. JSON schemas validate requests and make the
 * OpenAPI document (`/openapi.json`); errors are `{ error: { kind, message } }` with the status that fits
 * (server/errors.ts); requests are rate-limited per user and bodies size-limited (uploads get a larger limit).
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import type { DirectBackend } from '../client/direct-backend.js';
import { jsonReplacer } from '../client/json-values.js';
import { vedaVersion } from '../client/version.js';
import type { ApiTokens } from '../domain/catalog/api-tokens.js';
import { requireTokens, userOf } from './auth.js';
import { describeSchemaErrors, errorAnswer } from './errors.js';
import { InputPolicy } from './input-policy.js';
import { datasetRoutes } from './routes/datasets.js';
import { datapointRoutes } from './routes/datapoints.js';
import { runRoutes } from './routes/runs.js';
import { batchRoutes } from './routes/batches.js';
import { scheduleRoutes } from './routes/schedules.js';

export interface ApiLimits {
  /** Requests per minute and user (default 1200). */
  requestsPerMinute?: number;
  /** Uploads (fed datapoints) per minute and user (default 120). */
  uploadsPerMinute?: number;
  /** Largest request body in bytes (default 1 MiB). */
  bodyBytes?: number;
  /** Largest upload (a feed request) in bytes (default 64 MiB). */
  uploadBytes?: number;
}

export interface ApiOptions {
  /** Does the work; acts as each request's user. */
  backend: DirectBackend;
  tokens: ApiTokens;
  /** The service's address as its users reach it (document links); default: the request's own host. */
  publicUrl?: string;
  limits?: ApiLimits;
  /** Log each request (pino, on stdout). */
  logRequests?: boolean;
  /** Which images, labels and regions requests may name (default: URLs only, no local file). */
  inputs?: InputPolicy;
}

/** What every route handler gets: the backend acting as the request's user, and this service's base URL. */
export interface RouteContext {
  backend(request: FastifyRequest): DirectBackend;
  baseUrl(request: FastifyRequest): string;
  limits: Required<ApiLimits>;
  inputs: InputPolicy;
}

export async function buildApi(options: ApiOptions): Promise<FastifyInstance> {
  const limits: Required<ApiLimits> = {
    requestsPerMinute: 1200, uploadsPerMinute: 120, bodyBytes: 1024 * 1024, uploadBytes: 64 * 1024 * 1024, ...options.limits,
  };
  const app = Fastify({
    logger: options.logRequests ?? false,
    // Progress streams stay open as long as their runs: closing the service closes them too.
    forceCloseConnections: true,
    bodyLimit: limits.bodyBytes,
    // Unknown properties are errors (a misspelt option must not be dropped silently); query strings are coerced.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
    schemaErrorFormatter: (errors, where) => new Error(describeSchemaErrors(errors, where)),
  });
  // Response schemas document the API; answers are plain JSON (typed arrays as arrays), never trimmed to a schema.
  const serialize = (payload: unknown) => JSON.stringify(payload, jsonReplacer);
  app.setReplySerializer(serialize);
  app.setSerializerCompiler(() => serialize);

  app.setErrorHandler((err, request, reply) => {
    const { status, body } = errorAnswer(err);
    if (status >= 500) request.log.error(err);
    if (status >= 500 && !options.logRequests) console.error(`veda serve: ${request.method} ${request.url}: ${body.error.message}`);
    return reply.status(status).send(body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: { kind: 'NotFoundError', message: `no route ${request.method} ${request.url.split('?')[0]}` } }),
  );

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'veda',
        version: vedaVersion(),
        description:
          'Satellite imagery + vector labels -> ML training data, on durable Temporal workflows. Every request but ' +
          'this document needs `Authorization: Bearer <token>` (`veda token create --user NAME`).',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
      tags: [
        { name: 'datasets', description: 'create, find, read, change and delete datasets' },
        { name: 'datapoints', description: 'feed labelled windows, slice them, read their chips' },
        { name: 'runs', description: 'ingest, cache and batch workflows: start, follow, cancel' },
        { name: 'batches', description: 'HDF5 batch files, downloaded with HTTP ranges' },
        { name: 'schedules', description: 'batch rebuilds on Temporal Schedules' },
      ],
    },
  });

  requireTokens(app, options.tokens);
  await app.register(rateLimit, {
    global: true,
    max: limits.requestsPerMinute,
    timeWindow: 60_000,
    hook: 'preHandler', // after the token is checked, so each user has a budget of their own
    keyGenerator: (request) => request.vedaUser ?? request.ip,
    errorResponseBuilder: (_request, context) =>
      Object.assign(new Error(`too many requests: at most ${context.max} a minute; try again in ${context.after}`), { statusCode: context.statusCode }),
  });

  const context: RouteContext = {
    limits,
    inputs: options.inputs ?? (await InputPolicy.create()),
    baseUrl: (request) => (options.publicUrl ?? `${request.protocol}://${request.host}`).replace(/\/+$/, ''),
    backend: (request) => options.backend.acting(userOf(request), context.baseUrl(request)),
  };

  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, () => app.swagger());
  app.get('/me', {
    schema: {
      summary: 'who the token belongs to',
      response: { 200: { type: 'object', properties: { user: { type: 'string' } } } },
    },
  }, (request) => ({ user: userOf(request) }));

  for (const routes of [datasetRoutes, datapointRoutes, runRoutes, batchRoutes, scheduleRoutes]) routes(app, context);
  return app;
}
