import { InvalidInputError, NotFoundError } from '../errors.js';
import type { RemoteFile } from './remote-files.js';

/** A failed remote read that may succeed later (network error, 5xx, 408, 429, no answer in time): retryable. */
export class RemoteReadError extends Error {
  override readonly name = 'RemoteReadError';
}

/** Default bound on one request, headers and body: a server that stops answering is a retryable failure. */
export const DEFAULT_HTTP_TIMEOUT_MS = 30_000;

/**
 * A file behind an http(s) URL, read with range requests (imagery's RangeSource caches and slices them for
 * geotiff) or whole (labels).
 *
 * Errors: 404/410 -> NotFoundError; other 4xx and a server that ignores Range (HTTP 200: a full download for
 * every block) -> InvalidInputError; network errors, 5xx, 408, 429 and a request that takes longer than
 * `timeoutMs` (a hanging server) -> RemoteReadError (retryable).
 */
export class HttpFile implements RemoteFile {
  /** `what` names the input in messages ('image', 'label file'). */
  constructor(
    readonly uri: string,
    private readonly timeoutMs = DEFAULT_HTTP_TIMEOUT_MS,
    private readonly what = 'image',
  ) {}

  async read(offset: number, length: number, signal?: AbortSignal): Promise<{ bytes: Uint8Array; size: number | null }> {
    const range = `bytes=${offset}-${offset + length - 1}`;
    return this.get({ Range: range }, `bytes ${offset}-${offset + length - 1}`, signal, async (response) => {
      if (response.status === 206) {
        const total = /\/(\d+)\s*$/.exec(response.headers.get('content-range') ?? '')?.[1];
        return { bytes: new Uint8Array(await response.arrayBuffer()), size: total === undefined ? null : Number(total) };
      }
      await response.body?.cancel();
      if (response.status === 200) {
        throw new InvalidInputError(`${this.uri}: the server ignored the Range header (HTTP 200); veda reads remote ${this.what}s with range requests`);
      }
      throw this.failure(response);
    });
  }

  async readAll(signal?: AbortSignal): Promise<Uint8Array> {
    return this.get({}, 'whole file', signal, async (response) => {
      if (response.status === 200) return new Uint8Array(await response.arrayBuffer());
      await response.body?.cancel();
      throw this.failure(response);
    });
  }

  /** One GET bounded by the timeout (headers and body); `use` reads the response under the same bound. */
  private async get<T>(headers: Record<string, string>, what: string, signal: AbortSignal | undefined, use: (r: Response) => Promise<T>): Promise<T> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const bounded = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let response: Response;
    try {
      response = await fetch(this.uri, { headers, signal: bounded });
      return await use(response);
    } catch (err) {
      if (signal?.aborted) throw err; // the caller's cancellation, not a remote failure
      if (err instanceof InvalidInputError || err instanceof NotFoundError || err instanceof RemoteReadError) throw err;
      const why = timeout.aborted ? `no answer within ${this.timeoutMs / 1000} s` : (err as Error).message;
      throw new RemoteReadError(`GET ${this.uri} (${what}) failed: ${why}`, { cause: err });
    }
  }

  private failure({ status, statusText }: Response): Error {
    if (status === 404 || status === 410) return new NotFoundError(`${this.what} URL not found (HTTP ${status}): ${this.uri}`);
    if (status >= 500 || status === 408 || status === 429) return new RemoteReadError(`GET ${this.uri}: HTTP ${status} ${statusText}`);
    return new InvalidInputError(`cannot read ${this.what} URL ${this.uri}: HTTP ${status} ${statusText}`);
  }
}
