/**
 * `veda worker`: runs a worker against the configured Temporal server (TEMPORAL_ADDRESS, or a running `veda dev`)
 * until SIGINT/SIGTERM. Start as many as you like, on as many machines: they share one task queue.
 */
import { loadConfig, type VedaConfig } from '../config/config.js';
import { SetupError } from '../domain/errors.js';
import { openServices } from '../runtime/services.js';
import { readDevState } from '../runtime/dev-state.js';
import { onStopSignals } from '../runtime/stop-signals.js';
import { connectWorkerConnection } from '../temporal/connection.js';
import { ensureSearchAttributes } from '../temporal/register-search-attributes.js';
import { installQuietRuntime } from '../temporal/runtime.js';
import { createVedaWorker } from './worker.js';

export async function runWorker(config: VedaConfig = loadConfig(), log: (line: string) => void = console.error): Promise<void> {
  installQuietRuntime(config.logLevel);
  let { address, namespace } = config.temporal;
  if (!address) {
    const dev = await readDevState(config.dataDir);
    if (!dev) throw new SetupError('No Temporal server configured: set TEMPORAL_ADDRESS, or run `veda dev` (it runs a worker itself).');
    ({ temporalAddress: address, namespace } = dev);
  }
  const connection = await connectWorkerConnection({ ...config.temporal, address, namespace });
  const added = await ensureSearchAttributes(connection.operatorService, namespace).catch(async (err) => {
    await connection.close();
    throw err;
  });
  if (added.length) log(`veda worker registered search attributes ${added.join(', ')} on namespace ${namespace}`);
  const services = await openServices(config);
  try {
    const worker = await createVedaWorker({
      connection,
      namespace,
      taskQueue: config.temporal.taskQueue,
      services,
      settings: config.worker,
    });
    // The worker has no child to kill: a second signal just exits; Temporal retries what it was running.
    const signals = onStopSignals(() => {}, log);
    void signals.requested.then(() => worker.getState() === 'RUNNING' && worker.shutdown());
    log(`veda worker polling task queue "${config.temporal.taskQueue}" on ${address} (namespace ${namespace}); Ctrl-C stops it`);
    try {
      await worker.run();
    } finally {
      signals.dispose();
    }
  } finally {
    await services.close();
    await connection.close();
  }
}
