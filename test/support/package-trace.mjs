// Module hooks for test/cli-start.test.ts: record every npm package a process loads (one name a line, in the file
// named by VEDA_TEST_PACKAGE_TRACE). Registered with `node --import ./test/support/package-trace.mjs`.
import { appendFileSync } from 'node:fs';
import { register } from 'node:module';

if (process.env.VEDA_TEST_PACKAGE_TRACE && !import.meta.url.includes('?hooks')) {
  register(`${import.meta.url}?hooks`);
}

const seen = new Set();
export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  const name = resolved.url.match(/\/node_modules\/((?:@[^/]+\/)?[^/]+)\//)?.[1];
  if (name && !seen.has(name)) {
    seen.add(name);
    appendFileSync(process.env.VEDA_TEST_PACKAGE_TRACE, `${name}\n`);
  }
  return resolved;
}
