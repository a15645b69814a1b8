import { InvalidInputError, NotFoundError } from '../errors.js';
import { newDatasetId } from './dataset-id.js';
import { migrate } from './migrations.js';
import { SqlApiTokens, type ApiTokens } from './api-tokens.js';
import {
  DATAPOINT_COLUMNS,
  DATAPOINT_REF_COLUMNS,
  DATASET_COLUMNS,
  datapointFromRow,
  datapointRefFromRow,
  datapointRecord,
  datasetFromRow,
  type DatapointRow,
  type DatasetRow,
} from './rows.js';
import { FOREIGN_KEY_VIOLATION, sqlErrorCode, type SqlClient, type SqlQueryable } from './sql-client.js';
import type { Dtype } from '../types.js';
import type {
  Catalog,
  Datapoint,
  NewDatapoint,
  DatapointChunk,
  DatapointKey,
  DatapointPage,
  DatapointRef,
  DatasetCounts,
  DatasetPatch,
  DatasetRecord,
  DatasetSearch,
  IngestFailure,
  IngestRecord,
  NewDataset,
} from './types.js';
import {
  parseChips,
  parseDatapoints,
  parseDatasetPatch,
  parseDatasetSearch,
  parseLimit,
  parseNewDataset,
  parsePage,
  parsePositiveSize,
  parseRange,
  parseRunKind,
} from './validation.js';

/** JSON for a `$n::text::jsonb` parameter; SQL null stays null (JSON.stringify would make it the JSON `null`). */
const json = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));

/** Escapes LIKE's wildcards so a searched name matches literally. */
const likeLiteral = (text: string): string => text.replace(/[\\%_]/g, '\\$&');

const notFound = (datasetId: string) => new NotFoundError(`dataset ${datasetId} not found`);

/**
 * Serializes writes to one dataset's datapoints, across connections and processes, until the transaction ends.
 * Without it two overlapping batches inserted in different orders can deadlock in PostgreSQL (each waits on
 * the other's not-yet-committed row); with it each batch also gets a contiguous run of posting order.
 */
async function lockDatasets(tx: SqlQueryable, datasetIds: string[]): Promise<void> {
  for (const id of [...new Set(datasetIds)].sort()) {
    await tx.query(`select pg_advisory_xact_lock(hashtextextended('veda.datapoints/' || $1::text, 0))`, [id]);
  }
}

/** Rows of a JSON array of datapoint records, in array order (`ord`). */
const DATAPOINT_RECORDSET = `rows from (jsonb_to_recordset($1::text::jsonb) as (
    dataset_id text, id text, grp text, source text, x integer, y integer, w integer, h integer,
    label jsonb, chip_key text, ingest_run text
  )) with ordinality as r(dataset_id, id, grp, source, x, y, w, h, label, chip_key, ingest_run, ord)`;

/**
 * The catalog over SQL, for PostgreSQL and PGlite alike (see sql-client.ts). Every write is one statement or
 * one transaction and is safe to repeat, so activities can retry freely.
 */
export class SqlCatalog implements Catalog {
  readonly tokens: ApiTokens;

  private constructor(private readonly client: SqlClient) {
    this.tokens = new SqlApiTokens(client);
  }

  /** Migrates the schema, then serves the catalog; the catalog owns `client` and closes it on close(). */
  static async open(client: SqlClient): Promise<SqlCatalog> {
    try {
      await migrate(client);
    } catch (err) {
      await client.close();
      throw err;
    }
    return new SqlCatalog(client);
  }

  async createDataset(input: NewDataset): Promise<DatasetRecord> {
    const dataset = parseNewDataset(input);
    // A random 62-bit id practically never collides; on the rare collision, draw again instead of failing.
    for (let attempt = 0; attempt < 3; attempt++) {
      const { rows } = await this.client.query<DatasetRow>(
        `insert into datasets (id, name, ml_type, tile_w, tile_h, classes, user_id, public, sensors)
         values ($1::text, $2::text, $3::text, $4::int, $5::int, $6::text::jsonb, $7::text, $8::boolean,
                 $9::text::jsonb)
         on conflict (id) do nothing
         returning ${DATASET_COLUMNS}`,
        [
          newDatasetId(),
          dataset.name,
          dataset.mlType,
          dataset.tileSize[0],
          dataset.tileSize[1],
          json(dataset.classes),
          dataset.userId,
          dataset.public ?? false,
          json(dataset.sensors ?? []),
        ],
      );
      if (rows[0]) return datasetFromRow(rows[0]);
    }
    throw new Error('could not draw an unused dataset id in 3 attempts');
  }

