/**
 * Custom search attributes that make the Temporal Web UI a dashboard of datasets: filter by dataset, ML type and
 * stage (`VedaDatasetId = "abc"`). Registered on the local dev server at start; on a cluster, register them once
 * with `temporal operator search-attribute create` (README).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const DATASET_ID = defineSearchAttributeKey('VedaDatasetId', SearchAttributeType.KEYWORD);
export const ML_TYPE = defineSearchAttributeKey('VedaMlType', SearchAttributeType.KEYWORD);
export const STAGE = defineSearchAttributeKey('VedaStage', SearchAttributeType.KEYWORD);

export const VEDA_SEARCH_ATTRIBUTES = [DATASET_ID, ML_TYPE, STAGE];
