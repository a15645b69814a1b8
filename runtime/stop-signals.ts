/**
 * How long-running veda processes (`veda dev`, `veda worker`) stop: the first SIGINT or SIGTERM starts a graceful
 * stop (the worker hands back or finishes its activities, children stop, the catalog closes); a second one gives up
 * waiting, kills the children at once and exits, so a process manager or an impatient Ctrl-C never leaves an
 * orphaned Temporal server holding its ports.
 */
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export interface StopSignals {
  /** Resolves on the first signal. */
  requested: Promise<NodeJS.Signals>;
  /** Removes the handlers (the process then reacts to signals as Node does by default). */
  dispose(): void;
}

export function onStopSignals(force: () => void, log: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): StopSignals {
  let first: NodeJS.Signals | undefined;
  let resolve: (signal: NodeJS.Signals) => void = () => {};
  const requested = new Promise<NodeJS.Signals>((r) => (resolve = r));
  const handler = (signal: NodeJS.Signals) => {
    if (first === undefined) {
      first = signal;
      log(`veda: ${signal}: stopping (activities in flight are handed back to Temporal); send it again to stop at once`);
      resolve(signal);
      return;
    }
    log(`veda: ${signal} again: stopping now`);
    force();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  for (const signal of SIGNALS) process.on(signal, handler);
  return {
    requested,
    dispose: () => {
      for (const signal of SIGNALS) process.off(signal, handler);
    },
  };
}