  async getDataset(id: string): Promise<DatasetRecord | null> {
    const { rows } = await this.client.query<DatasetRow>(
      `select ${DATASET_COLUMNS} from datasets where id = $1::text`,
      [id],
    );
    return rows[0] ? datasetFromRow(rows[0]) : null;
  }

  async updateDataset(id: string, patch: DatasetPatch): Promise<DatasetRecord> {
    const changes = parseDatasetPatch(patch);
    const params: unknown[] = [id];
    const assignments: string[] = [];
    const set = (column: string, cast: string, value: unknown) => {
      params.push(value);
      assignments.push(`${column} = $${params.length}::${cast}`);
    };
    if (changes.name !== undefined) set('name', 'text', changes.name);
    if (changes.public !== undefined) set('public', 'boolean', changes.public);
    if (changes.bbox !== undefined) {
      const [minLon, minLat, maxLon, maxLat] = changes.bbox ?? [null, null, null, null];
      set('min_lon', 'float8', minLon);
      set('min_lat', 'float8', minLat);
      set('max_lon', 'float8', maxLon);
      set('max_lat', 'float8', maxLat);
    }
    if (changes.shape !== undefined) set('shape', 'text::jsonb', json(changes.shape));
    if (changes.dtype !== undefined) set('dtype', 'text', changes.dtype);
    if (changes.sensors !== undefined) set('sensors', 'text::jsonb', json(changes.sensors));
    if (changes.sources !== undefined) set('sources', 'text::jsonb', json(changes.sources));
    if (changes.ingests !== undefined) set('ingests', 'text::jsonb', json(changes.ingests));
    assignments.push('updated_at = now()');

    const { rows } = await this.client.query<DatasetRow>(
      `update datasets set ${assignments.join(', ')} where id = $1::text returning ${DATASET_COLUMNS}`,
      params,
    );
    if (!rows[0]) throw notFound(id);
    return datasetFromRow(rows[0]);
  }

  async claimChipShape(id: string, shape: [number, number, number], dtype: Dtype): Promise<DatasetRecord | null> {
    const { rows } = await this.client.query<DatasetRow>(
      `update datasets set shape = coalesce(shape, $2::text::jsonb), dtype = coalesce(dtype, $3::text), updated_at = now()
       where id = $1::text and (shape is null or (shape = $2::text::jsonb and dtype = $3::text))
       returning ${DATASET_COLUMNS}`,
      [id, json(shape), dtype],
    );
    if (rows[0]) return datasetFromRow(rows[0]);
    if (!(await this.getDataset(id))) throw notFound(id);
    return null;
  }

  async addSources(id: string, sources: string[]): Promise<DatasetRecord> {
    const { rows } = await this.client.query<DatasetRow>(
      `update datasets set
         sources = sources || coalesce(
           (select jsonb_agg(s order by n) from (
              select s, min(n) as n from jsonb_array_elements_text($2::text::jsonb) with ordinality as t(s, n)
              where not (datasets.sources ? s) group by s) as fresh),
           '[]'::jsonb),
         updated_at = now()
       where id = $1::text returning ${DATASET_COLUMNS}`,
      [id, json([...sources])],
    );
    if (!rows[0]) throw notFound(id);
    return datasetFromRow(rows[0]);
  }

  async recordIngest(id: string, ingest: IngestRecord): Promise<DatasetRecord> {
    const { rows } = await this.client.query<DatasetRow>(
      `update datasets set
         ingests = case
           when $2::text is not null and exists (select 1 from jsonb_array_elements(ingests) e where e->>'workflowId' = $2::text)
           then ingests else ingests || jsonb_build_array($3::text::jsonb) end,
         updated_at = now()
       where id = $1::text returning ${DATASET_COLUMNS}`,
      [id, ingest.workflowId, json(ingest)],
    );
    if (!rows[0]) throw notFound(id);
    return datasetFromRow(rows[0]);
  }

