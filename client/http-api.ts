/**
 * The wire to a veda HTTP service (`veda serve`): bearer-token requests with JSON bodies, answers turned back into
 * the domain's errors (`{ error: { kind, message } }` -> NotFoundError, ForbiddenError, ...), downloads to files,
 * and server-sent event streams. Node's own fetch; nothing here knows the API's routes (http-backend.ts does).
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorOfKind, SetupError, VedaError } from '../domain/errors.js';
import { jsonReplacer } from './json-values.js';

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
}

/** One server-sent event: its name and its data, parsed as JSON. */
export interface ServerEvent {
  event: string;
  data: unknown;
}

/** 429 answers are retried this many times, after the server's Retry-After. */
const RATE_LIMIT_RETRIES = 5;

export class ApiClient {
  readonly url: string;

  constructor(
    url: string,
    private readonly token: string,
  ) {
    this.url = url.replace(/\/+$/, '');
  }

  /** The URL of an API path, with its query. */
  href(route: string, query: RequestOptions['query'] = {}): string {
    const url = new URL(this.url + route);
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, String(value));
    return url.toString();
  }

  /** A request whose answer is not an error (errors are thrown as the domain error they name). */
  async request(method: string, route: string, options: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, ...options.headers };
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body, jsonReplacer);
    }
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(this.href(route, options.query), { method, headers, body });
      } catch (err) {
        throw new SetupError(`cannot reach the veda API at ${this.url}: ${(err as Error).cause ?? (err as Error).message}`, { cause: err });
      }
      if (response.status === 429 && attempt < RATE_LIMIT_RETRIES) {
        await response.body?.cancel();
        await sleep(1000 * Math.min(60, Number(response.headers.get('retry-after')) || 1));
        continue;
      }
      if (!response.ok) throw await answerError(response, method, route);
      return response;
    }
  }

  async json<T>(method: string, route: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.request(method, route, { ...options, headers: { accept: 'application/json', ...options.headers } });
    return (await response.json()) as T;
  }

  /** Downloads a GET answer into `file`, atomically (the file is the old one or the whole answer). */
  async download(route: string, file: string): Promise<string> {
    const response = await this.request('GET', route);
    const target = path.resolve(file);
    await mkdir(path.dirname(target), { recursive: true });
    const tmp = `${target}.tmp-${randomBytes(6).toString('hex')}`;
    try {
      await pipeline(Readable.fromWeb(response.body! as import('node:stream/web').ReadableStream), createWriteStream(tmp));
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return target;
  }

  /** The server-sent events of a GET stream, as they come, until the server ends it. */
  async *events(route: string): AsyncGenerator<ServerEvent> {
    const response = await this.request('GET', route, { headers: { accept: 'text/event-stream' } });
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of response.body! as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true });
      // Events end with a blank line; lines are `field: value`, comments start with ':'.
      for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        if (data.length) yield { event, data: JSON.parse(data.join('\n')) };
      }
    }
  }
}

/** An error answer as the domain error it names; other answers (a proxy's HTML page) as a plain VedaError. */
async function answerError(response: Response, method: string, route: string): Promise<VedaError> {
  const text = await response.text();
  try {
    const { error } = JSON.parse(text) as { error?: { kind?: string; message?: string } };
    if (error?.kind && error.message) return errorOfKind(error.kind, error.message);
  } catch {
    // not JSON: said below
  }
  return new VedaError(`${method} ${route}: HTTP ${response.status} ${response.statusText}${text ? `: ${text.slice(0, 200)}` : ''}`);
}
