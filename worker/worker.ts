/**
 * Builds a veda Worker: the workflow bundle plus activities wired to the catalog and chip store. Every process
 * that runs workers (`veda worker`, `veda dev`, the demo, the tests) goes through here.
 */
import { bundleWorkflowCode, Worker, type NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { WorkerSettings } from '../config/config.js';
import { VedaPlugin } from '../plugin/veda-plugin.js';
import type { Services } from '../runtime/services.js';
import { vedaWorkflowsPath } from './workflows-path.js';

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** Bundles the workflows once per process (webpack takes seconds; every worker of the process shares it). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: vedaWorkflowsPath(),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error },
  });
  return bundle;
}

export interface VedaWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  services: Pick<Services, 'catalog' | 'chips' | 'batches' | 'scratchDir'>;
  settings: WorkerSettings;
  /** Worker identity shown in the Web UI (defaults to the SDK's pid@host). */
  identity?: string;
  /** A prebuilt bundle of veda's workflows (`bundleWorkflowCode` output written to a file) instead of bundling here. */
  workflowBundlePath?: string;
}

/** veda's worker: `VedaPlugin` on a worker of its own, with the workflows bundled once per process. */
export async function createVedaWorker(options: VedaWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    workflowBundle: options.workflowBundlePath ? { codePath: options.workflowBundlePath } : await workflowBundle(),
    plugins: [new VedaPlugin({ services: options.services, taskQueue: options.taskQueue, worker: options.settings })],
    ...(options.identity ? { identity: options.identity } : {}),
  });
}
