/**
 * Custom search attributes that make the Temporal Web UI a dashboard of datasets: filter by dataset, ML type and
 * stage (`VedaDatasetId = "abc"`). Workflows are started with them, so a namespace without them refuses every
 * start: workers (and `veda dev`) register whatever is missing when they start (temporal/register-search-attributes.ts). This
 * file is imported by workflows: keys only.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const DATASET_ID = defineSearchAttributeKey('VedaDatasetId', SearchAttributeType.KEYWORD);
export const ML_TYPE = defineSearchAttributeKey('VedaMlType', SearchAttributeType.KEYWORD);
export const STAGE = defineSearchAttributeKey('VedaStage', SearchAttributeType.KEYWORD);

export const VEDA_SEARCH_ATTRIBUTES = [DATASET_ID, ML_TYPE, STAGE];
