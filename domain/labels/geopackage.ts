/**
 * GeoPackage label layers, read with sql.js (SQLite in WebAssembly: no native build). A geometry blob is a small
 * header (magic "GP", flags, SRS id, optional envelope) then standard WKB (GeoPackage 1.3, section 2.1.3), whose
 * polygons wkb.ts reads.
 */
import initSqlJs, { type Database, type SqlValue } from 'sql.js';
import { InvalidInputError } from '../errors.js';
import type { Bounds } from '../geo/geotransform.js';
import type { FeatureStream, GeoJsonCollection, GeoJsonFeature } from './geojson.js';
import { rtreeSearch } from './geopackage-rtree.js';
import { readWkbPolygons, WkbError } from './wkb.js';

let sqlite: ReturnType<typeof initSqlJs> | undefined;

/** One feature layer of an open GeoPackage. */
export interface GeoPackageLayer {
  /** The file and layer, for messages. */
  name: string;
  /** 'EPSG:<code>', or null for GeoPackage's undefined SRSs (read as WGS84, like GeoJSON). */
  crsName: string | null;
  /** Whether the layer has an R-tree spatial index (extension gpkg_rtree_index), so featuresIn can be used. */
  indexed: boolean;
  /** Every feature, in rowid (file) order. */
  readAll(): GeoJsonCollection;
  /** Every feature, in rowid order, read as the stream is iterated (once, before close). */
  stream(): FeatureStream;
  /** The rowids whose R-tree box meets `bounds` (layer CRS), ascending; only for an indexed layer. */
  candidates(bounds: Bounds): number[];
  /**
   * The features with these rowids (ascending), with their rowids; rowids the layer lacks are left out. With
   * `properties`, a feature holds only those of them the layer has (a table's other columns are not read).
   */
  featuresById(ids: number[], properties?: readonly string[]): Array<[rowid: number, feature: GeoJsonFeature]>;
  close(): void;
}

/** The features of one layer (the only one, or `layer`), as a GeoJSON collection in the layer's CRS. */
export async function readGeoPackage(bytes: Uint8Array, name: string, layer?: string): Promise<GeoJsonCollection> {
  const opened = await openGeoPackage(bytes, name, layer);
  try {
    return opened.readAll();
  } finally {
    opened.close();
  }
}

/** Opens one layer (the only one, or `layer`); close it when done. */
export async function openGeoPackage(bytes: Uint8Array, name: string, layer?: string): Promise<GeoPackageLayer> {
  sqlite ??= initSqlJs();
  const SQL = await sqlite;
  let db: Database;
  try {
    db = new SQL.Database(bytes);
    // The database is veda's private copy in sql.js's in-memory file system. In the default locking mode every
    // statement takes and drops a lock and re-checks the file header through JavaScript system calls: half the
    // cost of reading a window's features by rowid. Held once, the lock and the page cache stay.
    db.exec('PRAGMA locking_mode = EXCLUSIVE');
  } catch (err) {
    throw new InvalidInputError(`${name} is not a readable GeoPackage: ${(err as Error).message}`);
  }
  try {
    return layerOf(db, name, layer);
  } catch (err) {
    db.close();
    throw err;
  }
}

