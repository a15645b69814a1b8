/**
 * What a dataset's recorded ingests say about one of its sources: which ingest read it, and which bands it kept.
 * Caching and the client's checks of fed pairs and previews read chips the same way through these.
 */
import type { DatasetRecord, IngestRecord } from './types.js';

/** The latest ingest that read a source and did not fail, or undefined for a source only fed directly. */
export function ingestOf(dataset: DatasetRecord, source: string): IngestRecord | undefined {
  return dataset.ingests.filter((i) => i.image === source && !i.failed).at(-1);
}

/** The bands the dataset's ingests read from a source (all bands for datapoints fed directly). */
export function bandsForSource(dataset: DatasetRecord, source: string): number[] | undefined {
  return ingestOf(dataset, source)?.bands;
}
