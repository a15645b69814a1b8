import path from 'node:path';
import { LocalObjectStore, type LocalObjectStoreOptions } from './local-object-store.js';
import type { ObjectStore } from './object-store.js';
import { S3ObjectStore } from './s3-object-store.js';
import { schemeOf } from './remote-files.js';
import { isS3Uri, parseS3Location, s3Client, type S3Settings } from './s3-location.js';
import { InvalidInputError } from '../errors.js';

/**
 * The store at `root` + `sub` ("chips", "batches"): a directory under a local root, or a prefix under an
 * `s3://bucket/prefix` root. Chips and batches keep the same keys in either.
 */
export function openObjectStore(root: string, sub: string, s3: S3Settings, local: LocalObjectStoreOptions = {}): ObjectStore {
  if (isS3Uri(root)) {
    const at = parseS3Location(root, 'VEDA_STORE');
    return new S3ObjectStore(s3Client(s3), { bucket: at.bucket, prefix: `${at.prefix}${sub}/` });
  }
  if (schemeOf(root) !== undefined) {
    throw new InvalidInputError(`VEDA_STORE "${root}" is not supported: use s3://bucket/prefix or a local directory`);
  }
  return new LocalObjectStore(path.join(root, sub), local);
}