function layerOf(db: Database, name: string, layer: string | undefined): GeoPackageLayer {
  const layers = rows(db, name, "select table_name from gpkg_contents where data_type = 'features' order by table_name").map((r) => String(r[0]));
  const table = pickLayer(layers, layer, name);
  const [column] = rows(db, name, 'select column_name, srs_id from gpkg_geometry_columns where table_name = ?', [table]);
  if (!column) throw new InvalidInputError(`${name}: layer '${table}' has no geometry column`);
  const geometryColumn = String(column[0]);
  const crsName = crsNameOf(db, name, Number(column[1]));
  const layerName = `${name} (layer ${table})`;
  const rowsFrom = (sql: string, params: SqlValue[] = []) => rows(db, name, sql, params);
  const features = featureReader(geometryColumn, `${name}: layer '${table}'`);
  const rtree = rtreeTableOf(db, name, table, geometryColumn);
  // Row by row: a whole layer's rows held at once (every geometry blob copied out of SQLite) before any became a
  // feature doubled the reader's peak memory and its garbage collection.
  function* eachFeature(): Generator<GeoJsonFeature> {
    const statement = prepare(db, name, `select rowid, * from ${quoteIdentifier(table)} order by rowid`);
    try {
      const columns = statement.getColumnNames();
      for (let order = 0; statement.step(); order++) yield features(Object.assign(statement.get(), { columns }), order);
    } finally {
      statement.free();
    }
  }
  let orderOf: ((rowid: number) => number) | undefined;
  let tableColumns: string[] | undefined;
  let readNode: ((nodeno: number) => Uint8Array) | undefined;
  return {
    name: layerName,
    crsName,
    indexed: rtree !== null,
    readAll: () => ({ name: layerName, crsName, features: [...eachFeature()] }),
    stream: () => ({ name: layerName, crsName, features: eachFeature() }),
    candidates(bounds) {
      if (rtree === null) throw new Error(`${layerName} has no R-tree`);
      readNode ??= nodeReader(db, name, rtree, layerName);
      return rtreeSearch(readNode, bounds).sort((a, b) => a - b);
    },
    featuresById(ids, properties) {
      const order = (orderOf ??= rowidPositions(rowsFrom, table));
      // Only the columns asked for: sql.js turns every column of a row into a JavaScript value, and label tables
      // often carry dozens of attributes a label never uses.
      tableColumns ??= rowsFrom(`pragma table_info(${quoteIdentifier(table)})`).map((r) => String(r[1]));
      const columns = properties && [geometryColumn, ...properties.filter((p) => p !== geometryColumn && tableColumns!.includes(p))];
      const select = columns ? ['rowid', ...columns.map(quoteIdentifier)].join(', ') : 'rowid, *';
      return rowsById(db, name, table, select, ids).map((row) => {
        const rowid = Number(row[0]);
        return [rowid, features(row, order(rowid))];
      });
    },
    close: () => db.close(),
  };
}

/** Turns a `select rowid, ...` row into a feature at `order`: every column but the rowid and the geometry is a property. */
function featureReader(geometryColumn: string, where: string): (row: Row, order: number) => GeoJsonFeature {
  return (row, order) => {
    const properties: Record<string, unknown> = {};
    row.columns.forEach((key, i) => {
      if (i > 0 && key !== geometryColumn) properties[key] = row[i];
    });
    return { order, properties, polygons: polygonsOf(row[row.columns.indexOf(geometryColumn, 1)], `${where} row ${order}`) };
  };
}

/** The rows of `table` with these rowids (ascending), in that order, as `select` gives them; ids the table lacks are left out. */
function rowsById(db: Database, name: string, table: string, select: string, ids: number[]): Row[] {
  const statement = prepare(db, name, `select ${select} from ${quoteIdentifier(table)} where rowid = ?`);
  try {
    const out: Row[] = [];
    const columns = statement.getColumnNames();
    for (const id of ids) {
      statement.bind([id]);
      if (statement.step()) out.push(Object.assign(statement.get(), { columns }));
      statement.reset();
    }
    return out;
  } finally {
    statement.free();
  }
}

/**
 * A feature's order is its position in rowid order, as in readAll: rowid - first when the rowids run without gaps
 * (as ogr2ogr writes them), else a binary search of them all (a Map of every rowid would cost more memory).
 */
function rowidPositions(rowsFrom: (sql: string) => Row[], table: string): (rowid: number) => number {
  // Three queries: SQLite answers min and max alone from the b-tree's ends, but scans the table for them with count.
  const scalar = (what: string) => Number(rowsFrom(`select ${what} from ${quoteIdentifier(table)}`)[0]?.[0]);
  const [first, last, count] = [scalar('min(rowid)'), scalar('max(rowid)'), scalar('count(*)')];
  if (last - first + 1 === count) return (rowid) => rowid - first;
  const sorted = Float64Array.from(rowsFrom(`select rowid from ${quoteIdentifier(table)} order by rowid`), (r) => Number(r[0]));
  return (rowid) => {
    let [lo, hi] = [0, sorted.length];
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]! < rowid) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/**
 * The R-tree table of the layer's geometry column when the layer has one (a gpkg_rtree_index row in
 * gpkg_extensions and the table itself); null otherwise.
 */
