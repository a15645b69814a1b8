/** Schedules: a dataset's batch rebuilds on Temporal Schedules (owner only), by name within the dataset. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { DatasetSchedules } from '../../client/backend.js';
import type { ScheduleCreateOptions } from '../../client/schedules.js';
import type { RouteContext } from '../app.js';
import { answers, datasetParams, noteBody, scheduleBody, scheduleParams, scheduleSummary } from '../schemas.js';

const tags = ['schedules'];

export function scheduleRoutes(app: FastifyInstance, { backend }: RouteContext): void {
  const schedulesOf = async (request: FastifyRequest<{ Params: { id: string } }>): Promise<DatasetSchedules> => {
    const as = backend(request);
    return as.schedules(await as.dataset(request.params.id));
  };

  app.get<{ Params: { id: string } }>('/datasets/:id/schedules', {
    schema: { tags, summary: "the dataset's batch schedules", params: datasetParams, response: answers({ 200: { type: 'array', items: scheduleSummary } }, 403) },
  }, async (request) => (await schedulesOf(request)).list());

  app.post<{ Params: { id: string }; Body: ScheduleCreateOptions }>('/datasets/:id/schedules', {
    schema: {
      tags,
      summary: 'create a schedule that rebuilds the batch (`every` 24h or `cron` "0 3 * * *"; overlapping runs are skipped)',
      params: datasetParams,
      body: scheduleBody,
      response: answers({ 201: scheduleSummary }, 403, 409),
    },
  }, async (request, reply) => reply.status(201).send(await (await schedulesOf(request)).create(request.body)));

  app.get<{ Params: { id: string; name: string } }>('/datasets/:id/schedules/:name', {
    schema: { tags, summary: 'one schedule: spec, state, next and recent runs', params: scheduleParams, response: answers({ 200: scheduleSummary }, 403) },
  }, async (request) => (await schedulesOf(request)).describe(request.params.name));

  for (const action of ['trigger', 'pause', 'unpause'] as const) {
    app.post<{ Params: { id: string; name: string }; Body: { note?: string } }>(`/datasets/:id/schedules/:name/${action}`, {
      schema: {
        tags,
        summary: { trigger: 'start a build now (skipped while one runs)', pause: 'stop starting builds', unpause: 'start builds on the calendar again' }[action],
        params: scheduleParams,
        body: noteBody,
        response: answers({ 200: { type: 'object', properties: { id: { type: 'string' }, action: { type: 'string' } } } }, 403),
      },
    }, async (request) => {
      const schedules = await schedulesOf(request);
      const { name } = request.params;
      if (action === 'trigger') await schedules.trigger(name);
      else await schedules[action](name, request.body?.note);
      return { id: schedules.id(name), action };
    });
  }

  app.delete<{ Params: { id: string; name: string } }>('/datasets/:id/schedules/:name', {
    schema: {
      tags,
      summary: 'delete the schedule (its batch files stay)',
      params: scheduleParams,
      response: answers({ 200: { type: 'object', properties: { id: { type: 'string' }, action: { type: 'string' } } } }, 403),
    },
  }, async (request) => {
    const schedules = await schedulesOf(request);
    await schedules.delete(request.params.name);
    return { id: schedules.id(request.params.name), action: 'delete' };
  });
}
