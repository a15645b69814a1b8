/** Keeps a dataset's WGS84 bbox and chip shape in step with what its datapoints hold. */
import type { Catalog, DatasetRecord } from '../domain/catalog/types.js';
import { InvalidInputError } from '../domain/errors.js';
import { boundsToWgs84, windowBounds } from '../domain/geo/index.js';
import type { Dtype, ImageInfo, PixelWindow, Raster } from '../domain/types.js';

/** Pixel extent [minX, minY, maxX, maxY] of windows, grown one window at a time. */
export type PixelExtent = [number, number, number, number];

export function extendExtent(extent: PixelExtent | null, w: PixelWindow): PixelExtent {
  const box: PixelExtent = [w.x, w.y, w.x + w.width, w.y + w.height];
  if (!extent) return box;
  return [Math.min(extent[0], box[0]), Math.min(extent[1], box[1]), Math.max(extent[2], box[2]), Math.max(extent[3], box[3])];
}

/** Grows the dataset's bbox by a pixel extent of an image (no-op for images without a CRS). */
export async function extendDatasetBbox(catalog: Catalog, datasetId: string, info: ImageInfo, extent: PixelExtent): Promise<void> {
  if (info.epsg === null) return;
  const window = { x: extent[0], y: extent[1], width: extent[2] - extent[0], height: extent[3] - extent[1] };
  await catalog.extendBbox(datasetId, boundsToWgs84(windowBounds(info.geoTransform, window), info.epsg));
}

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
