/**
 * The features near a window, for encoding its label. A FlatGeobuf file with a spatial index is read piece by
 * piece: its header and packed R-tree once, then only the features whose boxes meet the window (range reads of a
 * local file or a URL). A GeoPackage layer with an R-tree is read whole into SQLite once, and per window only the
 * rows its R-tree finds are turned into features. Other files, and layers or files in another CRS than the image
 * (window bounds could not search their index), are read whole once (label-source.ts) and queried in memory.
 */
import * as flatbuffers from 'flatbuffers';
import { LRUCache } from 'lru-cache';
import { Feature } from 'flatgeobuf/lib/mjs/flat-geobuf/feature.js';
import { fromFeature } from 'flatgeobuf/lib/mjs/geojson/feature.js';
import { fromByteBuffer, type HeaderMeta } from 'flatgeobuf/lib/mjs/header-meta.js';
import { calcTreeSize, generateLevelBounds } from 'flatgeobuf/lib/mjs/packedrtree.js';
import { InvalidInputError } from '../errors.js';
import { windowBounds, type Bounds } from '../geo/geotransform.js';
import { epsgFromCrsName } from '../geo/crs.js';
import { byteRanges, readWholeInput, type ByteRanges } from '../inputs/input-location.js';
import type { GeoTransform, PixelWindow } from '../types.js';
import { crsNameOf } from './flatgeobuf.js';
import { openGeoPackage, type GeoPackageLayer } from './geopackage.js';
import { parseFeature, type GeoJsonFeature } from './geojson.js';
import { labelFormatOf } from './label-file.js';
import {
  checkClasses,
  DEFAULT_CLASS_PROPERTY,
  labelFeatureConverter,
  labelSourceOf,
  loadLabelSource,
  type LabelFeature,
  type LabelFeatureConverter,
  type LabelSource,
  type LabelSourceOptions,
} from './label-source.js';
import type { WindowLabelContext } from './window-features.js';

export interface LabelWindows {
  classes: readonly string[];
  /** How the features are found: through the file's spatial index, or in memory after a whole read. */
  access: 'indexed' | 'whole file';
  /** Usable features whose bounding box meets `bounds` (image CRS), in file order. */
  featuresIn(bounds: Bounds): Promise<LabelFeature[]>;
}

const FGB_MAGIC = [0x66, 0x67, 0x62, 0x03];
const PREFIX = 8 + 4; // magic bytes, then the header's length
/** Enough of the file's start to tell its format (SQLite's 16-byte magic is the longest). */
const FORMAT_PREFIX = 16;
/** Features closer than this in the file are fetched with one read. */
const MERGE_GAP = 64 * 1024;

/**
 * An indexed GeoPackage keeps its SQLite database open for as long as its LabelWindows is used; callers share
 * LabelWindows (worker caches) without a close, so the database is closed when the LabelWindows is collected.
 */
const closeWhenCollected = new FinalizationRegistry<GeoPackageLayer>((layer) => layer.close());

/** Opens a label file for window-by-window reading (see the module comment for which files are read whole). */
export async function openLabelWindows(uri: string, options: LabelSourceOptions): Promise<LabelWindows> {
  checkClasses(options.classes);
  const ranges = byteRanges(uri, 'label file');
  const format = labelFormatOf(await ranges.read(0, FORMAT_PREFIX));
  if (format === 'geopackage') return openGeoPackageWindows(uri, options);
  if (format === 'flatgeobuf' && options.layer === undefined) {
    const indexed = await openIndexedFlatGeobuf(uri, ranges, options);
    if (indexed) return indexed;
  }
  return wholeFile(await loadLabelSource(uri, options));
}

function wholeFile(source: LabelSource): LabelWindows {
  return { classes: source.classes, access: 'whole file', featuresIn: async (bounds) => source.query(bounds) };
}

