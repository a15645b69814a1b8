/**
 * Runs a real Temporal dev server (`temporal server start-dev`, SQLite, Web UI) from a binary on disk, with veda's
 * search attributes registered. Used by the demo, the tests and `veda dev`.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { findTemporalCli } from './cli-binary.js';
import { VEDA_SEARCH_ATTRIBUTES } from './search-attributes.js';

export interface LocalTemporalOptions {
  cliPath?: string;
  namespace?: string;
  /** SQLite file that keeps workflow history across restarts; in memory when omitted. */
  dbFilename?: string;
  ip?: string;
  port?: number;
  /** Serve the Web UI (on uiPort, or port + 1000). */
  ui?: boolean;
  uiPort?: number;
}

export interface LocalTemporal {
  address: string;
  namespace: string;
  /** Web UI base address, when the UI is on. */
  uiUrl?: string;
  client: Client;
  nativeConnection: NativeConnection;
  shutdown(): Promise<void>;
}

export async function startLocalTemporal(options: LocalTemporalOptions = {}): Promise<LocalTemporal> {
  const executable = findTemporalCli(options.cliPath);
  const namespace = options.namespace ?? 'default';
  const ip = options.ip ?? '127.0.0.1';
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: executable },
      namespace,
      ip,
      port: options.port,
      dbFilename: options.dbFilename,
      ui: options.ui ?? false,
      uiPort: options.uiPort,
      searchAttributes: VEDA_SEARCH_ATTRIBUTES,
      log: { format: 'pretty', level: 'error' },
    },
  });
  const port = Number(env.address.split(':').pop());
  const uiPort = options.uiPort ?? port + 1000;
  return {
    address: env.address,
    namespace,
    uiUrl: options.ui ? `http://${ip}:${uiPort}` : undefined,
    client: env.client,
    nativeConnection: env.nativeConnection,
    shutdown: () => env.teardown(),
  };
}