  async ingestRunIds(datasetId: string, ingestRun: string): Promise<string[]> {
    const { rows } = await this.client.query<{ id: string }>(
      'select id from datapoints where dataset_id = $1::text and ingest_run = $2::text order by seq',
      [datasetId, ingestRun],
    );
    return rows.map((row) => row.id);
  }

  async removeIngestRun(datasetId: string, ingestRun: string): Promise<number> {
    const { rows } = await this.client.query<{ removed: number }>(
      `with removed as (
         delete from datapoints where dataset_id = $1::text and ingest_run = $2::text returning id
       ), touched as (
         update datasets set updated_at = now() where id = $1::text and exists (select 1 from removed)
       )
       select count(*)::int as removed from removed`,
      [datasetId, ingestRun],
    );
    return rows[0]!.removed;
  }

  async markIngestFailed(id: string, ingest: IngestRecord & { workflowId: string }, failure: IngestFailure): Promise<DatasetRecord> {
    const { rows } = await this.client.query<DatasetRow>(
      `update datasets set
         ingests = case
           when exists (select 1 from jsonb_array_elements(ingests) e where e->>'workflowId' = $2::text)
           then (select jsonb_agg(case when e->>'workflowId' = $2::text then e || jsonb_build_object('failed', $4::text::jsonb) else e end
                                  order by ord)
                 from jsonb_array_elements(ingests) with ordinality as t(e, ord))
           else ingests || jsonb_build_array($3::text::jsonb || jsonb_build_object('failed', $4::text::jsonb)) end,
         updated_at = now()
       where id = $1::text returning ${DATASET_COLUMNS}`,
      [id, ingest.workflowId, json(ingest), json(failure)],
    );
    if (!rows[0]) throw notFound(id);
    return datasetFromRow(rows[0]);
  }

  async extendBbox(id: string, bbox: [number, number, number, number]): Promise<DatasetRecord> {
    if (bbox.length !== 4 || !bbox.every(Number.isFinite) || bbox[0] > bbox[2] || bbox[1] > bbox[3]) {
      throw new InvalidInputError(`bbox [${bbox.join(', ')}] is not [minLon, minLat, maxLon, maxLat]`);
    }
    const { rows } = await this.client.query<DatasetRow>(
      `update datasets set
         min_lon = least(coalesce(min_lon, $2::float8), $2::float8),
         min_lat = least(coalesce(min_lat, $3::float8), $3::float8),
         max_lon = greatest(coalesce(max_lon, $4::float8), $4::float8),
         max_lat = greatest(coalesce(max_lat, $5::float8), $5::float8),
         updated_at = now()
       where id = $1::text returning ${DATASET_COLUMNS}`,
      [id, ...bbox],
    );
    if (!rows[0]) throw notFound(id);
    return datasetFromRow(rows[0]);
  }

  async deleteDataset(id: string): Promise<boolean> {
    // Datapoints and run numbers go with it (on delete cascade).
    const { rows } = await this.client.query('delete from datasets where id = $1::text returning id', [id]);
    return rows.length > 0;
  }

  async searchDatasets(query: DatasetSearch): Promise<DatasetRecord[]> {
    const search = parseDatasetSearch(query);
    const params: unknown[] = [search.viewer];
    const param = (value: unknown, cast: string) => {
      params.push(value);
      return `$${params.length}::${cast}`;
    };
    // The viewer rule comes first and is never optional: other users' private datasets stay invisible.
    const conditions = ['(public or user_id = $1::text)'];
    if (search.name !== undefined) {
      conditions.push(`name ilike '%' || ${param(likeLiteral(search.name), 'text')} || '%' escape '\\'`);
    }
    if (search.mlType !== undefined) conditions.push(`ml_type = ${param(search.mlType, 'text')}`);
    if (search.userId !== undefined) conditions.push(`user_id = ${param(search.userId, 'text')}`);
    if (search.public !== undefined) conditions.push(`public = ${param(search.public, 'boolean')}`);
    if (search.bbox !== undefined) {
      // Closed boxes: touching edges intersect. Same expression as datasets_bbox_idx so the index applies.
      const [minLon, minLat, maxLon, maxLat] = search.bbox.map((value) => param(value, 'float8'));
      conditions.push(
        `box(point(min_lon, min_lat), point(max_lon, max_lat))
         && box(point(${minLon}, ${minLat}), point(${maxLon}, ${maxLat}))`,
      );
    }
    const { rows } = await this.client.query<DatasetRow>(
      `select ${DATASET_COLUMNS} from datasets where ${conditions.join(' and ')} order by created_at desc, id`,
      params,
    );
    return rows.map(datasetFromRow);
  }

