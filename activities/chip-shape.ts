/** The chip-shape rule: a dataset's chips all have one shape and dtype, set by the first imagery it caches. */
import type { Catalog, DatasetRecord } from '../domain/catalog/types.js';
import { InvalidInputError } from '../domain/errors.js';
import type { Dtype, Raster } from '../domain/types.js';

/**
 * Gives the dataset its chip shape and dtype if it has none (first ingest, or fed datapoints being cached), and
 * refuses imagery whose chips would differ from those it holds.
 */
export async function claimChipShape(
  catalog: Catalog,
  dataset: DatasetRecord,
  shape: [number, number, number],
  dtype: Dtype,
  source: string,
): Promise<DatasetRecord> {
  if (dataset.shape && dataset.shape.join() === shape.join() && dataset.dtype === dtype) return dataset;
  const claimed = await catalog.claimChipShape(dataset.id, shape, dtype);
  if (claimed) return claimed;
  const current = (await catalog.getDataset(dataset.id)) ?? dataset;
  throw new InvalidInputError(
    `${source} gives ${dtype} chips of shape [${shape}], but dataset ${dataset.id} holds ${current.dtype} chips of shape [${current.shape}]`,
  );
}

/** claimChipShape for a chip read from a source. */
export function checkChipShape(catalog: Catalog, dataset: DatasetRecord, chip: Raster, source: string): Promise<DatasetRecord> {
  return claimChipShape(catalog, dataset, [chip.bands, chip.height, chip.width], chip.dtype, source);
}