/** Through the layer's R-tree when it has one and is in the image's CRS; else every feature of the layer, in memory. */
async function openGeoPackageWindows(uri: string, options: LabelSourceOptions): Promise<LabelWindows> {
  const layer = await openGeoPackage(await readWholeInput(uri, 'label file'), `label file ${uri}`, options.layer);
  let keepOpen = false;
  try {
    const converter = labelFeatureConverter(layer.name, layer.crsName, options);
    if (!layer.indexed || converter.epsg !== converter.sourceEpsg) return wholeFile(await labelSourceOf(layer.stream(), options));
    // Each feature is read and converted once while it stays in the cache: windows of a chunk overlap, and a
    // worker's chunks cover the scene again and again.
    const converted = new LRUCache<number, { feature: LabelFeature | null }>({ max: FEATURE_CACHE });
    // A label feature keeps its class and geometry: no other column of the table is read.
    const properties = [options.classProperty ?? DEFAULT_CLASS_PROPERTY];
    const windows: LabelWindows = {
      classes: [...options.classes],
      access: 'indexed',
      featuresIn: async (bounds) => {
        const ids = layer.candidates(bounds);
        const found = ids.map((id) => converted.get(id));
        const missing = ids.filter((_, i) => found[i] === undefined);
        if (missing.length > 0) {
          const read = new Map<number, { feature: LabelFeature | null }>();
          for (const [rowid, feature] of layer.featuresById(missing, properties)) {
            const entry = { feature: usableLabel(converter, feature) };
            converted.set(rowid, entry);
            read.set(rowid, entry);
          }
          ids.forEach((id, i) => (found[i] ??= read.get(id)));
        }
        return usableIn(found.map((entry) => entry?.feature ?? null), bounds);
      },
    };
    closeWhenCollected.register(windows, layer);
    keepOpen = true;
    return windows;
  } finally {
    if (!keepOpen) layer.close();
  }
}

/** The usable label features among an index's candidates whose own boxes meet `bounds`, in file order. */
function usableIn(candidates: Array<LabelFeature | null>, [minX, minY, maxX, maxY]: Bounds): LabelFeature[] {
  const features: LabelFeature[] = [];
  for (const candidate of candidates) {
    if (candidate === null) continue;
    const { bbox } = candidate;
    if (bbox[0] <= maxX && bbox[2] >= minX && bbox[1] <= maxY && bbox[3] >= minY) features.push(candidate);
  }
  return features.sort((a, b) => a.order - b.order);
}

/** The feature as a label feature, or null when it is skipped (class unknown or missing, geometry unsupported). */
function usableLabel(converter: LabelFeatureConverter, feature: GeoJsonFeature): LabelFeature | null {
  const converted = converter.convert(feature);
  return typeof converted === 'string' ? null : converted;
}

/** Converted features an indexed GeoPackage keeps (a few hundred bytes to some KiB each). */
const FEATURE_CACHE = 100_000;

/** The same context windowLabelContext makes, from a source read window by window. */
export async function readWindowLabelContext(labels: LabelWindows, geoTransform: GeoTransform, window: PixelWindow): Promise<WindowLabelContext> {
  return { geoTransform, window, classCount: labels.classes.length, features: await labels.featuresIn(windowBounds(geoTransform, window)) };
}

