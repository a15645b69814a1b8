import * as geo from '../geo/geotransform.js';
import type { GeoTransform, ImageInfo, PixelWindow } from '../types.js';

/** The geotransform of a window of the image: the image's, with the origin at the window's upper-left corner. */
export function windowGeoTransform(info: Pick<ImageInfo, 'geoTransform'>, w: PixelWindow): GeoTransform {
  return geo.windowGeoTransform(info.geoTransform, w);
}

/** [minx, miny, maxx, maxy] of a window of the image, in the image CRS (envelope of the four corners). */
export function windowBounds(info: Pick<ImageInfo, 'geoTransform'>, w: PixelWindow): geo.Bounds {
  return geo.windowBounds(info.geoTransform, w);
}
