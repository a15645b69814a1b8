import type { S3Client } from '@aws-sdk/client-s3';
import { s3Sdk } from './aws-sdk.js';
import { isVedaError } from '../errors.js';
import { RemoteReadError } from './http-file.js';
import type { RemoteFile } from './remote-files.js';
import { asS3Error } from './s3-errors.js';
import { parseS3Uri } from './s3-location.js';

/**
 * An input file in S3 (`s3://bucket/key`): ranged GETs for COGs, a whole GET for labels. A missing object or
 * bucket and refused credentials are veda errors (not retried); other failures are RemoteReadError (retried).
 */
export class S3File implements RemoteFile {
  private readonly bucket: string;
  private readonly key: string;

  constructor(
    private readonly client: S3Client,
    readonly uri: string,
  ) {
    ({ bucket: this.bucket, key: this.key } = parseS3Uri(uri, 'input file'));
  }

  async read(offset: number, length: number, signal?: AbortSignal): Promise<{ bytes: Uint8Array; size: number | null }> {
    const { bytes, range } = await this.get(`bytes=${offset}-${offset + length - 1}`, signal);
    const total = /\/(\d+)\s*$/.exec(range ?? '')?.[1];
    return { bytes, size: total === undefined ? null : Number(total) };
  }

  async readAll(signal?: AbortSignal): Promise<Uint8Array> {
    return (await this.get(undefined, signal)).bytes;
  }

  private async get(Range: string | undefined, signal?: AbortSignal): Promise<{ bytes: Uint8Array; range?: string }> {
    try {
      const reply = await this.client.send(new (s3Sdk().GetObjectCommand)({ Bucket: this.bucket, Key: this.key, Range }), { abortSignal: signal });
      return { bytes: await reply.Body!.transformToByteArray(), range: reply.ContentRange };
    } catch (err) {
      const mapped = asS3Error(err, this.uri);
      if (isVedaError(mapped)) throw mapped;
      throw new RemoteReadError(`GET ${this.uri} failed: ${(err as Error).message}`, { cause: err });
    }
  }
}
