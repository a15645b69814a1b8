import type { GeoTIFF } from 'geotiff';
import { InvalidInputError, NotFoundError } from '../errors.js';

/** A failed HTTP exchange that may succeed later (network error, 5xx, 408, 429): retryable. */
export class RemoteReadError extends Error {
  override readonly name = 'RemoteReadError';
}

type TiffSource = Parameters<typeof GeoTIFF.fromSource>[0];
type Slice = Parameters<TiffSource['fetchSlice']>[0];

const BLOCK_BYTES = 64 * 1024;
const CACHED_BLOCKS = 64;
/** Default bound on one range request, headers and body: a server that stops answering is a retryable failure. */
export const DEFAULT_HTTP_TIMEOUT_MS = 30_000;

/**
 * Byte ranges of a remote file for geotiff, one HTTP range request each. Small reads (IFDs, tile offsets, which
 * a COG keeps together at the start) go through cached 64 KiB blocks so they cost a few requests, not one per
 * tile. Written here rather than using geotiff's BlockedSource because that one replaces every HTTP failure with
 * "Request failed", and a user needs to know a URL is missing (404) rather than have it retried.
 *
 * Errors: 404/410 -> NotFoundError; other 4xx and a server that ignores Range (HTTP 200: a full download for
 * every block) and a body shorter than its range says -> InvalidInputError; network errors, 5xx, 408, 429 and a
 * request that takes longer than `timeoutMs` (a hanging server) -> RemoteReadError (retryable).
 */
export class HttpRangeSource implements TiffSource {
  private size: number | null = null;
  private readonly blocks = new Map<number, Promise<Uint8Array>>();

  /** `what` names the input in messages ('image', 'label file'). */
  constructor(
    private readonly url: string,
    private readonly timeoutMs = DEFAULT_HTTP_TIMEOUT_MS,
    private readonly what = 'image',
  ) {}

  get fileSize(): number | null {
    return this.size;
  }

  async fetch(slices: Slice[], signal?: AbortSignal): Promise<ArrayBuffer[]> {
    return Promise.all(slices.map(async (slice) => (await this.fetchSlice(slice, signal)).data));
  }

  /** The bytes of `slice`, zero-padded past the end of the file (as geotiff's file source does). */
  async fetchSlice(slice: Slice, signal?: AbortSignal): Promise<Slice & { data: ArrayBuffer }> {
    const { offset, length } = slice;
    const out = new Uint8Array(length);
    if (length >= BLOCK_BYTES) {
      out.set(await this.request(offset, length, signal));
    } else {
      const first = Math.floor(offset / BLOCK_BYTES);
      const last = Math.floor((offset + length - 1) / BLOCK_BYTES);
      for (let id = first; id <= last; id++) {
        const block = await this.block(id, signal);
        const start = Math.max(offset, id * BLOCK_BYTES);
        const end = Math.min(offset + length, id * BLOCK_BYTES + block.length);
        if (end > start) out.set(block.subarray(start - id * BLOCK_BYTES, end - id * BLOCK_BYTES), start - offset);
      }
    }
    return { offset, length, data: out.buffer };
  }

  async close(): Promise<void> {
    this.blocks.clear();
  }

  private block(id: number, signal?: AbortSignal): Promise<Uint8Array> {
    const cached = this.blocks.get(id);
    if (cached) {
      this.blocks.delete(id);
      this.blocks.set(id, cached);
      return cached;
    }
    const block = this.request(id * BLOCK_BYTES, BLOCK_BYTES, signal);
    this.blocks.set(id, block);
    // A failed read is not cached; the check spares a newer read of the same block that replaced it meanwhile.
    block.catch(() => {
      if (this.blocks.get(id) === block) this.blocks.delete(id);
    });
    if (this.blocks.size > CACHED_BLOCKS) this.blocks.delete(this.blocks.keys().next().value!);
    return block;
  }

  private async request(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const bounded = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const failed = (err: unknown) => {
      const why = timeout.aborted ? `no answer within ${this.timeoutMs / 1000} s` : (err as Error).message;
      return new RemoteReadError(`GET ${this.url} (bytes ${offset}-${offset + length - 1}) failed: ${why}`, { cause: err });
    };
    let response: Response;
    try {
      response = await fetch(this.url, { headers: { Range: `bytes=${offset}-${offset + length - 1}` }, signal: bounded });
    } catch (err) {
      if (signal?.aborted) throw err; // the caller's cancellation, not a remote failure
      throw failed(err);
    }
    const { status, statusText } = response;
    if (status === 206) {
      const total = /\/(\d+)\s*$/.exec(response.headers.get('content-range') ?? '')?.[1];
      if (total !== undefined) this.size = Number(total);
      let body: Uint8Array;
      try {
        body = new Uint8Array(await response.arrayBuffer()); // the same signal bounds the body
      } catch (err) {
        if (signal?.aborted) throw err;
        throw failed(err);
      }
      // Short of what was asked and of what the file holds there: the server's length is wrong.
      const expected = this.size === null ? length : Math.max(0, Math.min(length, this.size - offset));
      if (body.length < expected) {
        throw new InvalidInputError(
          `${this.url}: the server sent ${body.length} bytes for bytes ${offset}-${offset + length - 1} of a file it says ` +
            `holds ${this.size ?? 'an unknown number of'} bytes: its length is wrong (or the file changed)`,
        );
      }
      return body;
    }
    await response.body?.cancel();
    if (status === 404 || status === 410) throw new NotFoundError(`${this.what} URL not found (HTTP ${status}): ${this.url}`);
    if (status === 200) {
      throw new InvalidInputError(
        `${this.url}: the server ignored the Range header (HTTP 200); veda reads remote ${this.what}s with range requests`,
      );
    }
    if (status >= 500 || status === 408 || status === 429) {
      throw new RemoteReadError(`GET ${this.url}: HTTP ${status} ${statusText}`);
    }
    throw new InvalidInputError(`cannot read ${this.what} URL ${this.url}: HTTP ${status} ${statusText}`);
  }
}
