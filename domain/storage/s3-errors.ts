import { InvalidInputError, NotFoundError, SetupError } from '../errors.js';

interface S3ErrorShape {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

/**
 * An S3 failure a user can act on becomes a veda error (non-retryable): a missing object, a missing bucket or
 * refused credentials. Everything else (network, 5xx, throttling) stays as it is and is retried.
 */
export function asS3Error(err: unknown, what: string): unknown {
  const e = err as S3ErrorShape;
  const code = e?.name ?? e?.Code;
  const status = e?.$metadata?.httpStatusCode;
  if (code === 'NoSuchKey' || code === 'NotFound' || (status === 404 && code !== 'NoSuchBucket')) {
    return new NotFoundError(`${what} not found`, { cause: err });
  }
  if (code === 'NoSuchBucket') return new SetupError(`${what}: the bucket does not exist`, { cause: err });
  if (status === 403 || code === 'AccessDenied' || code === 'InvalidAccessKeyId' || code === 'SignatureDoesNotMatch') {
    return new SetupError(
      `${what}: access denied by S3 (${code ?? status}); check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the instance role) and the bucket policy`,
      { cause: err },
    );
  }
  if (status === 416 || code === 'InvalidRange') return new InvalidInputError(`${what}: the range is outside the object`, { cause: err });
  return err;
}
