import type { Dtype, Label, MlType } from '../types.js';
import type { Datapoint, DatapointRef, DatasetRecord, IngestRecord, NewDatapoint } from './types.js';
import { loadedLabel, storedLabel, type PackedSegmentationLabel } from './stored-label.js';

/** Column lists the catalog selects, so every query returns rows these mappers understand. */
export const DATASET_COLUMNS = `id, name, ml_type, tile_w, tile_h, classes, user_id, public,
  min_lon, min_lat, max_lon, max_lat, shape, dtype, sensors, sources, ingests, created_at, updated_at`;
export const DATAPOINT_COLUMNS = 'dataset_id, id, grp, source, x, y, w, h, label, chip_key';
export const DATAPOINT_REF_COLUMNS = 'dataset_id, id, grp, source, x, y, w, h, chip_key';

export interface DatasetRow {
  id: string;
  name: string;
  ml_type: MlType;
  tile_w: number;
  tile_h: number;
  classes: string[];
  user_id: string;
  public: boolean;
  min_lon: number | null;
  min_lat: number | null;
  max_lon: number | null;
  max_lat: number | null;
  shape: [number, number, number] | null;
  dtype: Dtype | null;
  sensors: string[];
  sources: string[];
  /** JSON the catalog wrote from IngestRecords. */
  ingests: IngestRecord[];
  created_at: Date;
  updated_at: Date;
}

export interface DatapointRow {
  dataset_id: string;
  id: string;
  grp: string;
  source: string;
  x: number;
  y: number;
  w: number;
  h: number;
  label: Label | PackedSegmentationLabel;
  chip_key: string | null;
}

export function datasetFromRow(row: DatasetRow): DatasetRecord {
  // The table's check constraint keeps the four bounds all null or all set.
  const bbox: DatasetRecord['bbox'] =
    row.min_lon === null ? null : [row.min_lon, row.min_lat!, row.max_lon!, row.max_lat!];
  return {
    id: row.id,
    name: row.name,
    mlType: row.ml_type,
    tileSize: [row.tile_w, row.tile_h],
    classes: row.classes,
    userId: row.user_id,
    public: row.public,
    bbox,
    shape: row.shape,
    dtype: row.dtype,
    sensors: row.sensors,
    sources: row.sources,
    ingests: row.ingests,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

export function datapointFromRow(row: DatapointRow): Datapoint {
  return { ...datapointRefFromRow(row), label: loadedLabel(row.label) };
}

export function datapointRefFromRow(row: Omit<DatapointRow, 'label'>): DatapointRef {
  return {
    id: row.id,
    datasetId: row.dataset_id,
    group: row.grp,
    source: row.source,
    window: { x: row.x, y: row.y, width: row.w, height: row.h },
    chipKey: row.chip_key,
  };
}

/** Datapoints as the JSON records `jsonb_to_recordset` reads in insertDatapoints. */
export function datapointRecord(point: NewDatapoint) {
  const { x, y, width: w, height: h } = point.window;
  return {
    dataset_id: point.datasetId,
    id: point.id,
    grp: point.group,
    source: point.source,
    x,
    y,
    w,
    h,
    label: storedLabel(point.label),
    chip_key: point.chipKey,
  };
}
