import type { MlType } from '../types.js';

/**
 * Names in a veda batch file (see LAYOUT.md). Bump LAYOUT_VERSION on any change a reader would notice;
 * readers refuse versions they do not know.
 */
export const LAYOUT_VERSION = 1;

export const ROOT_ATTRS = {
  dataset: 'dataset',
  classes: 'classes',
  mlType: 'ml_type',
  seed: 'seed',
  inputs: 'inputs',
  groups: 'groups',
  layoutVersion: 'veda_layout_version',
  createdAt: 'created_at',
} as const;

export const GROUP_DATASETS = {
  images: 'images',
  labels: 'labels',
  boxes: 'boxes',
  boxSample: 'box_sample',
  boxOffsets: 'box_offsets',
  boxClass: 'box_class',
  ids: 'ids',
  windows: 'windows',
  sources: 'sources',
} as const;

/** What a batch file says about itself: stored as root attributes. */
export interface BatchMeta {
  /** The dataset document (JSON-serialisable), stored as JSON. */
  dataset: unknown;
  classes: string[];
  mlType: MlType;
  /** The seed the batch was built with (window plans, splits); the default seed for mini-batch shuffles. */
  seed: number;
  /** What went in (source URIs, counts, ...), JSON-serialisable. */
  inputs: unknown;
  /** Groups to create even when no sample goes to them, in this order (e.g. every group of a split). */
  groups?: string[];
  /** Defaults to the time the writer is created. */
  createdAt?: Date;
}

/** HDF5 link names may not contain '/' and '.' is the group itself. */
export function isValidGroupName(name: string): boolean {
  return name.length > 0 && name !== '.' && !name.includes('/');
}
