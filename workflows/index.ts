/** The workflow bundle's entry point: every veda workflow, and nothing else. */
export { ingestWorkflow } from './ingest.js';
export { cacheWorkflow } from './cache.js';
export { batchWorkflow } from './batch.js';
