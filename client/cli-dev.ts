/**
 * `veda dev` (a local Temporal server with the Web UI, the embedded catalog served to other processes, and a
 * worker, until Ctrl-C) and `veda worker` (a worker against the configured server).
 */
import type { Command } from 'commander';
import type { LocalStack } from '../stack/local-stack.js';
import { onStopSignals } from '../runtime/stop-signals.js';
import { intArg } from './cli-args.js';
import { emit } from './cli-output.js';
import { configFor, globals } from './cli-session.js';

export function registerDevCommands(program: Command): void {
  program
    .command('dev')
    .description('run a local Temporal server (Web UI), the embedded catalog and a worker until Ctrl-C')
    .option('--port <port>', 'Temporal frontend port', intArg('--port', 1), 7233)
    .option('--ui-port <port>', 'Web UI port', intArg('--ui-port', 1), 8233)
    .option('--ephemeral', 'keep no workflow history on disk')
    .action(async (o, cmd: Command) => {
      const opts = globals(cmd);
      const config = await configFor(opts);
      const { clearDevState, writeDevState } = await import('../runtime/dev-state.js');
      const { startLocalStack } = await import('../stack/local-stack.js');
      const localServer = !config.temporal.address;
      const given = ['port', 'uiPort'].filter((name) => cmd.getOptionValueSource(name) === 'cli');
      if (!localServer && given.length > 0) {
        process.stderr.write(`veda dev: TEMPORAL_ADDRESS is set (${config.temporal.address}): using that server, so --port and --ui-port are ignored\n`);
      }
      // Listen before starting: a signal during start-up then stops the Temporal server too, instead of orphaning it.
      let stack: LocalStack | undefined;
      const signals = onStopSignals(() => stack?.kill());
      try {
        const started = await startLocalStack(config, {
          ui: localServer,
          port: localServer ? o.port : undefined,
          uiPort: localServer ? o.uiPort : undefined,
          persist: !o.ephemeral,
          serveCatalog: true,
          // Commands started meanwhile wait for the catalog's URL, which follows this: they find the server too.
          onReady: ({ address, namespace, uiUrl }) => writeDevState(config.dataDir, { pid: process.pid, temporalAddress: address, namespace, uiUrl }),
        });
        stack = started;
        emit(opts, { temporalAddress: started.address, namespace: started.namespace, uiUrl: started.uiUrl ?? null, dataDir: config.dataDir }, () =>
          [
            `veda dev: Temporal ${started.address} (namespace ${started.namespace})`,
            `  Web UI:   ${started.uiUrl ?? '(served by your cluster)'}`,
            `  catalog:  ${config.databaseUrl ? 'DATABASE_URL' : `embedded, ${config.dataDir}`}`,
            `  worker:   task queue "${config.temporal.taskQueue}"`,
            'Other terminals: `veda create ...`, `veda ingest ... --wait`. Ctrl-C stops everything.',
          ].join('\n'),
        );
        await signals.requested;
      } finally {
        await clearDevState(config.dataDir);
        await stack?.stop();
        signals.dispose();
      }
    });

  program
    .command('worker')
    .description('run a worker against the configured Temporal server until Ctrl-C')
    .action(async (_o, cmd: Command) => {
      const { runWorker } = await import('../worker/main.js');
      await runWorker(await configFor(globals(cmd)));
    });
}
