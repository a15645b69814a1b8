/**
 * What defines an ingest: its images, labels, window plan, groups and options. A domain concept: the client builds
 * it (client/ingest-options.ts), workflows and activities carry it, and the catalog records it in the dataset so the
 * dataset can be rebuilt identically.
 */
import type { GroupCount, LabelOptions, MlType, WindowPlan } from './types.js';
import type { Balance } from './windows/balance.js';

/** Everything that defines an ingest; recorded in the dataset so it can be rebuilt identically. */
export interface IngestSpec {
  datasetId: string;
  mlType: MlType;
  /** GeoTIFF or STAC item: a path (absolute, readable by every worker), an http(s) or s3:// URL. */
  image: string;
  /**
   * Several scenes under one plan (`image` is the first): the plan's counts are spread over them by ground area,
   * and each scene's windows read that scene. Absent for a single scene.
   */
  scenes?: string[];
  /** Label file (GeoJSON, GeoPackage, FlatGeobuf); `layer` names a GeoPackage table. */
  labels: { uri: string; classProperty: string; layer?: string };
  plan: WindowPlan;
  /** Which group the plan's windows feed, in order: the first `count` windows to the first group, and so on. */
  groups: GroupCount[];
  labelOptions: LabelOptions;
  /** 1-based band indexes to keep (all when omitted). */
  bands?: number[];
  /** Reject windows whose nodata share exceeds this (0..1); decided from the pixels. */
  maxNodata?: number;
  /** How the groups keep apart (absent in ingests recorded before splits: no layout, no seed of its own). */
  split?: IngestSplit;
  /** Let windows land on pixels that other groups of the dataset already hold in this image. */
  allowOverlap?: boolean;
  /** Region of interest (GeoJSON polygons, any CRS): every window lies inside it. */
  aoi?: string;
  /** Balanced classes (random plans): class quotas, or a minimum labelled share for segmentation. */
  balance?: Balance;
}

/** See domain/windows/cell-layout.ts. */
export interface IngestSplit {
  /** Cells are drawn among the groups, so no pixel lies in windows of two groups. */
  spatial: boolean;
  /** Seed of the cell draw (the plan's seed when it has one). */
  seed: number;
  /** Cell side in pixels (default: from the tile size). */
  cell?: number;
  /** Minimum gap in pixels between windows of two groups. */
  buffer?: number;
}
