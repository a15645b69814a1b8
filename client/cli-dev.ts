/**
 * `veda dev` (a local Temporal server with the Web UI, the embedded catalog served to other processes, and a
 * worker, until Ctrl-C) and `veda worker` (a worker against the configured server).
 */
import type { Command } from 'commander';
import type { VedaConfig } from '../config/config.js';
import { clearDevState, writeDevState } from '../runtime/dev-state.js';
import { startLocalStack } from '../runtime/local-stack.js';
import { runWorker } from '../worker/main.js';

interface GlobalOptions {
  json?: boolean;
  user?: string;
}

export interface CliContext {
  emit(opts: GlobalOptions, data: unknown, human: () => string): void;
  configFor(opts: GlobalOptions): VedaConfig;
  globals(cmd: Command): GlobalOptions;
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

export function registerDevCommands(program: Command, cli: CliContext): void {
  program
    .command('dev')
    .description('run a local Temporal server (Web UI), the embedded catalog and a worker until Ctrl-C')
    .option('--port <port>', 'Temporal frontend port', (v: string) => Number(v), 7233)
    .option('--ui-port <port>', 'Web UI port', (v: string) => Number(v), 8233)
    .option('--ephemeral', 'keep no workflow history on disk')
    .action(async (o, cmd: Command) => {
      const opts = cli.globals(cmd);
      const config = cli.configFor(opts);
      const localServer = !config.temporal.address;
      const stack = await startLocalStack(config, {
        ui: localServer,
        port: localServer ? o.port : undefined,
        uiPort: localServer ? o.uiPort : undefined,
        persist: !o.ephemeral,
        serveCatalog: true,
      });
      try {
        await writeDevState(config.dataDir, { pid: process.pid, temporalAddress: stack.address, namespace: stack.namespace, uiUrl: stack.uiUrl });
        cli.emit(opts, { temporalAddress: stack.address, namespace: stack.namespace, uiUrl: stack.uiUrl ?? null, dataDir: config.dataDir }, () =>
          [
            `veda dev: Temporal ${stack.address} (namespace ${stack.namespace})`,
            `  Web UI:   ${stack.uiUrl ?? '(served by your cluster)'}`,
            `  catalog:  ${config.databaseUrl ? 'DATABASE_URL' : `embedded, ${config.dataDir}`}`,
            `  worker:   task queue "${config.temporal.taskQueue}"`,
            'Other terminals: `veda create ...`, `veda ingest ... --wait`. Ctrl-C stops everything.',
          ].join('\n'),
        );
        await untilSignal();
      } finally {
        await clearDevState(config.dataDir);
        await stack.stop();
      }
    });

  program
    .command('worker')
    .description('run a worker against the configured Temporal server until Ctrl-C')
    .action(async (_o, cmd: Command) => {
      await runWorker(cli.configFor(cli.globals(cmd)));
    });
}
