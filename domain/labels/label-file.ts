/**
 * Label files in the formats users have: GeoJSON, GeoPackage (QGIS's default) and FlatGeobuf, local or remote.
 * The format is told by the file's first bytes, not its name; every format becomes the same collection of
 * properties + polygons, so classes, CRS and geometry rules are applied once (label-source.ts).
 */
import { InvalidInputError } from '../errors.js';
import { readWholeInput } from '../inputs/input-location.js';
import { readFlatGeobuf } from './flatgeobuf.js';
import { openGeoPackage } from './geopackage.js';
import { parseGeoJson, parseGeoJsonText, type FeatureStream, type GeoJsonCollection } from './geojson.js';

export type LabelFormat = 'geojson' | 'geopackage' | 'flatgeobuf';

const SQLITE_MAGIC = 'SQLite format 3\0';
const FLATGEOBUF_MAGIC = [0x66, 0x67, 0x62, 0x03]; // "fgb" + major version 3

export function labelFormatOf(bytes: Uint8Array): LabelFormat {
  if (Buffer.from(bytes.subarray(0, SQLITE_MAGIC.length)).toString('latin1') === SQLITE_MAGIC) return 'geopackage';
  if (FLATGEOBUF_MAGIC.every((b, i) => bytes[i] === b)) return 'flatgeobuf';
  return 'geojson';
}

/** Reads a label file (path or URL) or takes a parsed GeoJSON object; `layer` picks a GeoPackage table. */
export async function readLabelFile(source: string | object, layer?: string): Promise<GeoJsonCollection> {
  return withLabelFile(source, layer, ({ name, crsName, features }) => ({ name, crsName, features: [...features] }));
}

/**
 * Hands `use` the label file's features, as readLabelFile reads them: a GeoPackage layer's row by row while `use`
 * iterates them (once; the layer is closed when `use` returns), the other formats parsed whole first.
 */
export async function withLabelFile<T>(
  source: string | object,
  layer: string | undefined,
  use: (features: FeatureStream) => T | Promise<T>,
): Promise<T> {
  if (typeof source !== 'string') {
    if (layer !== undefined) throw new InvalidInputError('a layer applies to GeoPackage labels, not a GeoJSON object');
    return use(parseGeoJson(source, 'GeoJSON object'));
  }
  const name = `label file ${source}`;
  const bytes = await readWholeInput(source, 'label file');
  const format = labelFormatOf(bytes);
  if (format === 'geopackage') {
    const opened = await openGeoPackage(bytes, name, layer);
    try {
      // Awaited here: the layer must stay open until `use` has read the last row.
      return await use(opened.stream());
    } finally {
      opened.close();
    }
  }
  if (layer !== undefined) throw new InvalidInputError(`${name}: --layer applies to GeoPackage labels, and this is ${format}`);
  if (format === 'flatgeobuf') return use(await readFlatGeobuf(bytes, name));
  return use(parseGeoJsonText(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'), name));
}
