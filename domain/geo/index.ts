export { crsFromEpsg, epsgFromCrsName, type Crs } from './crs.js';
export { boundsOfFlatRings, boundsOfPoints, boundsOfWindows, unionBounds, windowBox } from './bounds.js';
export {
  geoToPixel,
  invertGeoTransform,
  pixelToGeo,
  windowBounds,
  windowGeoTransform,
  type Bounds,
} from './geotransform.js';
export { boundsToWgs84, pointTransform, transformBounds, transformPoint, type PointTransform } from './transform.js';
