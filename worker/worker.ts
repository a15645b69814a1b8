/**
 * Builds a veda Worker: the workflow bundle plus activities wired to the catalog and chip store. Every process
 * that runs workers (`veda worker`, `veda dev`, the demo, the tests) goes through here.
 */
import { createRequire } from 'node:module';
import { bundleWorkflowCode, Worker, type NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { WorkerSettings } from '../config/config.js';
import { createActivities } from '../activities/index.js';
import type { Services } from '../runtime/services.js';

const require = createRequire(import.meta.url);

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** Bundles the workflows once per process (webpack takes seconds; every worker of the process shares it). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows/index.ts'),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error },
  });
  return bundle;
}

export interface VedaWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  services: Pick<Services, 'catalog' | 'chips' | 'batchDir'>;
  settings: WorkerSettings;
  /** Worker identity shown in the Web UI (defaults to the SDK's pid@host). */
  identity?: string;
}

export async function createVedaWorker(options: VedaWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    workflowBundle: await workflowBundle(),
    activities: createActivities(options.services),
    maxConcurrentActivityTaskExecutions: options.settings.maxConcurrentActivities,
    ...(options.identity ? { identity: options.identity } : {}),
    // Chunk activities heartbeat every few hundred ms; throttle the calls to the server. At most a second apart,
    // since the batch writer's heartbeats are what moves its progress bar.
    maxHeartbeatThrottleInterval: '1 second',
    defaultHeartbeatThrottleInterval: '2 seconds',
  });
}
