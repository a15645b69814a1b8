/**
 * Where inputs live: local paths, file: URLs and http(s) URLs. The one place that tells them apart, reads a whole
 * input (label files, STAC items) and resolves an href relative to the document that holds it, so another kind of
 * location plugs in here (s3://, read through the process's S3 settings: domain/storage/remote-files.ts).
 */
import { open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InvalidInputError, NotFoundError, isVedaError } from '../errors.js';
import { DEFAULT_HTTP_TIMEOUT_MS, HttpRangeSource, RemoteReadError } from '../imagery/http-range-source.js';
import { RangeSource } from '../imagery/range-source.js';
import { remoteFile, schemeOf } from '../storage/remote-files.js';

export type LocationKind = 'local' | 'http' | 's3';

/** 'http' for http(s) URLs, 's3' for s3://bucket/key, 'local' for paths and file: URLs; else InvalidInputError. */
export function locationKind(uri: string, what = 'input'): LocationKind {
  const scheme = schemeOf(uri);
  if (scheme === undefined || scheme === 'file') return 'local';
  if (scheme === 'http' || scheme === 'https') return 'http';
  if (scheme === 's3') return 's3';
  throw new InvalidInputError(`${uri}: unsupported ${what} location (use a local path, an http(s) or an s3:// URL)`);
}

/** The file-system path of a local location (a path or a file: URL). */
export function localPath(uri: string): string {
  return schemeOf(uri) === 'file' ? fileURLToPath(uri) : uri;
}

/** `href` as seen from the document at `base`: absolute hrefs stay, relative ones join base's folder (or URL). */
export function resolveHref(base: string, href: string): string {
  if (schemeOf(href) !== undefined) return href;
  if (locationKind(base) !== 'local') return new URL(href, base).href;
  if (path.isAbsolute(href)) return href;
  const resolved = new URL(href, pathToFileURL(path.resolve(localPath(base)))).href;
  return fileURLToPath(resolved);
}

/** The last path segment of a location, without a query (for messages and format detection). */
export function locationName(uri: string): string {
  const pathname = locationKind(uri) !== 'local' ? new URL(uri).pathname : localPath(uri);
  return decodeURIComponent(pathname.split('/').pop() ?? pathname);
}

/**
 * Every byte of an input. Missing file or HTTP 404/410 -> NotFoundError; other HTTP 4xx, a directory ->
 * InvalidInputError; network errors, time-outs and HTTP 5xx/408/429 -> RemoteReadError (retryable).
 */
export async function readWholeInput(uri: string, what: string): Promise<Uint8Array> {
  const kind = locationKind(uri, what);
  if (kind === 's3') return remoteFile(uri, what)!.readAll();
  if (kind === 'local') {
    const file = localPath(uri);
    try {
      if (!(await stat(file)).isFile()) throw new InvalidInputError(`${what} ${file} is not a file`);
      return new Uint8Array(await readFile(file));
    } catch (err) {
      if (isVedaError(err)) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new NotFoundError(`${what} ${file} does not exist`);
      throw new InvalidInputError(`cannot read ${what} ${file}: ${(err as Error).message}`);
    }
  }
  // A hanging server must not hang the activity: the whole download is bounded, and a time-out is retried.
  const timeout = AbortSignal.timeout(DEFAULT_HTTP_TIMEOUT_MS);
  const failed = (err: unknown) => {
    const why = timeout.aborted ? `no answer within ${DEFAULT_HTTP_TIMEOUT_MS / 1000} s` : (err as Error).message;
    return new RemoteReadError(`GET ${uri} failed: ${why}`, { cause: err });
  };
  let response: Response | undefined;
  // One more try at once when the connection drops (a keep-alive socket the server just closed): a GET is idempotent.
  for (let attempt = 1; !response; attempt++) {
    try {
      response = await fetch(uri, { signal: timeout });
    } catch (err) {
      if (attempt >= 2 || timeout.aborted) throw failed(err);
    }
  }
  const { status, statusText } = response;
  if (response.ok) {
    try {
      return new Uint8Array(await response.arrayBuffer());
    } catch (err) {
      throw failed(err);
    }
  }
  await response.body?.cancel();
  if (status === 404 || status === 410) throw new NotFoundError(`${what} URL not found (HTTP ${status}): ${uri}`);
  if (status >= 500 || status === 408 || status === 429) throw new RemoteReadError(`GET ${uri}: HTTP ${status} ${statusText}`);
  throw new InvalidInputError(`cannot read ${what} URL ${uri}: HTTP ${status} ${statusText}`);
}

/** Byte ranges of an input, for formats read piece by piece (FlatGeobuf's index and features). */
export interface ByteRanges {
  /** `length` bytes from `offset`; fewer only past the end of the input. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/**
 * Range reads of a local file (opened per read: nothing to close) or of an http(s) URL (range requests, small
 * reads cached in blocks). Errors as readWholeInput.
 */
export function byteRanges(uri: string, what: string): ByteRanges {
  if (locationKind(uri, what) === 's3') {
    const source = new RangeSource(remoteFile(uri, what)!);
    return { read: async (offset, length) => new Uint8Array((await source.fetchSlice({ offset, length })).data) };
  }
  if (locationKind(uri, what) === 'http') {
    const source = new HttpRangeSource(uri, DEFAULT_HTTP_TIMEOUT_MS, what);
    return { read: async (offset, length) => new Uint8Array((await source.fetchSlice({ offset, length })).data) };
  }
  const file = localPath(uri);
  return {
    async read(offset, length) {
      let handle;
      try {
        handle = await open(file, 'r');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') throw new NotFoundError(`${what} ${file} does not exist`);
        throw new InvalidInputError(`cannot read ${what} ${file}: ${(err as Error).message}`);
      }
      try {
        const out = new Uint8Array(length);
        const { bytesRead } = await handle.read(out, 0, length, offset);
        return out.subarray(0, bytesRead);
      } finally {
        await handle.close();
      }
    },
  };
}
