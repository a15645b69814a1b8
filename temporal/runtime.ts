/**
 * The SDK's process-wide runtime, installed once with a quieter logger: worker state changes at INFO drown
 * progress bars; warnings and errors still show.
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';

let installed = false;

export function installQuietRuntime(level: 'WARN' | 'INFO' | 'DEBUG' = 'WARN'): void {
  if (installed) return;
  installed = true;
  try {
    Runtime.install({ logger: new DefaultLogger(level) });
  } catch {
    // Another part of the process installed a runtime first; keep it.
  }
}
