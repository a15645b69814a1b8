/**
 * How a dataset or a batch was made: which veda and which label encoding, and each source with its size and
 * checksum (local files: SHA-256 of the bytes) or ETag (http(s): from a HEAD request, never a download).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { LRUCache } from 'lru-cache';
import { LABEL_ENCODING_VERSION } from '../labels/encoding-version.js';
import { vedaVersion } from './version.js';
import { schemeOf } from '../storage/remote-files.js';

/** veda's version, read once. */
export const VEDA_VERSION: string = vedaVersion();

export interface SourceRecord {
  uri: string;
  bytes: number | null;
  sha256?: string;
  etag?: string;
}

/** Size and checksum of a local file, or size and ETag of an http(s) resource; the URI alone for anything else. */
export async function describeSource(uri: string): Promise<SourceRecord> {
  const scheme = schemeOf(uri);
  if (scheme === 'http' || scheme === 'https') {
    const response = await fetch(uri, { method: 'HEAD' });
    const length = response.headers.get('content-length');
    const etag = response.headers.get('etag');
    return { uri, bytes: length === null ? null : Number(length), ...(etag ? { etag } : {}) };
  }
  if (scheme !== undefined) return { uri, bytes: null };
  const before = await stat(uri, { bigint: true });
  const stamp = stampOf(before);
  const bytes = Number(before.size);
  const known = checksums.get(uri);
  if (known?.stamp === stamp) return { uri, bytes, sha256: known.sha256 };
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(uri)) hash.update(chunk as Buffer);
  const sha256 = hash.digest('hex');
  // Kept only when the file did not change while it was read.
  if (stampOf(await stat(uri, { bigint: true })) === stamp) checksums.set(uri, { stamp, sha256 });
  return { uri, bytes, sha256 };
}

/**
 * Checksums of local files, kept while a file's size, times and inode stay the same (git's index trusts the same):
 * a worker ingests from the same scenes again and again, and hashing a 200 MB image took a third of a second each.
 */
const checksums = new LRUCache<string, { stamp: string; sha256: string }>({ max: 1024 });

function stampOf({ dev, ino, size, mtimeNs, ctimeNs }: BigIntStats): string {
  return `${dev}:${ino}:${size}:${mtimeNs}:${ctimeNs}`;
}

/** What a batch file records besides the dataset's ingests (which carry their own sources and checksums). */
export function batchManifest(sources: readonly string[]) {
  return { vedaVersion: VEDA_VERSION, labelEncodingVersion: LABEL_ENCODING_VERSION, sources: [...sources] };
}
