/**
 * The dataset document users see (`save()`, `veda show --json`, `GET /datasets/<id>`): every field of pyveda's
 * document, built from the catalog record and its counts. Served by `veda serve`, its links are that server's URLs
 * with their methods, as pyveda's were; without a server they name the operation (`veda:datasets/<id>`) and its
 * `veda` CLI command. `workflows` is the Temporal Web UI page of the dataset's runs.
 */
import type { Dtype, MlType } from '../types.js';
import type { DatasetCounts, DatasetRecord, IngestFailure } from './types.js';
import { percent } from '../percent.js';

export interface DocLink {
  href: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** The equivalent CLI command. */
  command?: string;
}

export interface DatasetDoc {
  id: string;
  name: string;
  classes: string[];
  nclasses: number;
  mlType: MlType;
  /** Datapoints per group, e.g. { train: 100, test: 25 }. */
  count: Record<string, number>;
  /** All datapoints of every group. */
  total: number;
  tileSize: [number, number];
  /** WGS84 [minLon, minLat, maxLon, maxLat] of the windows, null before the first ingest. */
  bbox: [number, number, number, number] | null;
  /** [bands, height, width] of a chip. */
  shape: [number, number, number] | null;
  dtype: Dtype | null;
  sensors: string[];
  /** The image the datapoints come from (the first, when several fed the dataset). */
  source: string | null;
  sources: string[];
  userId: string;
  public: boolean;
  created_at: string;
  updated_at: string;
  percent_cached: number;
  /** The latest ingest: its workflow and image, and, when it failed, why (its datapoints were taken back). */
  last_ingest: LastIngest | null;
  links: {
    self: DocLink;
    update: DocLink;
    publish: DocLink;
    unpublish: DocLink;
    delete: DocLink;
    create: DocLink;
    /** The dataset's workflows in the Temporal Web UI (when its address is known). */
    workflows?: DocLink;
  };
}

export interface LastIngest {
  workflowId: string | null;
  image: string | null;
  at: string | null;
  failed: IngestFailure | null;
}

export interface DocContext {
  /** The Temporal Web UI page listing the dataset's workflows, when the UI address is known. */
  workflowsUrl?: string;
  /** Base URL of the veda HTTP service serving the document (`https://veda.example.org`): links are its URLs. */
  apiUrl?: string;
}

export function datasetDoc(record: DatasetRecord, counts: DatasetCounts, ctx: DocContext = {}): DatasetDoc {
  const datasets = ctx.apiUrl ? `${ctx.apiUrl.replace(/\/+$/, '')}/datasets` : 'veda:datasets';
  const self = `${datasets}/${record.id}`;
  return {
    id: record.id,
    name: record.name,
    classes: [...record.classes],
    nclasses: record.classes.length,
    mlType: record.mlType,
    count: { ...counts.groups },
    total: counts.total,
    tileSize: record.tileSize,
    bbox: record.bbox,
    shape: record.shape,
    dtype: record.dtype,
    sensors: [...record.sensors],
    source: record.sources[0] ?? null,
    sources: [...record.sources],
    userId: record.userId,
    public: record.public,
    created_at: record.createdAt.toISOString(),
    updated_at: record.updatedAt.toISOString(),
    percent_cached: percent(counts.cached, counts.total),
    last_ingest: lastIngest(record),
    links: {
      self: { href: self, method: 'GET', command: `veda show ${record.id}` },
      update: { href: self, method: 'PUT', command: ctx.apiUrl ? undefined : `veda ingest ${record.id} --image ... --labels ...` },
      publish: { href: `${self}/publish`, method: 'PUT', command: `veda publish ${record.id}` },
      unpublish: { href: `${self}/unpublish`, method: 'PUT', command: `veda unpublish ${record.id}` },
      delete: { href: self, method: 'DELETE', command: `veda delete ${record.id}` },
      create: { href: datasets, method: 'POST', command: 'veda create --name ... --ml-type ... --tile-size W,H --classes ...' },
      ...(ctx.workflowsUrl ? { workflows: { href: ctx.workflowsUrl, method: 'GET' as const } } : {}),
    },
  };
}

function lastIngest(record: DatasetRecord): LastIngest | null {
  const last = record.ingests.at(-1);
  if (!last) return null;
  return { workflowId: last.workflowId ?? null, image: last.image ?? null, at: last.at ?? null, failed: last.failed ?? null };
}
