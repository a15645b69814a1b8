/** Links into the Temporal Web UI (plain URLs: no SDK needed to make them). */

/** Web UI link to a namespace's workflows filtered to one dataset. */
export function datasetWorkflowsUrl(uiUrl: string, namespace: string, datasetId: string): string {
  const query = encodeURIComponent(`VedaDatasetId="${datasetId}"`);
  return `${uiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows?query=${query}`;
}

export function workflowUrl(uiUrl: string, namespace: string, workflowId: string): string {
  return `${uiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
