/**
 * The workflows the client starts, by kind: the name each is registered under and, through a type-only import, its
 * function's signature. A start's input is checked against the workflow's own parameter type, and renaming a
 * workflow function fails to compile here, without the client loading any workflow code.
 */
import type * as workflows from '../workflows/index.js';

export const WORKFLOW_TYPES = {
  ingest: 'ingestWorkflow',
  cache: 'cacheWorkflow',
  batch: 'batchWorkflow',
} as const satisfies Record<string, keyof typeof workflows>;

export type WorkflowName = keyof typeof WORKFLOW_TYPES;
/** The workflow function of a kind. */
export type WorkflowOf<K extends WorkflowName> = (typeof workflows)[(typeof WORKFLOW_TYPES)[K]];
/** Its input, as the workflow declares it. */
export type WorkflowInput<K extends WorkflowName> = Parameters<WorkflowOf<K>>[0];
