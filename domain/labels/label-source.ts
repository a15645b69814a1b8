/**
 * A label source: the label polygons of a GeoJSON, GeoPackage or FlatGeobuf file in the image's CRS, with class indexes and a spatial index
 * so a window finds its features fast.
 */
import { InvalidInputError } from '../errors.js';
import { crsFromEpsg, epsgFromCrsName } from '../geo/crs.js';
import { boundsOfFlatRings } from '../geo/bounds.js';
import { ringRunBoxes } from './ring-runs.js';
import { geoToPixel, invertGeoTransform, type Bounds } from '../geo/geotransform.js';
import { pointTransform, type PointTransform } from '../geo/transform.js';
import { MAX_CLASSES, type GeoTransform } from '../types.js';
import type { FeatureStream, GeoJsonFeature, PolygonRings } from './geojson.js';
import { withLabelFile } from './label-file.js';
import { createBoxIndex } from './spatial-index.js';


/**
 * One label feature. Rings are flat closed [x0, y0, x1, y1, ...] in the image CRS, each turned clockwise (y up),
 * as GDAL turns them before burning, so its edge rules apply the same way.
 */
export interface LabelFeature {
  /** Position in the source file's feature array: features burn in this order, the later one winning. */
  order: number;
  classIndex: number;
  polygons: Float64Array[][];
  bbox: Bounds;
  /** The boxes of runs of each ring's edges, which let a window skip the runs far from it (ring-runs.ts). */
  runBoxes: Float64Array;
}

export interface SkippedFeatures {
  /** A class value not in `classes`. */
  unknownClass: number;
  /** No class property, or null / empty. */
  missingClass: number;
  /** Geometry other than Polygon / MultiPolygon. */
  unsupportedGeometry: number;
  /** Null or empty geometry. */
  emptyGeometry: number;
}

export interface LabelSource {
  /** Where the labels came from (the path or 'GeoJSON object'). */
  name: string;
  classes: readonly string[];
  classProperty: string;
  /** EPSG code of the file's coordinates (4326 when it names no CRS). */
  sourceEpsg: number;
  /** EPSG code the features are in now: the image's, or the file's when the image has none. */
  epsg: number;
  /** Usable features in file order. */
  features: readonly LabelFeature[];
  /** Usable features per class, in class order. */
  classCounts: number[];
  skipped: SkippedFeatures;
  /** Distinct class values that are not in `classes` (at most 20), to show the user. */
  unknownClassValues: string[];
  /** Features whose bounding box intersects `bounds` (image CRS), in file order. */
  query(bounds: Bounds): LabelFeature[];
}

/** The property that names a feature's class unless told otherwise. */
export const DEFAULT_CLASS_PROPERTY = 'class';

export interface LabelSourceOptions {
  /** Property holding the class name (default 'class'). */
  classProperty?: string;
  classes: readonly string[];
  /** The image's EPSG code: labels in another CRS are reprojected to it. Null: the labels are used as they are. */
  imageEpsg: number | null;
  /** The GeoPackage layer (table) to read; needed when the file has several. */
  layer?: string;
}

/**
 * Loads a label file (GeoJSON, GeoPackage or FlatGeobuf; a path, a URL or a parsed GeoJSON object): reads its CRS (legacy `crs` member such as
 * 'urn:ogc:def:crs:EPSG::31985' or 'EPSG:31985'; none means WGS84 lon/lat), reprojects to the image CRS,
 * maps class names to indexes in `classes` order, and counts the features it skips.
 * Throws NotFoundError for a missing file, InvalidInputError for invalid GeoJSON, an unusable CRS or no feature
 * of any class.
 */
export async function loadLabelSource(source: string | object, options: LabelSourceOptions): Promise<LabelSource> {
  checkClasses(options.classes);
  return withLabelFile(source, options.layer, (collection) => labelSourceOf(collection, options));
}

/**
 * Features converted between two turns of the event loop (about 0.1 s of work): a whole file of a million polygons
 * read on a worker's main thread must not hold back its heartbeats and Temporal's polls for half a minute.
 */
const FEATURES_PER_TURN = 4096;

/** The label source of a collection already read, or read as it is iterated (see loadLabelSource). */
export async function labelSourceOf(collection: FeatureStream, options: LabelSourceOptions): Promise<LabelSource> {
  const { classes } = options;
  const classProperty = options.classProperty ?? DEFAULT_CLASS_PROPERTY;
  checkClasses(classes);
  const { name } = collection;
  const converter = labelFeatureConverter(name, collection.crsName, options);
  const { sourceEpsg, epsg } = converter;

  const skipped: SkippedFeatures = { unknownClass: 0, missingClass: 0, unsupportedGeometry: 0, emptyGeometry: 0 };
  const unknownClassValues = new Set<string>();
  const classCounts = classes.map(() => 0);
  const features: LabelFeature[] = [];
  let read = 0;
  for (const feature of collection.features) {
    if (++read % FEATURES_PER_TURN === 0) await new Promise(setImmediate);
    const converted = converter.convert(feature);
    if (typeof converted === 'string') {
      skipped[converted]++;
      const value = feature.properties[classProperty];
      if (converted === 'unknownClass' && unknownClassValues.size < 20) unknownClassValues.add(String(value));
      continue;
    }
    features.push(converted);
    classCounts[converted.classIndex]!++;
  }

  if (features.length === 0) {
    const found = unknownClassValues.size > 0 ? ` (found: ${[...unknownClassValues].join(', ')})` : '';
    throw new InvalidInputError(
      `${name} has no polygon feature whose '${classProperty}' is one of ${classes.join(', ')}${found}`,
    );
  }
  const index = createBoxIndex(features.map((f) => f.bbox));
  return {
    name,
    classes: [...classes],
    classProperty,
    sourceEpsg,
    epsg,
    features,
    classCounts,
    skipped,
    unknownClassValues: [...unknownClassValues],
    query: (bounds) => index.search(bounds).map((i) => features[i]!),
  };
}

