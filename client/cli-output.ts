/** What `veda` commands print: text for a person, or with --json the value itself (a stable contract). */
import type { GlobalOptions } from './cli-session.js';
import { jsonReplacer } from './json-values.js';

export { jsonReplacer };

export function emit(opts: GlobalOptions, data: unknown, human: () => string): void {
  process.stdout.write(opts.json ? `${JSON.stringify(data, jsonReplacer, 2)}\n` : `${human()}\n`);
}
