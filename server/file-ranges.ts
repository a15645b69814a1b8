/**
 * Serving a stored file whole or in part (HTTP range requests, RFC 9110 section 14): `Range: bytes=a-b`, `a-` and
 * `-n` give 206 with Content-Range; a range past the end gives 416. Several ranges in one request are answered
 * with the whole file, which the RFC allows. Downloads of large batch files can resume where they stopped.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ObjectStore, StoredObject } from '../domain/storage/object-store.js';

/** The byte range a `Range` header asks of a file of `size` bytes: a range, 'unsatisfiable', or null (the whole file). */
export function requestedRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? '');
  if (!match || (match[1] === '' && match[2] === '')) return null;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

export async function sendStoredFile(request: FastifyRequest, reply: FastifyReply, store: ObjectStore, object: StoredObject, type: string): Promise<FastifyReply> {
  const name = object.key.split('/').pop()!;
  reply.header('accept-ranges', 'bytes').header('last-modified', object.modified.toUTCString());
  const range = requestedRange(request.headers.range, object.size);
  if (range === 'unsatisfiable') {
    return reply.status(416).header('content-range', `bytes */${object.size}`).send({
      error: { kind: 'RangeNotSatisfiableError', message: `${request.headers.range} is outside the file's ${object.size} bytes` },
    });
  }
  reply.header('content-disposition', `attachment; filename="${name}"`).type(type);
  if (!range) return reply.header('content-length', object.size).send(await store.read(object.key));
  return reply
    .status(206)
    .header('content-range', `bytes ${range.start}-${range.end}/${object.size}`)
    .header('content-length', range.end - range.start + 1)
    .send(await store.read(object.key, range));
}
