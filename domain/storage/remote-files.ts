/**
 * Input files (images, labels) named by URL: a registry of schemes, each opening a RemoteFile that reads byte
 * ranges (COGs) or the whole file (labels). http(s) is built in (http-file.ts); s3 is
 * registered by the process once it knows its S3 settings (runtime/services.ts). Anything else is a local path.
 */
import { InvalidInputError } from '../errors.js';
import { HttpFile } from './http-file.js';

export interface RemoteFile {
  readonly uri: string;
  /** `length` bytes from `offset` (fewer at the end of the file) and the file's size when the reply tells it. */
  read(offset: number, length: number, signal?: AbortSignal): Promise<{ bytes: Uint8Array; size: number | null }>;
  readAll(signal?: AbortSignal): Promise<Uint8Array>;
}

export type RemoteFileOpener = (uri: string) => RemoteFile;

const openers = new Map<string, RemoteFileOpener>([
  ['http', (uri) => new HttpFile(uri)],
  ['https', (uri) => new HttpFile(uri)],
]);

/** Makes `scheme://...` locations readable (replaces an earlier opener of the scheme). */
export function registerRemoteScheme(scheme: string, opener: RemoteFileOpener): void {
  openers.set(scheme.toLowerCase(), opener);
}

/** The URL scheme of a location (`s3`, `https`, `file`), lower-cased; undefined for a plain path. The one check. */
export function schemeOf(uri: string): string | undefined {
  return /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri)?.[1]?.toLowerCase();
}

/** The remote file at `uri`, or null for a local path or file: URL; unknown schemes are InvalidInputError. */
export function remoteFile(uri: string, what: string): RemoteFile | null {
  const scheme = schemeOf(uri);
  if (scheme === undefined || scheme === 'file') return null;
  const opener = openers.get(scheme);
  if (!opener) {
    const known = ['a local path', ...[...openers.keys()].map((s) => `${s}://`)].join(', ');
    throw new InvalidInputError(`${uri}: unsupported ${what} location (use ${known})`);
  }
  return opener(uri);
}
