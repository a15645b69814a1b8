/** Keeps a dataset's WGS84 bbox in step with the windows its datapoints hold. */
import type { Catalog } from '../domain/catalog/types.js';
import { boundsToWgs84, windowBounds, type Bounds } from '../domain/geo/index.js';
import type { ImageInfo } from '../domain/types.js';

/** Grows the dataset's bbox by a pixel extent [minX, minY, maxX, maxY] of an image (no-op for images without a CRS). */
export async function extendDatasetBbox(catalog: Catalog, datasetId: string, info: ImageInfo, extent: Bounds): Promise<void> {
  if (info.epsg === null) return;
  const window = { x: extent[0], y: extent[1], width: extent[2] - extent[0], height: extent[3] - extent[1] };
  await catalog.extendBbox(datasetId, boundsToWgs84(windowBounds(info.geoTransform, window), info.epsg));
}
