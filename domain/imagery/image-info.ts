import type { GeoTIFFImage } from 'geotiff';
import { InvalidInputError } from '../errors.js';
import type { GeoTransform, ImageInfo } from '../types.js';
import type { BlockLayout } from './block-layout.js';

/** GeoKey ids (GeoTIFF 1.1, section 7). */
const GT_MODEL_TYPE = 1024;
const GT_RASTER_TYPE = 1025;
const GEOGRAPHIC_TYPE = 2048;
const PROJECTED_CS_TYPE = 3072;
const MODEL_TYPE_PROJECTED = 1;
const MODEL_TYPE_GEOGRAPHIC = 2;
const RASTER_PIXEL_IS_POINT = 2;
const USER_DEFINED = 32767;

/** GDAL's geotransform for an image without georeferencing: pixel coordinates, y down. */
const PIXEL_GEOTRANSFORM: GeoTransform = [0, 1, 0, 0, 0, 1];

/** What an image tells about itself without reading pixels: size, dtype, georeferencing, nodata. */
export async function readImageInfo(image: GeoTIFFImage, uri: string, layout: BlockLayout): Promise<ImageInfo> {
  const geoKeys = await readShortGeoKeys(image);
  return {
    uri,
    width: layout.width,
    height: layout.height,
    bands: layout.bands,
    dtype: layout.dtype,
    geoTransform: await readGeoTransform(image, uri, geoKeys),
    epsg: epsgOf(geoKeys),
    nodata: parseGdalNodata(await image.getFileDirectory().loadValue('GDAL_NODATA')),
  };
}

/** The GeoKeys stored inline in GeoKeyDirectory (all veda needs: model type, raster type and the CRS codes). */
async function readShortGeoKeys(image: GeoTIFFImage): Promise<Map<number, number>> {
  const keys = new Map<number, number>();
  const directory = await image.getFileDirectory().loadValue('GeoKeyDirectory');
  if (!directory) return keys;
  const entries = Array.from(directory as ArrayLike<number>, Number);
  const count = entries[3] ?? 0;
  for (let i = 0; i < count; i++) {
    const [id, location, , value] = entries.slice(4 + i * 4, 8 + i * 4);
    // location 0: the value is the short itself (the other locations hold doubles or ASCII veda does not use).
    if (id !== undefined && location === 0 && value !== undefined) keys.set(id, value);
  }
  return keys;
}

/** The EPSG code GDAL would report from the keys alone, or null for none / user-defined. */
function epsgOf(keys: Map<number, number>): number | null {
  const code = (key: number): number | null => {
    const value = keys.get(key);
    return value === undefined || value === USER_DEFINED || value <= 0 ? null : value;
  };
  // A user-defined projection names its base geographic CRS too: that is not the image CRS.
  if (keys.has(PROJECTED_CS_TYPE)) return code(PROJECTED_CS_TYPE);
  const modelType = keys.get(GT_MODEL_TYPE);
  if (modelType === MODEL_TYPE_PROJECTED) return null;
  if (modelType === undefined || modelType === MODEL_TYPE_GEOGRAPHIC) return code(GEOGRAPHIC_TYPE);
  return null;
}

/** GDAL order, from ModelTransformation or a single tiepoint + ModelPixelScale; PixelIsPoint shifted as GDAL does. */
async function readGeoTransform(image: GeoTIFFImage, uri: string, keys: Map<number, number>): Promise<GeoTransform> {
  const fd = image.getFileDirectory();
  const numbers = async (tag: 'ModelTransformation' | 'ModelTiepoint' | 'ModelPixelScale'): Promise<number[] | null> => {
    const value = (await fd.loadValue(tag)) as ArrayLike<number> | undefined;
    return value ? Array.from(value, Number) : null;
  };
  const transformation = await numbers('ModelTransformation');
  const tiepoints = await numbers('ModelTiepoint');
  const scale = await numbers('ModelPixelScale');

  let gt: GeoTransform;
  if (transformation && transformation.length >= 16) {
    const m = transformation;
    gt = [m[3]!, m[0]!, m[1]!, m[7]!, m[4]!, m[5]!];
  } else if (tiepoints && tiepoints.length >= 6 && scale && scale.length >= 2) {
    const [i, j, , x, y] = tiepoints as [number, number, number, number, number];
    const [sx, sy] = scale as [number, number];
    gt = [x - i * sx, sx, 0, y + j * sy, 0, -sy];
  } else if (tiepoints && tiepoints.length > 6) {
    throw new InvalidInputError(`${uri}: georeferenced by ground control points only; warp it to a geotransform first`);
  } else {
    return [...PIXEL_GEOTRANSFORM];
  }
  if (keys.get(GT_RASTER_TYPE) === RASTER_PIXEL_IS_POINT) {
    // The tiepoint names a pixel centre; GDAL reports the corner of the pixel.
    gt[0] -= (gt[1] + gt[2]) / 2;
    gt[3] -= (gt[4] + gt[5]) / 2;
  }
  return gt;
}

/** GDAL_NODATA is ASCII ("-9999", "nan", "inf"); null when absent or not a number. */
function parseGdalNodata(raw: unknown): number | null {
  if (typeof raw !== 'string') return null;
  const text = raw.replace(/\0/g, '').trim().toLowerCase();
  if (text === '') return null;
  if (text === 'nan') return Number.NaN;
  if (text === 'inf' || text === '+inf') return Number.POSITIVE_INFINITY;
  if (text === '-inf') return Number.NEGATIVE_INFINITY;
  const value = Number(text);
  return Number.isNaN(value) ? null : value;
}
