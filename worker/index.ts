/** `veda/worker`: veda's own worker (what `veda worker` runs), for a process that wants one without the CLI. */
export { createVedaWorker, workflowBundle, type VedaWorkerOptions } from './worker.js';
export { runWorker } from './main.js';
export { vedaWorkflowsPath } from './workflows-path.js';
export { openServices, type Services } from '../runtime/services.js';
