/** FlatGeobuf label files, read with the `flatgeobuf` package; the CRS comes from the file's header. */
import { geojson } from 'flatgeobuf';
import type { HeaderMeta } from 'flatgeobuf';
import { InvalidInputError } from '../errors.js';
import { parseGeoJson, type GeoJsonCollection } from './geojson.js';

/** Every feature of the file, as a GeoJSON collection in the file's CRS. */
export async function readFlatGeobuf(bytes: Uint8Array, name: string): Promise<GeoJsonCollection> {
  let header: HeaderMeta | undefined;
  const features: object[] = [];
  try {
    for await (const feature of geojson.deserialize(bytes, { headerMetaFn: (h: HeaderMeta) => (header = h) })) features.push(feature);
  } catch (err) {
    throw new InvalidInputError(`${name} is not a readable FlatGeobuf file: ${(err as Error).message}`);
  }
  const collection: Record<string, unknown> = { type: 'FeatureCollection', features };
  const crsName = crsNameOf(header, name);
  if (crsName) collection['crs'] = { type: 'name', properties: { name: crsName } };
  return parseGeoJson(collection, name);
}

/** 'EPSG:<code>' from the header; null when the file names no CRS (read as WGS84, like GeoJSON). */
export function crsNameOf(header: HeaderMeta | undefined, name: string): string | null {
  const crs = header?.crs;
  if (!crs || (crs.code === 0 && !crs.org)) return null;
  const org = (crs.org ?? 'EPSG').toUpperCase();
  if (org !== 'EPSG' || !crs.code) throw new InvalidInputError(`${name}: its CRS (${crs.org ?? '?'}:${crs.code}) names no EPSG code veda can use`);
  return `EPSG:${crs.code}`;
}
