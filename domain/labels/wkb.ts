/**
 * Polygons straight out of WKB (OGC Simple Features / ISO 13249, as a GeoPackage geometry blob holds it) into flat
 * rings. A general WKB library builds an object per vertex and then GeoJSON arrays, which cost more than the whole
 * rest of reading a label feature; labels need only the x, y of polygon rings.
 */
import { closedRing, type PolygonRings } from './geojson.js';

const POLYGON = 3;
const MULTI_POLYGON = 6;
// EWKB (PostGIS) flags in the type's high bits; ISO WKB adds 1000 (Z), 2000 (M) or 3000 (ZM) to the type instead.
const EWKB_Z = 0x80000000;
const EWKB_M = 0x40000000;
const EWKB_SRID = 0x20000000;

/** A WKB geometry that cannot be read; the caller names the feature. */
export class WkbError extends Error {}

/**
 * The polygons of a Polygon or MultiPolygon (Z, M and ZM read as 2D), 'empty' for one without rings, 'unsupported'
 * for any other type. Throws WkbError for a truncated or malformed geometry.
 */
export function readWkbPolygons(bytes: Uint8Array): PolygonRings[] | 'unsupported' | 'empty' {
  const reader = new WkbReader(bytes);
  const header = reader.header();
  let polygons: PolygonRings[];
  if (header.type === POLYGON) {
    polygons = [reader.polygonBody(header)];
  } else if (header.type === MULTI_POLYGON) {
    const count = reader.count(header.littleEndian, 9);
    polygons = [];
    for (let i = 0; i < count; i++) {
      const part = reader.header();
      if (part.type !== POLYGON) throw new WkbError(`part ${i} of a MultiPolygon is WKB type ${part.type}, not a Polygon`);
      polygons.push(reader.polygonBody(part));
    }
  } else {
    return 'unsupported';
  }
  polygons = polygons.filter((rings) => rings.length > 0);
  return polygons.length === 0 ? 'empty' : polygons;
}

interface Header {
  littleEndian: boolean;
  type: number;
  /** Numbers per vertex: 2, 3 (Z or M) or 4. */
  dimensions: number;
}

class WkbReader {
  private readonly view: DataView;
  private offset = 0;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  header(): Header {
    this.need(5);
    const order = this.bytes[this.offset]!;
    if (order > 1) throw new WkbError(`byte ${this.offset} should be a byte order (0 or 1), not ${order}`);
    const littleEndian = order === 1;
    const code = this.view.getUint32(this.offset + 1, littleEndian);
    this.offset += 5;
    if (code & EWKB_SRID) {
      this.need(4);
      this.offset += 4;
    }
    const iso = code & 0x0fffffff;
    const isoDimensions = Math.floor(iso / 1000); // 1 Z, 2 M, 3 ZM
    const hasZ = (code & EWKB_Z) !== 0 || isoDimensions === 1 || isoDimensions === 3;
    const hasM = (code & EWKB_M) !== 0 || isoDimensions === 2 || isoDimensions === 3;
    return { littleEndian, type: iso % 1000, dimensions: 2 + Number(hasZ) + Number(hasM) };
  }

  /** A Polygon after its header: closed flat rings, the exterior first. */
  polygonBody({ littleEndian, dimensions }: Header): PolygonRings {
    const rings: PolygonRings = [];
    const ringCount = this.count(littleEndian, 4);
    for (let r = 0; r < ringCount; r++) {
      const points = this.count(littleEndian, 8 * dimensions);
      if (points < 4) throw new WkbError(`ring ${r} needs at least 4 positions, has ${points}`);
      const flat = new Float64Array(2 * points + 2);
      for (let i = 0; i < points; i++) {
        const x = this.view.getFloat64(this.offset, littleEndian);
        const y = this.view.getFloat64(this.offset + 8, littleEndian);
        if (!Number.isFinite(x) || !Number.isFinite(y)) throw new WkbError(`ring ${r} has a position that is not finite: (${x}, ${y})`);
        flat[2 * i] = x;
        flat[2 * i + 1] = y;
        this.offset += 8 * dimensions;
      }
      rings.push(closedRing(flat, points));
    }
    return rings;
  }

  /** A count of items that take at least `itemBytes` each, checked against what is left (a damaged count must not allocate). */
  count(littleEndian: boolean, itemBytes: number): number {
    this.need(4);
    const count = this.view.getUint32(this.offset, littleEndian);
    this.offset += 4;
    this.need(count * itemBytes);
    return count;
  }

  private need(bytes: number): void {
    if (this.offset + bytes > this.bytes.length) {
      throw new WkbError(`it ends at byte ${this.bytes.length}, ${this.offset + bytes - this.bytes.length} bytes short (truncated?)`);
    }
  }
}
