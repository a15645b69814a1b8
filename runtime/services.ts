/**
 * The stateful services veda's processes share, opened from configuration: the catalog (PostgreSQL or the embedded
 * PGlite), the chip store and the batch store (VEDA_STORE: a local directory, by default VEDA_DATA_DIR, or an S3
 * prefix). Workers and clients open them the same way; with an S3 store and PostgreSQL, nothing is on a shared disk.
 */
import path from 'node:path';
import type { VedaConfig } from '../config/config.js';
import { openCatalog } from '../domain/catalog/open-catalog.js';
import type { Catalog } from '../domain/catalog/types.js';
import { ObjectChipStore } from '../domain/chips/index.js';
import type { ChipStore } from '../domain/chips/types.js';
import { openObjectStore, registerRemoteScheme, s3Client, S3File, type ObjectStore } from '../domain/storage/index.js';

export interface Services {
  catalog: Catalog;
  chips: ChipStore;
  /** Batch files: `<dataset>/<workflow id>.<run>.h5` and `<dataset>/latest.h5`. */
  batches: ObjectStore;
  /** This machine's scratch space (batch files are written here, then stored). */
  scratchDir: string;
  /** Chips and batch files go around the page cache where the filesystem allows (VedaConfig.directIo). */
  directIo?: boolean;
  close(): Promise<void>;
}

export async function openServices(config: Pick<VedaConfig, 'databaseUrl' | 'dataDir' | 'store' | 's3' | 'directIo'>): Promise<Services> {
  // Images and label files may be s3:// URIs, read with this process's S3 settings.
  registerRemoteScheme('s3', (uri) => new S3File(s3Client(config.s3), uri));
  const root = config.store ?? config.dataDir;
  const directIo = config.directIo ?? true;
  const chips = new ObjectChipStore(openObjectStore(root, 'chips', config.s3, { directIo }));
  const batches = openObjectStore(root, 'batches', config.s3);
  const catalog = await openCatalog({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  return {
    catalog,
    chips,
    batches,
    scratchDir: path.join(config.dataDir, 'tmp'),
    directIo,
    close: () => catalog.close(),
  };
}
