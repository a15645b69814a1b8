/**
 * The SDK's process-wide runtime, installed once with a quieter logger: worker state changes at INFO drown
 * progress bars; warnings and errors still show (VEDA_LOG_LEVEL).
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { LogLevel } from '../config/config.js';

let installed = false;

export function installQuietRuntime(level: LogLevel): void {
  if (installed) return;
  installed = true;
  try {
    Runtime.install({ logger: new DefaultLogger(level) });
  } catch {
    // Another part of the process installed a runtime first; keep it.
  }
}
