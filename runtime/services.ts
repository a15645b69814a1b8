/**
 * The stateful services veda's processes share, opened from configuration: the catalog (PostgreSQL or the embedded
 * PGlite) and the chip store (a directory under VEDA_DATA_DIR). Workers and clients open them the same way.
 */
import path from 'node:path';
import type { VedaConfig } from '../config/config.js';
import { openCatalog } from '../domain/catalog/index.js';
import type { Catalog } from '../domain/catalog/types.js';
import { LocalChipStore } from '../domain/chips/index.js';
import type { ChipStore } from '../domain/chips/types.js';

export interface Services {
  catalog: Catalog;
  chips: ChipStore;
  /** Where batch files go by default. */
  batchDir: string;
  close(): Promise<void>;
}

export async function openServices(config: Pick<VedaConfig, 'databaseUrl' | 'dataDir'>): Promise<Services> {
  const catalog = await openCatalog({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  return {
    catalog,
    chips: new LocalChipStore(path.join(config.dataDir, 'chips')),
    batchDir: path.join(config.dataDir, 'batches'),
    close: () => catalog.close(),
  };
}
