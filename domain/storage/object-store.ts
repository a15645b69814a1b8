import type { Readable } from 'node:stream';

/**
 * Bytes by key under a root: a local directory or an S3 bucket prefix. Chips and batch files live in one, so
 * workers on machines with no shared disk work together. Writes are atomic from a reader's view (a reader sees the
 * old object or the complete new one) and idempotent (writing a key twice just replaces it).
 */
export interface ObjectStore {
  /** The root, as a user would name it: a directory path or `s3://bucket/prefix`. */
  readonly location: string;
  /** Where a key's object is, in the same terms (a file path or an s3:// URI). */
  uri(key: string): string;
  /** The object's local file, when the store is a local directory (readers can open it in place). */
  localPath(key: string): string | undefined;
  /** Stores the bytes, or parts stored one after the other as one object. */
  put(key: string, bytes: Uint8Array | readonly Uint8Array[]): Promise<void>;
  /** The object's bytes; NotFoundError when there is none. */
  get(key: string): Promise<Uint8Array>;
  has(key: string): Promise<boolean>;
  /** Stores a local file under key (S3: a multipart upload of a stream, so size is not bounded by memory). */
  putFile(key: string, file: string): Promise<void>;
  /**
   * Copies the object to a local file, atomically: the file is the old one or the complete object. A local store
   * links read-only objects (stored batches) instead, where the file is on the same filesystem.
   */
  getFile(key: string, file: string): Promise<void>;
  /** Makes `to` the same object as `from` (the `latest.h5` pointer of a dataset's batches). */
  copy(from: string, to: string): Promise<void>;
  /** Removes every object whose key starts with the prefix; empty prefixes are refused. */
  deletePrefix(prefix: string): Promise<void>;
  /** The objects directly in a folder (`<dataset>/`), sorted by key; none when it does not exist. */
  list(folder: string): Promise<StoredObject[]>;
  /** The object's size and time; NotFoundError when there is none. */
  stat(key: string): Promise<StoredObject>;
  /** The object's bytes as a stream, or bytes start..end (inclusive, as HTTP ranges count); NotFoundError when none. */
  read(key: string, range?: { start: number; end: number }): Promise<Readable>;
}

export interface StoredObject {
  key: string;
  size: number;
  modified: Date;
}
