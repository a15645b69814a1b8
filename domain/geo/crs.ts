/**
 * Coordinate reference systems by EPSG code, from epsg-index's proj4 strings.
 * The index is 8 MB of JSON, so it is loaded on first use (about 50 ms) and kept.
 */
import { createRequire } from 'node:module';
import { InvalidInputError } from '../errors.js';

export interface Crs {
  epsg: number;
  name: string;
  proj4: string;
  /** Longitude/latitude in degrees (x = longitude, y = latitude), not projected metres/feet. */
  geographic: boolean;
}

interface EpsgIndexEntry {
  code: string;
  kind: string;
  name: string;
  proj4?: string | null;
}

let epsgIndex: Record<string, EpsgIndexEntry> | undefined;

function loadEpsgIndex(): Record<string, EpsgIndexEntry> {
  // createRequire keeps the load lazy and synchronous, and keeps tsc from typing an 8 MB literal.
  epsgIndex ??= createRequire(import.meta.url)('epsg-index/all.json') as Record<string, EpsgIndexEntry>;
  return epsgIndex;
}

/** The CRS of an EPSG code; InvalidInputError when epsg-index has no proj4 definition for it. */
export function crsFromEpsg(code: number): Crs {
  if (!Number.isInteger(code) || code <= 0) {
    throw new InvalidInputError(`EPSG code ${String(code)} is not a positive integer`);
  }
  const entry = loadEpsgIndex()[String(code)];
  if (!entry) throw new InvalidInputError(`EPSG:${code} is not a known coordinate reference system`);
  if (!entry.proj4) {
    throw new InvalidInputError(`EPSG:${code} (${entry.name}) has no proj4 definition, so veda cannot transform it`);
  }
  return { epsg: code, name: entry.name, proj4: entry.proj4, geographic: /\+proj=longlat\b/.test(entry.proj4) };
}

/** OGC CRS84 is WGS84 with longitude first: what RFC 7946 GeoJSON means when it names no CRS. */
const CRS84 = /^(urn:ogc:def:crs:OGC:(1\.3)?:CRS84|https?:\/\/www\.opengis\.net\/def\/crs\/OGC\/1\.3\/CRS84)$/i;
const EPSG_NAME = [
  /^EPSG:(\d+)$/i,
  /^urn:ogc:def:crs:EPSG:[\d.]*:(\d+)$/i,
  /^https?:\/\/www\.opengis\.net\/def\/crs\/EPSG\/[\d.]+\/(\d+)$/i,
];

/**
 * The EPSG code named by a CRS string ('EPSG:31985', 'urn:ogc:def:crs:EPSG::31985', OGC CRS84 -> 4326, an
 * opengis.net URL), or null when the string names no EPSG code.
 */
export function epsgFromCrsName(name: string): number | null {
  const trimmed = name.trim();
  if (CRS84.test(trimmed)) return 4326;
  for (const pattern of EPSG_NAME) {
    const match = pattern.exec(trimmed);
    if (match) return Number(match[1]);
  }
  return null;
}