  async insertDatapoints(points: NewDatapoint[], options: { ingestRun?: string } = {}): Promise<number> {
    const valid = parseDatapoints(points);
    if (valid.length === 0) return 0;
    const datasetIds = [...new Set(valid.map((point) => point.datasetId))];
    return this.client.transaction(async (tx) => {
      await lockDatasets(tx, datasetIds);
      const { rows: existing } = await tx.query<{ id: string }>(
        'select id from datasets where id in (select jsonb_array_elements_text($1::text::jsonb))',
        [json(datasetIds)],
      );
      const missing = datasetIds.filter((id) => !existing.some((row) => row.id === id));
      if (missing.length > 0) throw notFound(missing.join(', '));

      // One statement for the whole batch (row-by-row inserts are ~40x slower in PGlite). Rows are inserted
      // in the batch's order so `seq` keeps posting order; ids already present are skipped.
      const { rows } = await tx.query<{ inserted: number }>(
        `with inserted as (
           insert into datapoints (dataset_id, id, grp, source, x, y, w, h, label, chip_key, ingest_run)
           select dataset_id, id, grp, source, x, y, w, h, label, chip_key, ingest_run from ${DATAPOINT_RECORDSET} order by ord
           on conflict (dataset_id, id) do nothing
           returning dataset_id
         ), touched as (
           update datasets set updated_at = now() where id in (select dataset_id from inserted)
         )
         select count(*)::int as inserted from inserted`,
        [json(valid.map((point) => ({ ...datapointRecord(point), ingest_run: options.ingestRun ?? null })))],
      );
      return rows[0]!.inserted;
    });
  }

  async counts(datasetId: string): Promise<DatasetCounts> {
    const { rows } = await this.client.query<{ grp: string; total: number; cached: number }>(
      `select grp, count(*)::int as total, count(chip_key)::int as cached
       from datapoints where dataset_id = $1::text group by grp order by grp`,
      [datasetId],
    );
    if (rows.length === 0 && !(await this.getDataset(datasetId))) throw notFound(datasetId);
    const counts: DatasetCounts = { groups: {}, total: 0, cached: 0 };
    for (const row of rows) {
      counts.groups[row.grp] = row.total;
      counts.total += row.total;
      counts.cached += row.cached;
    }
    return counts;
  }

  async listDatapoints(
    datasetId: string,
    range: { offset: number; limit: number; group?: string },
  ): Promise<Datapoint[]> {
    const { offset, limit, group } = parseRange(range);
    const params: unknown[] = [datasetId, offset, limit];
    let groupCondition = '';
    if (group !== undefined) {
      params.push(group);
      groupCondition = 'and grp = $4::text';
    }
    const { rows } = await this.client.query<DatapointRow>(
      `select ${DATAPOINT_COLUMNS} from datapoints where dataset_id = $1::text ${groupCondition}
       order by seq offset $2::int limit $3::int`,
      params,
    );
    return rows.map(datapointFromRow);
  }

  async pageDatapoints(datasetId: string, page: DatapointPage): Promise<{ points: Datapoint[]; last: DatapointKey | null }> {
    const rows = await this.pageRows<DatapointRow>(DATAPOINT_COLUMNS, datasetId, page);
    return { points: rows.map(datapointFromRow), last: rows.at(-1)?.key ?? null };
  }

  async pageDatapointRefs(datasetId: string, page: DatapointPage): Promise<{ points: DatapointRef[]; last: DatapointKey | null }> {
    const rows = await this.pageRows<Omit<DatapointRow, 'label'>>(DATAPOINT_REF_COLUMNS, datasetId, page);
    return { points: rows.map(datapointRefFromRow), last: rows.at(-1)?.key ?? null };
  }

