/**
 * STAC Items as images: a scene named by its item (a JSON document), read from the item's GeoTIFF assets as one
 * stacked image. An image reference names the item and optionally the assets in band order:
 * `item.json` or `item.json#assets=red,green,blue`. Asset hrefs may be relative to the item.
 */
import { InvalidInputError } from '../errors.js';
import { locationKind, readWholeInput, resolveHref } from '../inputs/input-location.js';
import type { SceneInfo } from '../types.js';

const ASSETS_FRAGMENT = '#assets=';

/** One stack member: an asset's file and which of its bands (null: all of them). */
export interface StacBandFile {
  asset: string;
  href: string;
  band: number | null;
}

export interface StacImage {
  files: StacBandFile[];
  scene: SceneInfo;
}

/** The image reference for `item` with `assets` picked in band order (all data assets when omitted). */
export function stacImageUri(item: string, assets?: string[]): string {
  if (!isStacItemUri(item)) throw new InvalidInputError(`${item}: assets can be picked from a STAC item (a .json file or URL) only`);
  if (!assets || assets.length === 0) return item;
  for (const a of assets) if (a === '' || a.includes(',')) throw new InvalidInputError(`asset name ${JSON.stringify(a)} is not usable`);
  return `${item}${ASSETS_FRAGMENT}${assets.join(',')}`;
}

/** True for a reference to a STAC item: a `.json` location, or one with an `#assets=` selection. */
export function isStacItemUri(uri: string): boolean {
  if (uri.includes(ASSETS_FRAGMENT)) return true;
  const withoutQuery = uri.replace(/[?#].*$/, '');
  return /\.json$/i.test(withoutQuery);
}

function splitReference(uri: string): { item: string; assets?: string[] } {
  const at = uri.indexOf(ASSETS_FRAGMENT);
  if (at < 0) return { item: uri };
  return { item: uri.slice(0, at), assets: uri.slice(at + ASSETS_FRAGMENT.length).split(',').filter((a) => a !== '') };
}

/** Reads the item and resolves the files and bands to stack; InvalidInputError for an item veda cannot use. */
export async function resolveStacImage(uri: string): Promise<StacImage> {
  const { item: location, assets: names } = splitReference(uri);
  const name = `STAC item ${location}`;
  locationKind(location, 'STAC item');
  const text = Buffer.from(await readWholeInput(location, 'STAC item')).toString('utf8');
  let item: unknown;
  try {
    item = JSON.parse(text);
  } catch (err) {
    throw new InvalidInputError(`${name} is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(item) || item['type'] !== 'Feature' || !isObject(item['assets']) || typeof item['id'] !== 'string') {
    throw new InvalidInputError(`${name} is not a STAC Item (needs type "Feature", an id and an assets object)`);
  }
  const assets = item['assets'] as Record<string, unknown>;
  const picked = names ? pickNamed(assets, names, name) : defaultDataAssets(item, assets, name);
  const files = picked.map(({ asset, band }) => {
    const href = (assets[asset] as Record<string, unknown>)['href'];
    if (typeof href !== 'string' || href === '') throw new InvalidInputError(`${name}: asset '${asset}' has no href`);
    return { asset, band, href: resolveHref(location, href) };
  });
  const properties = isObject(item['properties']) ? item['properties'] : {};
  const text0 = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
  const scene: SceneInfo = {
    id: item['id'],
    collection: text0(item['collection']),
    datetime: text0(properties['datetime']) ?? text0(properties['start_datetime']),
    platform: text0(properties['platform']),
    instruments: Array.isArray(properties['instruments']) ? properties['instruments'].filter((i): i is string => typeof i === 'string') : [],
    assets: picked.map(({ asset, band }) => (band === null ? asset : `${asset}:${band}`)),
  };
  return { files, scene };
}

/** Band names an asset declares (eo:bands name / common_name, raster:bands name, STAC 1.1 bands), per band. */
function bandNames(asset: Record<string, unknown>): string[][] {
  const lists = ['eo:bands', 'bands', 'raster:bands'].map((key) => asset[key]).filter(Array.isArray) as unknown[][];
  const names: string[][] = [];
  for (const list of lists) {
    list.forEach((band, i) => {
      if (!isObject(band)) return;
      const found = [band['name'], band['common_name'], band['eo:common_name']].filter((n): n is string => typeof n === 'string');
      names[i] = [...(names[i] ?? []), ...found];
    });
  }
  return names;
}

/** Each name is an asset key (all its bands) or a band name of one asset (that band), in the order given. */
function pickNamed(assets: Record<string, unknown>, names: string[], name: string): Array<{ asset: string; band: number | null }> {
  if (names.length === 0) throw new InvalidInputError(`${name}: no assets named`);
  return names.map((wanted) => {
    if (isObject(assets[wanted])) return { asset: wanted, band: null };
    for (const [key, asset] of Object.entries(assets)) {
      if (!isObject(asset)) continue;
      const index = bandNames(asset).findIndex((n) => n?.includes(wanted));
      if (index >= 0) return { asset: key, band: bandNames(asset).length === 1 ? null : index + 1 };
    }
    const known = Object.entries(assets).map(([key, a]) => {
      const bands = isObject(a) ? [...new Set(bandNames(a).flat())] : [];
      return bands.length ? `${key} (${bands.join(', ')})` : key;
    });
    throw new InvalidInputError(`${name} has no asset or band named '${wanted}' (assets: ${known.join('; ')})`);
  });
}

/** GeoTIFF assets with the data role (or no role), those on the grid most of them share, in the item's order. */
function defaultDataAssets(item: Record<string, unknown>, assets: Record<string, unknown>, name: string): Array<{ asset: string; band: null }> {
  const properties = isObject(item['properties']) ? item['properties'] : {};
  const data = Object.entries(assets).filter(([, a]) => {
    if (!isObject(a)) return false;
    const roles = Array.isArray(a['roles']) ? a['roles'] : [];
    const type = typeof a['type'] === 'string' ? a['type'] : '';
    const href = typeof a['href'] === 'string' ? a['href'] : '';
    const isTiff = /image\/tiff|geotiff/i.test(type) || (type === '' && /\.tiff?([?#].*)?$/i.test(href));
    return isTiff && (roles.length === 0 || roles.includes('data'));
  });
  if (data.length === 0) {
    throw new InvalidInputError(`${name} has no GeoTIFF data asset; name the assets to read with --assets (assets: ${Object.keys(assets).join(', ')})`);
  }
  const gridOf = (a: Record<string, unknown>) =>
    JSON.stringify([a['proj:shape'] ?? properties['proj:shape'] ?? null, a['proj:transform'] ?? properties['proj:transform'] ?? null]);
  const counts = new Map<string, number>();
  for (const [, a] of data) counts.set(gridOf(a as Record<string, unknown>), (counts.get(gridOf(a as Record<string, unknown>)) ?? 0) + 1);
  const common = [...counts.entries()].reduce((best, e) => (e[1] > best[1] ? e : best))[0];
  return data.filter(([, a]) => gridOf(a as Record<string, unknown>) === common).map(([asset]) => ({ asset, band: null }));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