function rtreeTableOf(db: Database, name: string, table: string, column: string): string | null {
  const rtree = `rtree_${table}_${column}`;
  const hasTable = (t: string) => rows(db, name, "select 1 from sqlite_master where type = 'table' and name = ?", [t]).length > 0;
  if (!hasTable('gpkg_extensions') || !hasTable(rtree) || !hasTable(`${rtree}_node`)) return null;
  const registered = rows(
    db,
    name,
    "select 1 from gpkg_extensions where extension_name = 'gpkg_rtree_index' and lower(table_name) = lower(?) and lower(column_name) = lower(?)",
    [table, column],
  );
  return registered.length > 0 ? rtree : null;
}

/**
 * Reads nodes of the R-tree's node table. sql.js is built without SQLite's rtree module, so the virtual table
 * cannot be queried; its shadow table `<rtree>_node` is an ordinary table whose blobs rtreeSearch decodes.
 */
function nodeReader(db: Database, name: string, rtree: string, layerName: string): (nodeno: number) => Uint8Array {
  // Nodes are kept once read: the whole index is some 24 bytes per feature, and every window walks from the root.
  const nodes = new Map<number, Uint8Array>();
  return (nodeno) => {
    const known = nodes.get(nodeno);
    if (known) return known;
    const [node] = rows(db, name, `select data from ${quoteIdentifier(`${rtree}_node`)} where nodeno = ?`, [nodeno]);
    const data = node?.[0];
    if (!(data instanceof Uint8Array)) throw new InvalidInputError(`${layerName}: R-tree ${rtree} has no node ${nodeno} (a damaged spatial index)`);
    nodes.set(nodeno, data);
    return data;
  };
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
  const organization = String(srs[0]).toUpperCase();
  if (organization !== 'EPSG') {
    throw new InvalidInputError(`${name}: SRS ${srsId} is ${organization}:${String(srs[1])}; veda needs an EPSG code`);
  }
  return `EPSG:${Number(srs[1])}`;
}

/** The polygons of a GeoPackage blob ('empty' for NULL or an empty geometry, 'unsupported' for other types). */
function polygonsOf(blob: SqlValue | undefined, where: string): GeoJsonFeature['polygons'] {
  if (blob === null || blob === undefined) return 'empty';
  if (!(blob instanceof Uint8Array) || blob.length < 8 || blob[0] !== 0x47 || blob[1] !== 0x50) {
    throw new InvalidInputError(`${where}: the geometry is not a GeoPackage geometry blob`);
  }
  const flags = blob[3]!;
  if (flags & 0x10) return 'empty'; // the empty-geometry flag
  const envelope = (flags >> 1) & 0x07;
  const envelopeBytes = [0, 32, 48, 48, 64][envelope];
  if (envelopeBytes === undefined) throw new InvalidInputError(`${where}: the geometry header has an invalid envelope code ${envelope}`);
  try {
    return readWkbPolygons(blob.subarray(8 + envelopeBytes));
  } catch (err) {
    if (err instanceof WkbError) throw new InvalidInputError(`${where}: the geometry's WKB cannot be read: ${err.message}`);
    throw err;
  }
}

/** A result row: its values by position, with the column names. */
type Row = SqlValue[] & { columns: string[] };

function rows(db: Database, name: string, sql: string, params: SqlValue[] = []): Row[] {
  const statement = prepare(db, name, sql, params);
  try {
    const out: Row[] = [];
    const columns = statement.getColumnNames();
    while (statement.step()) out.push(Object.assign(statement.get(), { columns }));
    return out;
  } finally {
    statement.free();
  }
}

function prepare(db: Database, name: string, sql: string, params: SqlValue[] = []): ReturnType<Database['prepare']> {
  try {
    return db.prepare(sql, params);
  } catch (err) {
    throw new InvalidInputError(`${name} is not a GeoPackage (${(err as Error).message})`);
  }
}

function quoteIdentifier(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}
