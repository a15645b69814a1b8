/**
 * The shared vocabulary of veda's domain: datasets, windows, rasters and labels.
 * Pure types only; every module of the domain speaks these, nothing here knows about Temporal.
 */

export const ML_TYPES = ['classification', 'object_detection', 'segmentation'] as const;

/**
 * Classes a dataset may have: label features are indexed to a byte and segmentation masks are uint8 (0 is
 * background, i + 1 is class i), so 255. Checked when a dataset is created, so none is made that cannot be ingested.
 */
export const MAX_CLASSES = 255;
export type MlType = (typeof ML_TYPES)[number];

export const DTYPES = ['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'float32', 'float64'] as const;
export type Dtype = (typeof DTYPES)[number];

export type TypedArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array;

/** GDAL order: [originX, pixelWidth, rowRotation, originY, columnRotation, pixelHeight (negative for north-up)]. */
export type GeoTransform = [number, number, number, number, number, number];

/** What veda knows of a source image without reading its pixels. */
export interface ImageInfo {
  /** Local path or http(s) URL, as the user gave it. */
  uri: string;
  width: number;
  height: number;
  bands: number;
  dtype: Dtype;
  geoTransform: GeoTransform;
  /** EPSG code of the image CRS from its GeoKeys, or null when the file carries none. */
  epsg: number | null;
  nodata: number | null;
  /** The scene, when the image is a STAC item: what fills the dataset's sensors and the ingest's provenance. */
  scene?: SceneInfo;
}

/** A STAC item's identity: id, acquisition time and what took it. */
export interface SceneInfo {
  id: string;
  collection: string | null;
  datetime: string | null;
  platform: string | null;
  instruments: string[];
  /** The assets read, in band order (a name per asset, or asset:band for one band of a multi-band asset). */
  assets: string[];
}

/** A window in pixel space: offsets from the image's upper-left corner, half-open extents. */
export interface PixelWindow {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Pixels in band-sequential order: data[b * height * width + row * width + col]. */
export interface Raster {
  dtype: Dtype;
  bands: number;
  width: number;
  height: number;
  data: TypedArray;
}

/** How many windows of a plan feed a data group: groups take consecutive windows, in order. */
export interface GroupCount {
  group: string;
  count: number;
}

/** Where windows come from. A plan plus the image metadata fully determines the windows (seeded, pure). */
export type WindowPlan =
  | { strategy: 'random'; count: number; seed: number; tileSize: [number, number] }
  | { strategy: 'grid'; tileSize: [number, number]; stride?: [number, number]; count?: number }
  | { strategy: 'features'; tileSize: [number, number]; seed: number; jitter: number; count?: number };

/** A planned window with its place in the plan (index) and the data group it feeds. */
export interface PlannedWindow extends PixelWindow {
  index: number;
  group: string;
}

/** Label encodings, one per ML type. */
export type ClassificationLabel = number[];
/** Per class (in the dataset's class order), pixel boxes [minx, miny, maxx, maxy] from the window's upper-left. */
export type DetectionLabel = Array<Array<[number, number, number, number]>>;
/**
 * A class-index mask (0 = background, i + 1 = class i), run-length encoded row-major so it travels as JSON:
 * runs alternate value and length: [v0, n0, v1, n1, ...].
 */
export interface SegmentationLabel {
  width: number;
  height: number;
  runs: number[];
}
export type Label = ClassificationLabel | DetectionLabel | SegmentationLabel;

/** Options for label encoding (issue #3 adds minOverlap / minBoxSize / allTouched). */
export interface LabelOptions {
  /** Classification: a class is present when features of it cover at least this share of the window (0 = any intersection). */
  minOverlap?: number;
  /** Detection: drop boxes whose width or height (pixels, after clipping) is below this. */
  minBoxSize?: number;
  /** Segmentation: burn every pixel a polygon touches instead of those whose centre is inside. */
  allTouched?: boolean;
}

/**
 * Detection boxes narrower or shorter than this many pixels are dropped unless `minBoxSize` says otherwise: on the
 * Olinda land cover (125 random 64 x 64 windows, seed 42), 670 of 2762 boxes cover at most one pixel: slivers of
 * polygons that touch a window's edge, which teach a detector nothing. The default keeps 1787 of them.
 */
export const DEFAULT_MIN_BOX_SIZE = 2;
