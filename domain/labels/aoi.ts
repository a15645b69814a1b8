/**
 * A region of interest: polygons (any CRS, reprojected to the image's like labels) that windows must lie inside.
 * A split layout keeps only the cells the region covers whole (pixel-centre rule, as masks are burned), so every
 * window of every plan lies inside it; smaller cells follow a ragged boundary more closely.
 */
import { InvalidInputError } from '../errors.js';
import { readWholeInput } from '../inputs/input-location.js';
import type { GeoTransform, PixelWindow } from '../types.js';
import { segmentationMask } from './encode-segmentation.js';
import { loadLabelSource, type LabelSource } from './label-source.js';
import { windowLabelContext } from './window-features.js';

const AOI_PROPERTY = '__veda_aoi';

/** Loads the region's polygons (a GeoJSON file or URL of polygons; properties are ignored). */
export async function loadAoi(uri: string, imageEpsg: number | null): Promise<LabelSource> {
  // Where the file lives (path, file:, http(s), s3) and what a missing one says: as for labels and STAC items.
  const text = Buffer.from(await readWholeInput(uri, 'region of interest')).toString('utf8');
  let json: { type?: string; features?: Array<{ properties?: Record<string, unknown> | null }> };
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    throw new InvalidInputError(`region of interest ${uri} is not GeoJSON`);
  }
  if (json.type !== 'FeatureCollection' || !Array.isArray(json.features)) {
    throw new InvalidInputError(`region of interest ${uri} must be a GeoJSON FeatureCollection of polygons`);
  }
  for (const f of json.features) f.properties = { ...(f.properties ?? {}), [AOI_PROPERTY]: 'aoi' };
  try {
    return await loadLabelSource(json, { classProperty: AOI_PROPERTY, classes: ['aoi'], imageEpsg });
  } catch (err) {
    if (err instanceof InvalidInputError) throw new InvalidInputError(`region of interest ${uri}: ${err.message}`);
    throw err;
  }
}

/** Cell indexes (row-major) of a grid of `cell`-pixel cells that the region does not cover whole. */
export function cellsOutsideAoi(
  aoi: LabelSource,
  geoTransform: GeoTransform,
  image: { width: number; height: number },
  grid: { cell: number; columns: number; rows: number },
): Set<number> {
  const outside = new Set<number>();
  for (let row = 0; row < grid.rows; row++) {
    for (let col = 0; col < grid.columns; col++) {
      const x = col * grid.cell;
      const y = row * grid.cell;
      const window: PixelWindow = { x, y, width: Math.min(grid.cell, image.width - x), height: Math.min(grid.cell, image.height - y) };
      const ctx = windowLabelContext(aoi, geoTransform, window);
      const mask = ctx.features.length === 0 ? null : segmentationMask(ctx);
      if (!mask || mask.includes(0)) outside.add(row * grid.columns + col);
    }
  }
  return outside;
}
