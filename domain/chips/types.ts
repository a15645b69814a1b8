import type { Raster } from '../types.js';
import type { LocalObjectStoreOptions } from '../storage/local-object-store.js';

/**
 * Chips by key under a root. Lossless for every dtype and band count; writes are atomic (a crashed writer
 * leaves the old chip or none, never a torn one) and idempotent (putting the same key twice is harmless).
 */
export interface ChipStore {
  /** Stores the chip; once this resolves the store must hold no reference to `chip.data`, which may be reused. */
  put(key: string, chip: Raster): Promise<void>;
  get(key: string): Promise<Raster>;
  has(key: string): Promise<boolean>;
  /** Removes every chip whose key starts with the prefix (used when a dataset is deleted). */
  deletePrefix(prefix: string): Promise<void>;
  /** Where chips are files under a local root: the root and how it is written (another thread may write there). */
  local?(): LocalChipRoot | undefined;
}

/** A local chip store as another thread opens it again: its root directory and options. */
export interface LocalChipRoot {
  root: string;
  options: LocalObjectStoreOptions;
}
