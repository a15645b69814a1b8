/** Keeps a dataset's WGS84 bbox in step with the windows its datapoints hold. */
import type { Catalog } from '../domain/catalog/types.js';
import { boundsToWgs84, windowBounds } from '../domain/geo/index.js';
import type { ImageInfo, PixelWindow } from '../domain/types.js';

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
