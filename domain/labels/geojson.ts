/**
 * Validating a GeoJSON FeatureCollection of label polygons. Polygon and MultiPolygon geometries are
 * labels; other geometry types (Point, LineString, GeometryCollection, ...) and null geometries are skipped and
 * counted by the caller. Coordinates are always (x, y) = (easting, northing) or (longitude, latitude).
 */
import { InvalidInputError } from '../errors.js';

/**
 * A polygon's rings, the exterior first, each flat and closed: [x0, y0, x1, y1, ..., x0, y0]. Flat from the start:
 * an array per position would be garbage the moment the feature is converted.
 */
export type PolygonRings = Float64Array[];

export interface GeoJsonFeature {
  /** Position in the file's feature array. */
  order: number;
  properties: Record<string, unknown>;
  /** Polygons of a Polygon / MultiPolygon; 'unsupported' for other types, 'empty' for null or empty geometry. */
  polygons: PolygonRings[] | 'unsupported' | 'empty';
}

export interface GeoJsonCollection extends FeatureStream {
  features: GeoJsonFeature[];
}

/** A collection whose features are read as they are iterated (once), as a GeoPackage layer's rows are. */
export interface FeatureStream {
  /** Where it came from, for messages: the path, or 'GeoJSON object'. */
  name: string;
  /** The legacy `crs` member's name (or 'EPSG:<code>'), null when absent (RFC 7946: WGS84 lon/lat). */
  crsName: string | null;
  features: Iterable<GeoJsonFeature>;
}

/** Parses GeoJSON text read from `name` (for messages); throws InvalidInputError naming the problem. */
export function parseGeoJsonText(text: string, name: string): GeoJsonCollection {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new InvalidInputError(`${name} is not valid JSON: ${(err as Error).message}`);
  }
  return parseGeoJson(parsed, name);
}

/** Checks a parsed FeatureCollection and keeps what labels need: properties and polygons per feature, the CRS. */
export function parseGeoJson(value: unknown, name: string): GeoJsonCollection {
  if (!isObject(value) || value['type'] !== 'FeatureCollection' || !Array.isArray(value['features'])) {
    throw new InvalidInputError(`${name} is not a GeoJSON FeatureCollection (needs type "FeatureCollection" and a features array)`);
  }
  const features = (value['features'] as unknown[]).map((feature, order) => parseFeature(feature, order, name));
  return { name, crsName: parseCrsMember(value['crs'], name), features };
}

function parseCrsMember(crs: unknown, name: string): string | null {
  if (crs === undefined || crs === null) return null;
  const properties = isObject(crs) && isObject(crs['properties']) ? crs['properties'] : undefined;
  if (isObject(crs) && crs['type'] === 'name' && typeof properties?.['name'] === 'string') return properties['name'];
  if (isObject(crs) && crs['type'] === 'EPSG' && properties && Number.isInteger(properties['code'])) {
    return `EPSG:${String(properties['code'])}`;
  }
  throw new InvalidInputError(`${name} has a crs member veda cannot read: ${JSON.stringify(crs)} (expected {"type": "name", "properties": {"name": "EPSG:<code>"}})`);
}

/** One GeoJSON Feature, at `order` in its file; InvalidInputError for a malformed one. */
export function parseFeature(feature: unknown, order: number, name: string): GeoJsonFeature {
  if (!isObject(feature) || feature['type'] !== 'Feature') {
    throw new InvalidInputError(`${name}: feature ${order} is not a GeoJSON Feature`);
  }
  const properties = isObject(feature['properties']) ? feature['properties'] : {};
  const geometry = feature['geometry'];
  if (geometry === null || geometry === undefined) return { order, properties, polygons: 'empty' };
  if (!isObject(geometry) || typeof geometry['type'] !== 'string') {
    throw new InvalidInputError(`${name}: feature ${order} has a geometry without a type`);
  }
  const where = `${name}: feature ${order} (${geometry['type']})`;
  const coordinates = geometry['coordinates'];
  if (geometry['type'] === 'Polygon') {
    const polygon = parsePolygon(coordinates, where);
    return { order, properties, polygons: polygon.length === 0 ? 'empty' : [polygon] };
  }
  if (geometry['type'] === 'MultiPolygon') {
    if (!Array.isArray(coordinates)) throw new InvalidInputError(`${where} has no coordinates array`);
    const polygons = coordinates.map((polygon) => parsePolygon(polygon, where)).filter((p) => p.length > 0);
    return { order, properties, polygons: polygons.length === 0 ? 'empty' : polygons };
  }
  return { order, properties, polygons: 'unsupported' };
}

function parsePolygon(rings: unknown, where: string): PolygonRings {
  if (!Array.isArray(rings)) throw new InvalidInputError(`${where} has no coordinates array`);
  return rings.map((ring: unknown, r) => {
    if (!Array.isArray(ring) || ring.length < 4) {
      throw new InvalidInputError(`${where}: ring ${r} needs at least 4 positions`);
    }
    const flat = new Float64Array(2 * ring.length + 2);
    ring.forEach((position: unknown, i) => {
      if (!Array.isArray(position) || !Number.isFinite(position[0]) || !Number.isFinite(position[1])) {
        throw new InvalidInputError(`${where}: ring ${r} has a position that is not [x, y] numbers: ${JSON.stringify(position)}`);
      }
      flat[2 * i] = position[0] as number;
      flat[2 * i + 1] = position[1] as number;
    });
    return closedRing(flat, ring.length);
  });
}

/**
 * The ring of the first `points` positions of `flat`, closed: when its last position is not its first, the first is
 * written again after it (`flat` has room for one more position).
 */
export function closedRing(flat: Float64Array, points: number): Float64Array {
  const end = 2 * points;
  if (flat[0] === flat[end - 2] && flat[1] === flat[end - 1]) return flat.subarray(0, end);
  flat[end] = flat[0]!;
  flat[end + 1] = flat[1]!;
  return flat.subarray(0, end + 2);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
