import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { GeoTIFF, fromFile, type GeoTIFFImage } from 'geotiff';
import { InvalidInputError, NotFoundError, isVedaError } from '../errors.js';
import { HttpRangeSource, RemoteReadError } from './http-range-source.js';
import { RangeSource } from './range-source.js';
import { remoteFile, schemeOf } from '../storage/remote-files.js';

export interface OpenedTiff {
  tiff: GeoTIFF;
  /** The full-resolution image (IFD 0); overviews and masks follow it and are never read. */
  image: GeoTIFFImage;
  /** Bytes in the file (for a URL, as the server reports it), to check that every block lies inside it. */
  fileSize: number;
}

export interface OpenTiffOptions {
  /** Remote images: a request with no response for this long fails (retryably). Default 30 s. */
  httpTimeoutMs?: number;
}

/** Opens a TIFF from a local path, a file: URL or an http(s) / s3:// URL, mapping failures to errors a user can act on. */
export async function openTiff(uri: string, options: OpenTiffOptions = {}): Promise<OpenedTiff> {
  if (uri.trim() === '') throw new InvalidInputError('no image given: the image location is empty');
  const scheme = schemeOf(uri);
  // Any remote scheme of remote-files.ts (http(s), s3) reads through RangeSource; http keeps its own time-out.
  const file = remoteFile(uri, 'image');
  const isRemote = file !== null;
  const path = scheme === 'file' ? fileURLToPath(uri) : uri;
  const localSize = isRemote ? 0 : await readableFileSize(path);
  if (!isRemote && localSize === 0) throw new InvalidInputError(`${uri} is empty (0 bytes), not a TIFF file`);
  const remote = !file ? null : scheme === 'http' || scheme === 'https' ? new HttpRangeSource(uri, options.httpTimeoutMs) : new RangeSource(file);
  let tiff: GeoTIFF | undefined;
  try {
    tiff = remote ? await GeoTIFF.fromSource(remote) : await fromFile(path);
    const image = await tiff.getImage(0);
    const fileSize = remote ? remote.fileSize : localSize;
    if (fileSize === null) throw new InvalidInputError(`${uri}: the server did not say how large the file is (no Content-Range total)`);
    return { tiff, image, fileSize };
  } catch (err) {
    await tiff?.close();
    throw asOpenError(uri, err);
  }
}

async function readableFileSize(path: string): Promise<number> {
  try {
    const stats = await stat(path);
    if (!stats.isFile()) throw new InvalidInputError(`${path} is not a file`);
    return stats.size;
  } catch (err) {
    if (isVedaError(err)) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new NotFoundError(`image file not found: ${path}`);
    throw new InvalidInputError(`cannot read image file ${path}: ${(err as Error).message}`);
  }
}

/** Transient failures stay as they are (retried); what geotiff says about the bytes becomes InvalidInputError. */
function asOpenError(uri: string, err: unknown): unknown {
  if (isVedaError(err) || err instanceof RemoteReadError || (err as NodeJS.ErrnoException).code !== undefined) {
    return err;
  }
  const message = (err as Error).message ?? String(err);
  if (/byte order|magic number/i.test(message)) return new InvalidInputError(`${uri} is not a TIFF file (no TIFF signature)`);
  return new InvalidInputError(`${uri} is not a readable TIFF: ${message}`);
}
