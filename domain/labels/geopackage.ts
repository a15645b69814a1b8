/**
 * GeoPackage label layers, read with sql.js (SQLite in WebAssembly: no native build) and wkx for the WKB inside
 * each geometry blob. A GeoPackage blob is a small header (magic "GP", flags, SRS id, optional envelope) then
 * standard WKB (GeoPackage 1.3, section 2.1.3).
 */
import initSqlJs, { type Database, type SqlValue } from 'sql.js';
import wkx from 'wkx';
import { InvalidInputError } from '../errors.js';
import { parseGeoJson, type GeoJsonCollection } from './geojson.js';

let sqlite: ReturnType<typeof initSqlJs> | undefined;

/** The features of one layer (the only one, or `layer`), as a GeoJSON collection in the layer's CRS. */
export async function readGeoPackage(bytes: Uint8Array, name: string, layer?: string): Promise<GeoJsonCollection> {
  sqlite ??= initSqlJs();
  const SQL = await sqlite;
  let db: Database;
  try {
    db = new SQL.Database(bytes);
  } catch (err) {
    throw new InvalidInputError(`${name} is not a readable GeoPackage: ${(err as Error).message}`);
  }
  try {
    const layers = rows(db, name, "select table_name from gpkg_contents where data_type = 'features' order by table_name").map(
      (r) => String(r['table_name']),
    );
    const table = pickLayer(layers, layer, name);
    const [column] = rows(db, name, 'select column_name, srs_id from gpkg_geometry_columns where table_name = ?', [table]);
    if (!column) throw new InvalidInputError(`${name}: layer '${table}' has no geometry column`);
    const geometryColumn = String(column['column_name']);
    const crsName = crsNameOf(db, name, Number(column['srs_id']));
    const features = rows(db, name, `select * from ${quoteIdentifier(table)} order by rowid`).map((row, i) => {
      const properties: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(row)) if (key !== geometryColumn) properties[key] = value;
      const geometry = geometryOf(row[geometryColumn], `${name}: layer '${table}' row ${i}`);
      return { type: 'Feature', properties, geometry };
    });
    const collection: Record<string, unknown> = { type: 'FeatureCollection', features };
    if (crsName) collection['crs'] = { type: 'name', properties: { name: crsName } };
    return parseGeoJson(collection, `${name} (layer ${table})`);
  } finally {
    db.close();
  }
}

function pickLayer(layers: string[], layer: string | undefined, name: string): string {
  if (layers.length === 0) throw new InvalidInputError(`${name} has no feature layer`);
  if (layer === undefined) {
    if (layers.length > 1) throw new InvalidInputError(`${name} has ${layers.length} layers (${layers.join(', ')}): pick one with --layer`);
    return layers[0]!;
  }
  if (!layers.includes(layer)) throw new InvalidInputError(`${name} has no layer '${layer}' (layers: ${layers.join(', ')})`);
  return layer;
}

/** 'EPSG:<code>' for the layer's SRS; null for GeoPackage's "undefined" SRSs (-1 cartesian, 0 geographic). */
function crsNameOf(db: Database, name: string, srsId: number): string | null {
  if (srsId === -1 || srsId === 0) return null;
  const [srs] = rows(db, name, 'select organization, organization_coordsys_id from gpkg_spatial_ref_sys where srs_id = ?', [srsId]);
  if (!srs) throw new InvalidInputError(`${name}: SRS ${srsId} is not in gpkg_spatial_ref_sys`);
  const organization = String(srs['organization']).toUpperCase();
  if (organization !== 'EPSG') {
    throw new InvalidInputError(`${name}: SRS ${srsId} is ${organization}:${String(srs['organization_coordsys_id'])}; veda needs an EPSG code`);
  }
  return `EPSG:${Number(srs['organization_coordsys_id'])}`;
}

/** The geometry of a GeoPackage blob as a GeoJSON geometry (null for NULL or an empty geometry). */
function geometryOf(blob: SqlValue | undefined, where: string): object | null {
  if (blob === null || blob === undefined) return null;
  if (!(blob instanceof Uint8Array) || blob.length < 8 || blob[0] !== 0x47 || blob[1] !== 0x50) {
    throw new InvalidInputError(`${where}: the geometry is not a GeoPackage geometry blob`);
  }
  const flags = blob[3]!;
  if (flags & 0x10) return null; // the empty-geometry flag
  const envelope = (flags >> 1) & 0x07;
  const envelopeBytes = [0, 32, 48, 48, 64][envelope];
  if (envelopeBytes === undefined) throw new InvalidInputError(`${where}: the geometry header has an invalid envelope code ${envelope}`);
  try {
    return wkx.Geometry.parse(Buffer.from(blob.buffer, blob.byteOffset + 8 + envelopeBytes, blob.length - 8 - envelopeBytes)).toGeoJSON();
  } catch (err) {
    throw new InvalidInputError(`${where}: the geometry's WKB cannot be read: ${(err as Error).message}`);
  }
}

function rows(db: Database, name: string, sql: string, params: SqlValue[] = []): Array<Record<string, SqlValue>> {
  let statement;
  try {
    statement = db.prepare(sql, params);
  } catch (err) {
    throw new InvalidInputError(`${name} is not a GeoPackage (${(err as Error).message})`);
  }
  try {
    const out: Array<Record<string, SqlValue>> = [];
    while (statement.step()) out.push(statement.getAsObject());
    return out;
  } finally {
    statement.free();
  }
}

function quoteIdentifier(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}