  private async pageRows<Row>(columns: string, datasetId: string, page: DatapointPage): Promise<Array<Row & { key: string }>> {
    const { after, through, limit, group } = parsePage(page);
    const params: unknown[] = [datasetId, limit];
    const conditions = ['dataset_id = $1::text'];
    const add = (condition: string, value: unknown) => {
      params.push(value);
      conditions.push(condition.replace('?', `$${params.length}`));
    };
    // Bounds on seq next to dataset_id walk datapoints_order_idx from the key: no rows are skipped over.
    if (after != null) add('seq > ?::bigint', after);
    if (through != null) add('seq <= ?::bigint', through);
    if (group !== undefined) add('grp = ?::text', group);
    const { rows } = await this.client.query<Row & { key: string }>(
      `select ${columns}, seq::text as key from datapoints where ${conditions.join(' and ')} order by seq limit $2::int`,
      params,
    );
    return rows;
  }

  async datapointChunks(datasetId: string, size: number): Promise<DatapointChunk[]> {
    const chunkSize = parsePositiveSize(size);
    const { rows } = await this.client.query<{ first: string; through: string; count: number }>(
      `select min(seq)::text as first, max(seq)::text as through, count(*)::int as count
       from (select seq, (row_number() over (order by seq) - 1) / $2::int as chunk from datapoints where dataset_id = $1::text) s
       group by chunk order by chunk`,
      [datasetId, chunkSize],
    );
    return rows.map((row, i) => ({ after: i === 0 ? null : rows[i - 1]!.through, through: row.through, count: row.count }));
  }

  async getDatapoint(datasetId: string, id: string): Promise<Datapoint | null> {
    return (await this.getDatapoints(datasetId, [id]))[0] ?? null;
  }

  async getDatapoints(datasetId: string, ids: string[]): Promise<Datapoint[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.client.query<DatapointRow>(
      `select ${DATAPOINT_COLUMNS} from datapoints where dataset_id = $1::text and id = any($2::text[])`,
      [datasetId, ids],
    );
    const byId = new Map(rows.map((row) => [row.id, datapointFromRow(row)]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  async deleteDatapoints(datasetId: string, ids: string[]): Promise<Datapoint[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.client.query<DatapointRow>(
      `delete from datapoints where dataset_id = $1::text and id = any($2::text[]) returning ${DATAPOINT_COLUMNS}`,
      [datasetId, ids],
    );
    return rows.map(datapointFromRow);
  }

  async listUncached(datasetId: string, limit: number): Promise<Datapoint[]> {
    const { rows } = await this.client.query<DatapointRow>(
      `select ${DATAPOINT_COLUMNS} from datapoints where dataset_id = $1::text and chip_key is null
       order by seq limit $2::int`,
      [datasetId, parseLimit(limit)],
    );
    return rows.map(datapointFromRow);
  }

  async markCached(datasetId: string, chips: Array<{ id: string; chipKey: string }>): Promise<void> {
    // Last key wins for an id listed twice, as if the marks had been made one after the other.
    const keys = new Map(parseChips(chips).map((chip) => [chip.id, chip.chipKey]));
    if (keys.size === 0) return;
    const records = [...keys].map(([id, chipKey]) => ({ id, chip_key: chipKey }));
    await this.client.transaction(async (tx) => {
      await lockDatasets(tx, [datasetId]);
      // Ids the dataset does not hold are ignored: a retried mark after a delete has nothing left to mark.
      await tx.query(
        `update datapoints d set chip_key = r.chip_key
         from jsonb_to_recordset($2::text::jsonb) as r(id text, chip_key text)
         where d.dataset_id = $1::text and d.id = r.id and d.chip_key is distinct from r.chip_key`,
        [datasetId, json(records)],
      );
    });
  }

  async nextRunNumber(datasetId: string, kind: string): Promise<number> {
    try {
      const { rows } = await this.client.query<{ n: number }>(
        `insert into run_numbers (dataset_id, kind, n) values ($1::text, $2::text, 1)
         on conflict (dataset_id, kind) do update set n = run_numbers.n + 1
         returning n`,
        [datasetId, parseRunKind(kind)],
      );
      return rows[0]!.n;
    } catch (err) {
      if (sqlErrorCode(err) === FOREIGN_KEY_VIOLATION) throw notFound(datasetId);
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
