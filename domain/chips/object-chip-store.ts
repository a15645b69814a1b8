import { NotFoundError } from '../errors.js';
import { LocalObjectStore } from '../storage/local-object-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { Raster } from '../types.js';
import { decodeChip, encodeChipParts, readChipFile } from './chip-format.js';
import type { ChipStore, LocalChipRoot } from './types.js';

/**
 * Chips as objects of a store (a local directory or an S3 prefix), one object per key in veda's chip format
 * (chip-format.ts). The store's writes are atomic, so a crashed writer leaves the old chip or none, never a torn
 * one, and writing a key twice just replaces it.
 */
export class ObjectChipStore implements ChipStore {
  constructor(readonly objects: ObjectStore) {}

  async put(key: string, chip: Raster): Promise<void> {
    await this.objects.put(key, encodeChipParts(chip));
  }

  async get(key: string): Promise<Raster> {
    const missing = (cause: unknown) => new NotFoundError(`chip ${key} is not in the chip store ${this.objects.location}`, { cause });
    // A local file is read straight into the chip's samples; other stores hand over the object's bytes.
    const file = this.objects.localPath(key);
    if (file !== undefined) {
      // Read around the page cache where the store writes so (the bytes are then copied out), else straight in.
      if (this.objects instanceof LocalObjectStore && (await this.objects.directIo())) {
        return this.objects.readWith(key, (bytes) => decodeChip(bytes, key)).catch((err: unknown) => {
          throw err instanceof NotFoundError ? missing(err) : err;
        });
      }
      return readChipFile(file, key).catch((err: NodeJS.ErrnoException) => {
        throw err.code === 'ENOENT' ? missing(err) : err;
      });
    }
    let bytes: Uint8Array;
    try {
      bytes = await this.objects.get(key);
    } catch (err) {
      if (err instanceof NotFoundError) throw missing(err);
      throw err;
    }
    return decodeChip(bytes, key);
  }

  local(): LocalChipRoot | undefined {
    return this.objects instanceof LocalObjectStore ? { root: this.objects.root, options: this.objects.options } : undefined;
  }

  has(key: string): Promise<boolean> {
    return this.objects.has(key);
  }

  /** Removes every chip whose key starts with `prefix` ("datasets/<id>/" for a dataset); empty prefixes are refused. */
  deletePrefix(prefix: string): Promise<void> {
    return this.objects.deletePrefix(prefix);
  }
}

/** Chips as files under a local directory. */
export class LocalChipStore extends ObjectChipStore {
  readonly root: string;

  constructor(root: string) {
    const objects = new LocalObjectStore(root);
    super(objects);
    this.root = objects.root;
  }
}
