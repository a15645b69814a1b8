/**
 * vitest's global setup for the integration tests: one Temporal dev server (with its Web UI) and one workflow
 * bundle for the whole run, instead of a server and a webpack bundle per test file (about 5 s each). Test files
 * stay apart by task queue, database and data directory (test/support/stack.ts); tests that need a server of their
 * own (a plain one, a restarted one) still start it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startLocalTemporal } from '../../temporal/local-server.js';
import { workflowBundle } from '../../worker/worker.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The shared dev server, and the prebuilt workflow bundle every in-process worker loads. */
    sharedTemporal: { address: string; namespace: string; uiUrl: string; workflowBundlePath: string };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'veda-test-temporal-'));
  const [server, bundle] = await Promise.all([
    startLocalTemporal({ ui: true, logFile: path.join(dir, 'server.log') }),
    workflowBundle(),
  ]);
  const workflowBundlePath = path.join(dir, 'workflows.js');
  await writeFile(workflowBundlePath, bundle.code);
  project.provide('sharedTemporal', { address: server.address, namespace: server.namespace, uiUrl: server.uiUrl!, workflowBundlePath });
  return async () => {
    await server.shutdown();
    await rm(dir, { recursive: true, force: true });
  };
}
