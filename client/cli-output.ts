/** What `veda` commands print: text for a person, or with --json the value itself (a stable contract). */
import type { GlobalOptions } from './cli-session.js';

export function emit(opts: GlobalOptions, data: unknown, human: () => string): void {
  process.stdout.write(opts.json ? `${JSON.stringify(data, jsonReplacer, 2)}\n` : `${human()}\n`);
}

/** Typed arrays become plain arrays in --json output. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  return ArrayBuffer.isView(value) ? Array.from(value as unknown as ArrayLike<number>) : value;
}
