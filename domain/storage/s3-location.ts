/**
 * `s3://bucket/prefix` locations and the S3 client veda makes from its configuration (AWS SDK v3). Any
 * S3-compatible server works: AWS, MinIO, Ceph, R2 (an endpoint, usually path-style addressing).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { s3Sdk } from './aws-sdk.js';
import { InvalidInputError } from '../errors.js';
import { schemeOf } from './remote-files.js';

/** How to reach S3; fields left out fall back to the SDK's standard chain (profiles, instance roles, ...). */
export interface S3Settings {
  region?: string;
  /** An S3-compatible server's address (AWS_ENDPOINT_URL), e.g. http://minio:9000. */
  endpoint?: string;
  /** `https://host/bucket/key` addressing instead of `https://bucket.host/key` (most servers other than AWS). */
  forcePathStyle: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

export interface S3Location {
  bucket: string;
  /** Key prefix inside the bucket: '' or ending with '/'. */
  prefix: string;
}

export function isS3Uri(uri: string): boolean {
  return schemeOf(uri) === 's3';
}

/** `s3://bucket/a/b` -> { bucket, key 'a/b' }; `what` names the setting or input in the error. */
export function parseS3Uri(uri: string, what: string, shape = 'key'): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(uri.trim());
  if (!match || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(match[1]!)) {
    throw new InvalidInputError(`${what} "${uri}" is not an s3://bucket/${shape} URI (bucket names are 3-63 lowercase letters, digits, dots and hyphens)`);
  }
  return { bucket: match[1]!, key: match[2]! };
}

/** `s3://bucket/a/b` -> { bucket, prefix 'a/b/' }: a store's root. */
export function parseS3Location(uri: string, what: string): S3Location {
  const { bucket, key } = parseS3Uri(uri, what, 'prefix');
  const prefix = key.replace(/\/+$/, '');
  return { bucket, prefix: prefix ? `${prefix}/` : '' };
}

const clients = new Map<string, S3Client>();

/** One client per settings per process: clients pool their connections. */
export function s3Client(settings: S3Settings): S3Client {
  const id = JSON.stringify(settings);
  let client = clients.get(id);
  if (!client) {
    client = new (s3Sdk().S3Client)({
      ...(settings.region ? { region: settings.region } : {}),
      ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      forcePathStyle: settings.forcePathStyle,
      ...(settings.credentials ? { credentials: settings.credentials } : {}),
      // Checksums only where S3 requires them: many S3-compatible servers reject the newer default trailers.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    clients.set(id, client);
  }
  return client;
}
