import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { s3Sdk, s3Uploads } from './aws-sdk.js';
import { NotFoundError } from '../errors.js';
import { checkKey } from './object-keys.js';
import type { ObjectStore, StoredObject } from './object-store.js';
import { asS3Error } from './s3-errors.js';
import type { S3Location } from './s3-location.js';

/** Parts of a multipart upload: 16 MiB, four in flight (64 MiB of buffers at most). */
const PART_BYTES = 16 * 1024 * 1024;
const PARTS_IN_FLIGHT = 4;

/**
 * Objects under a prefix of an S3 bucket. S3 makes every PUT and every completed multipart upload visible whole
 * (a reader sees the old object or the new one), which is the atomicity veda needs; big files go up as multipart
 * uploads of a stream (lib-storage), so memory stays bounded.
 */
export class S3ObjectStore implements ObjectStore {
  constructor(
    private readonly client: S3Client,
    private readonly at: S3Location,
  ) {}

  get location(): string {
    return `s3://${this.at.bucket}/${this.at.prefix}`;
  }

  uri(key: string): string {
    return `s3://${this.at.bucket}/${this.objectKey(key, 'key')}`;
  }

  localPath(): undefined {
    return undefined;
  }

  async put(key: string, bytes: Uint8Array | readonly Uint8Array[]): Promise<void> {
    const Key = this.objectKey(key, 'key');
    // One body with a known length (a PutObject of a stream needs one); the request costs more than the copy.
    const Body = bytes instanceof Uint8Array ? bytes : Buffer.concat(bytes);
    await this.send(key, () => this.client.send(new (s3Sdk().PutObjectCommand)({ Bucket: this.at.bucket, Key, Body })));
  }

  async get(key: string): Promise<Uint8Array> {
    const Key = this.objectKey(key, 'key');
    return this.send(key, async () => {
      const { Body } = await this.client.send(new (s3Sdk().GetObjectCommand)({ Bucket: this.at.bucket, Key }));
      return Body!.transformToByteArray();
    });
  }

  async has(key: string): Promise<boolean> {
    const Key = this.objectKey(key, 'key');
    try {
      await this.send(key, () => this.client.send(new (s3Sdk().HeadObjectCommand)({ Bucket: this.at.bucket, Key })));
      return true;
    } catch (err) {
      if (err instanceof NotFoundError) return false;
      throw err;
    }
  }

  async putFile(key: string, file: string): Promise<void> {
    const Key = this.objectKey(key, 'key');
    await this.send(key, () =>
      new (s3Uploads().Upload)({
        client: this.client,
        params: { Bucket: this.at.bucket, Key, Body: createReadStream(file) },
        partSize: PART_BYTES,
        queueSize: PARTS_IN_FLIGHT,
        // A failed upload aborts its parts: nothing half-written stays behind (and nothing becomes visible).
        leavePartsOnError: false,
      }).done(),
    );
  }

  async getFile(key: string, file: string): Promise<void> {
    const Key = this.objectKey(key, 'key');
    const target = resolve(file);
    await mkdir(dirname(target), { recursive: true });
    const tmp = `${target}.tmp-${randomBytes(6).toString('hex')}`;
    try {
      await this.send(key, async () => {
        const { Body } = await this.client.send(new (s3Sdk().GetObjectCommand)({ Bucket: this.at.bucket, Key }));
        await pipeline(Body as Readable, createWriteStream(tmp));
      });
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  /** A server-side copy (S3 copies objects of up to 5 GiB in one request). */
  async copy(from: string, to: string): Promise<void> {
    const source = this.objectKey(from, 'key');
    const Key = this.objectKey(to, 'key');
    await this.send(from, () =>
      this.client.send(
        new (s3Sdk().CopyObjectCommand)({ Bucket: this.at.bucket, Key, CopySource: `${this.at.bucket}/${source.split('/').map(encodeURIComponent).join('/')}` }),
      ),
    );
  }

  async deletePrefix(prefix: string): Promise<void> {
    const Prefix = this.objectKey(prefix, 'prefix');
    let ContinuationToken: string | undefined;
    do {
      const page = await this.send(prefix, () =>
        this.client.send(new (s3Sdk().ListObjectsV2Command)({ Bucket: this.at.bucket, Prefix, ContinuationToken })),
      );
      const objects = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (objects.length) {
        await this.send(prefix, () => this.client.send(new (s3Sdk().DeleteObjectsCommand)({ Bucket: this.at.bucket, Delete: { Objects: objects, Quiet: true } })));
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  async list(folder: string): Promise<StoredObject[]> {
    const Prefix = this.objectKey(folder.endsWith('/') ? folder : `${folder}/`, 'prefix');
    const found: StoredObject[] = [];
    let ContinuationToken: string | undefined;
    do {
      const page = await this.send(folder, () =>
        this.client.send(new (s3Sdk().ListObjectsV2Command)({ Bucket: this.at.bucket, Prefix, Delimiter: '/', ContinuationToken })),
      );
      for (const o of page.Contents ?? []) {
        found.push({ key: o.Key!.slice(this.at.prefix.length), size: o.Size ?? 0, modified: o.LastModified ?? new Date(0) });
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async stat(key: string): Promise<StoredObject> {
    const Key = this.objectKey(key, 'key');
    const head = await this.send(key, () => this.client.send(new (s3Sdk().HeadObjectCommand)({ Bucket: this.at.bucket, Key })));
    return { key, size: head.ContentLength ?? 0, modified: head.LastModified ?? new Date(0) };
  }

  async read(key: string, range?: { start: number; end: number }): Promise<Readable> {
    const Key = this.objectKey(key, 'key');
    const Range = range ? `bytes=${range.start}-${range.end}` : undefined;
    const { Body } = await this.send(key, () => this.client.send(new (s3Sdk().GetObjectCommand)({ Bucket: this.at.bucket, Key, Range })));
    return Body as Readable;
  }

  private objectKey(key: string, kind: 'key' | 'prefix'): string {
    checkKey(key, kind);
    return this.at.prefix + key;
  }

  private async send<T>(key: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw asS3Error(err, this.uri(key.replace(/\/$/, '') || key));
    }
  }
}
