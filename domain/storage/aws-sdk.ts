/**
 * The AWS SDK, loaded the first time something talks to S3: a process with a local store and local inputs (the
 * default, and every `veda show`) never pays its start-up cost. Both packages ship CommonJS, so they load
 * synchronously where a constructor needs them.
 */
import { createRequire } from 'node:module';

type ClientS3 = typeof import('@aws-sdk/client-s3');
type LibStorage = typeof import('@aws-sdk/lib-storage');

const require = createRequire(import.meta.url);
let clientS3: ClientS3 | undefined;
let libStorage: LibStorage | undefined;

export function s3Sdk(): ClientS3 {
  return (clientS3 ??= require('@aws-sdk/client-s3') as ClientS3);
}

export function s3Uploads(): LibStorage {
  return (libStorage ??= require('@aws-sdk/lib-storage') as LibStorage);
}