/** Null unless `uri` is a FlatGeobuf file with an index whose CRS is the image's (so window bounds search it as they are). */
async function openIndexedFlatGeobuf(uri: string, ranges: ByteRanges, options: LabelSourceOptions): Promise<LabelWindows | null> {
  const name = `label file ${uri}`;
  const prefix = await ranges.read(0, PREFIX);
  if (prefix.length < PREFIX || !FGB_MAGIC.every((b, i) => prefix[i] === b)) return null;
  const headerLength = new DataView(prefix.buffer, prefix.byteOffset).getUint32(8, true);
  const headerBytes = await ranges.read(0, PREFIX + headerLength);
  let header: HeaderMeta;
  try {
    const bb = new flatbuffers.ByteBuffer(headerBytes);
    bb.setPosition(8);
    header = fromByteBuffer(bb);
  } catch (err) {
    throw new InvalidInputError(`${name} is not a readable FlatGeobuf file: ${(err as Error).message}`);
  }
  const crsName = crsNameOf(header, name);
  const fileEpsg = crsName === null ? 4326 : epsgFromCrsName(crsName);
  if (header.indexNodeSize === 0 || header.featuresCount === 0) return null;
  if (options.imageEpsg !== null && fileEpsg !== options.imageEpsg) return null;

  const converter: LabelFeatureConverter = labelFeatureConverter(name, crsName, options);
  const treeStart = PREFIX + headerLength;
  const treeSize = calcTreeSize(header.featuresCount, header.indexNodeSize);
  const tree = await ranges.read(treeStart, treeSize);
  if (tree.length < treeSize) throw new InvalidInputError(`${name}: the file ends inside its spatial index (truncated?)`);
  const featuresStart = treeStart + treeSize;
  const search = packedTreeSearch(tree, header.featuresCount, header.indexNodeSize);

  return {
    classes: [...options.classes],
    access: 'indexed',
    async featuresIn(bounds) {
      const hits = search(bounds);
      const candidates: GeoJsonFeature[] = [];
      for (const run of contiguousRuns(hits)) {
        const first = run[0]!;
        const last = run[run.length - 1]!;
        // The last feature of the file has no known length: read its size prefix first.
        const lastLength = last.length ?? 4 + new DataView((await ranges.read(featuresStart + last.offset, 4)).slice().buffer).getUint32(0, true);
        const bytes = await ranges.read(featuresStart + first.offset, last.offset + lastLength - first.offset);
        for (const hit of run) {
          const start = hit.offset - first.offset;
          const size = 4 + new DataView(bytes.buffer, bytes.byteOffset + start).getUint32(0, true);
          if (start + size > bytes.length) throw new InvalidInputError(`${name}: feature ${hit.id} runs past the end of the file (truncated?)`);
          const feature = Feature.getSizePrefixedRootAsFeature(new flatbuffers.ByteBuffer(bytes.slice(start, start + size)));
          candidates.push(parseFeature(fromFeature(hit.id, feature, header), hit.id, name));
        }
      }
      return usableIn(candidates.map((candidate) => usableLabel(converter, candidate)), bounds);
    },
  };
}

interface TreeHit {
  /** Byte offset of the feature in the features section. */
  offset: number;
  /** Its size with the size prefix; null for the file's last feature. */
  length: number | null;
  /** Its position in the file. */
  id: number;
}

/**
 * Search of a FlatGeobuf packed Hilbert R-tree held in memory (the layout of flatgeobuf's packedrtree: 40-byte
 * nodes, root first, leaves last; an inner node's offset is its first child's index, a leaf's the feature's byte
 * offset). flatgeobuf's own streamSearch does the same but writes a console.debug line per node visited, which would
 * land in a CLI's stdout. Hits come in file order.
 */
function packedTreeSearch(tree: Uint8Array, count: number, nodeSize: number): (bounds: Bounds) => TreeHit[] {
  const view = new DataView(tree.buffer, tree.byteOffset, tree.byteLength);
  const levels = generateLevelBounds(count, nodeSize);
  const leafStart = levels[0]![0];
  const NODE_BYTES = 40;
  const box = (i: number, k: number) => view.getFloat64(i * NODE_BYTES + k * 8, true);
  const offsetOf = (i: number) => Number(view.getBigUint64(i * NODE_BYTES + 32, true));
  return ([minX, minY, maxX, maxY]) => {
    const hits: TreeHit[] = [];
    const stack: Array<[node: number, level: number]> = [[0, levels.length - 1]];
    while (stack.length > 0) {
      const [node, level] = stack.pop()!;
      const end = Math.min(node + nodeSize, levels[level]![1]);
      for (let i = node; i < end; i++) {
        if (maxX < box(i, 0) || maxY < box(i, 1) || minX > box(i, 2) || minY > box(i, 3)) continue;
        if (i >= leafStart) {
          const next = i + 1 < leafStart + count ? offsetOf(i + 1) : null;
          hits.push({ offset: offsetOf(i), length: next === null ? null : next - offsetOf(i), id: i - leafStart });
        } else {
          stack.push([offsetOf(i), level - 1]);
        }
      }
    }
    return hits.sort((a, b) => a.offset - b.offset);
  };
}

function contiguousRuns<T extends { offset: number; length: number | null }>(hits: T[]): T[][] {
  const runs: T[][] = [];
  for (const hit of hits) {
    const run = runs[runs.length - 1];
    const previous = run?.[run.length - 1];
    if (run && previous && previous.length !== null && hit.offset - (previous.offset + previous.length) <= MERGE_GAP) run.push(hit);
    else runs.push([hit]);
  }
  return runs;
}
