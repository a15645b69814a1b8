/** Where veda's workflow entry point is: workflows/index.ts from the sources (tsx, tests), .js in the package. */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

export function vedaWorkflowsPath(): string {
  return require.resolve(`../workflows/index${path.extname(fileURLToPath(import.meta.url))}`);
}
