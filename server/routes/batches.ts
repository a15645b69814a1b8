/** Batch files: a dataset's stored HDF5 files (`latest.h5` and one per run), listed and downloaded with ranges. */
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../app.js';
import { sendStoredFile } from '../file-ranges.js';
import { answers, batchFile, batchFileParams, datasetParams } from '../schemas.js';

const tags = ['batches'];

export function batchRoutes(app: FastifyInstance, { backend, baseUrl }: RouteContext): void {
  app.get<{ Params: { id: string } }>('/datasets/:id/batches', {
    schema: {
      tags,
      summary: "the dataset's stored batch files, with their download links",
      params: datasetParams,
      response: answers({ 200: { type: 'array', items: batchFile } }),
    },
  }, async (request) => {
    const files = await backend(request).batches(request.params.id);
    return files.map((f) => ({ ...f, href: `${baseUrl(request)}/datasets/${request.params.id}/batches/${encodeURIComponent(f.name)}` }));
  });

  app.get<{ Params: { id: string; name: string } }>('/datasets/:id/batches/:name', {
    schema: {
      tags,
      summary: 'download a batch file (HDF5); `Range: bytes=a-b` gives part of it (206)',
      params: batchFileParams,
      response: answers({
        200: { description: 'the file', content: { 'application/x-hdf5': { schema: { type: 'string', format: 'binary' } } } },
        206: { description: 'the range asked for', content: { 'application/x-hdf5': { schema: { type: 'string', format: 'binary' } } } },
      }, 416),
    },
  }, async (request, reply) => {
    const as = backend(request);
    const file = await as.batchFile(request.params.id, request.params.name);
    return sendStoredFile(request, reply, as.services.batches, { key: file.key, size: file.size, modified: new Date(file.modified) }, 'application/x-hdf5');
  });
}