/** Turns a file's features into label features: class index, polygons in the image CRS, or why it is skipped. */
export interface LabelFeatureConverter {
  sourceEpsg: number;
  epsg: number;
  convert(feature: GeoJsonFeature): LabelFeature | keyof SkippedFeatures;
}

/** The converter for a file named `name` whose CRS is `crsName` (null: WGS84 lon/lat, as RFC 7946 says). */
export function labelFeatureConverter(name: string, crsName: string | null, options: LabelSourceOptions): LabelFeatureConverter {
  const classProperty = options.classProperty ?? DEFAULT_CLASS_PROPERTY;
  const sourceEpsg = crsName === null ? 4326 : epsgFromCrsName(crsName);
  if (sourceEpsg === null) {
    throw new InvalidInputError(`${name} declares CRS '${crsName}', which names no EPSG code veda can use`);
  }
  const sourceIsGeographic = crsFromEpsg(sourceEpsg).geographic;
  const epsg = options.imageEpsg ?? sourceEpsg;
  // Null when the labels are in the image's CRS already: their rings are kept as read.
  const transform = epsg === sourceEpsg ? null : pointTransform(sourceEpsg, epsg);
  const classIndex = new Map(options.classes.map((c, i) => [c, i]));
  return {
    sourceEpsg,
    epsg,
    convert(feature) {
      const value = feature.properties[classProperty];
      if (value === undefined || value === null || value === '') return 'missingClass';
      const index = classIndex.get(String(value));
      if (index === undefined) return 'unknownClass';
      if (feature.polygons === 'unsupported') return 'unsupportedGeometry';
      if (feature.polygons === 'empty') return 'emptyGeometry';
      if (sourceIsGeographic && !withinLonLat(feature.polygons)) {
        // The usual cause: projected coordinates in a file without a crs member, which RFC 7946 reads as WGS84.
        throw new InvalidInputError(
          `${name}: feature ${feature.order} has coordinates outside longitude/latitude range for EPSG:${sourceEpsg}; ` +
            'if the file is in a projected CRS, name it in a crs member (e.g. "EPSG:31985")',
        );
      }
      const polygons = feature.polygons.map((polygon) =>
        projectPolygon(polygon, transform, () => `${name}: feature ${feature.order} cannot be transformed from EPSG:${sourceEpsg} to EPSG:${epsg}`),
      );
      const runBoxes = ringRunBoxes(polygons);
      // The run boxes' corners hold every vertex's extremes: the feature's box from them, not another pass.
      return { order: feature.order, classIndex: index, polygons, bbox: boundsOfFlatRings([runBoxes]), runBoxes };
    },
  };
}

/** Pixel coordinates (in the image) of each feature's bounding-box centre: anchors for a `features` window plan. */
export function featureAnchors(source: LabelSource, geoTransform: GeoTransform): Array<{ x: number; y: number }> {
  const inverse = invertGeoTransform(geoTransform);
  return source.features.map(({ bbox }) => {
    const [x, y] = geoToPixel(geoTransform, (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2, inverse);
    return { x, y };
  });
}

export function checkClasses(classes: readonly string[]): void {
  if (!Array.isArray(classes) || classes.length === 0) throw new InvalidInputError('a label source needs at least one class');
  if (classes.length > MAX_CLASSES) throw new InvalidInputError(`${classes.length} classes is more than the ${MAX_CLASSES} a mask can hold`);
  const seen = new Set<string>();
  for (const c of classes) {
    if (typeof c !== 'string' || c === '') throw new InvalidInputError(`class name ${JSON.stringify(c)} is empty`);
    if (seen.has(c)) throw new InvalidInputError(`class '${c}' is listed twice`);
    seen.add(c);
  }
}

function withinLonLat(polygons: PolygonRings[]): boolean {
  return polygons.every((polygon) =>
    polygon.every((ring) => {
      for (let i = 0; i < ring.length; i += 2) if (!(Math.abs(ring[i]!) <= 360 && Math.abs(ring[i + 1]!) <= 90)) return false;
      return true;
    }),
  );
}

/** The polygon's rings in the target CRS (the same arrays when `transform` is null), each turned clockwise. */
function projectPolygon(polygon: PolygonRings, transform: PointTransform | null, failure: () => string): Float64Array[] {
  return polygon.map((ring) => {
    let flat = ring;
    if (transform) {
      flat = new Float64Array(ring.length);
      for (let i = 0; i < ring.length; i += 2) {
        const [tx, ty] = transform(ring[i]!, ring[i + 1]!);
        if (!Number.isFinite(tx) || !Number.isFinite(ty)) throw new InvalidInputError(failure());
        flat[i] = tx;
        flat[i + 1] = ty;
      }
    }
    return signedArea(flat) > 0 ? reverseRing(flat) : flat;
  });
}

/** Shoelace area: positive for a counter-clockwise ring when y points up. */
function signedArea(ring: Float64Array): number {
  let sum = 0;
  for (let i = 0; i + 3 < ring.length; i += 2) sum += ring[i]! * ring[i + 3]! - ring[i + 2]! * ring[i + 1]!;
  return sum / 2;
}

function reverseRing(ring: Float64Array): Float64Array {
  const out = new Float64Array(ring.length);
  const n = ring.length / 2;
  for (let i = 0; i < n; i++) {
    out[2 * i] = ring[2 * (n - 1 - i)]!;
    out[2 * i + 1] = ring[2 * (n - 1 - i) + 1]!;
  }
  return out;
}
