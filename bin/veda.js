#!/usr/bin/env node
// The `veda` command: runs the compiled CLI in dist/ (built by scripts/build.sh, which `npm install`, `npm start`
// and `npm test` run). Plain JavaScript loads in a tenth of a second; each command loads what it needs.
// The AWS SDK warns on every command that its 2027 releases will need Node 22: noise on stderr, not news for a user.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
let cli;
try {
  cli = await import('../dist/client/cli.js');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/client/cli.js')) throw err;
  process.stderr.write('veda: not built yet (no dist/): run `npm run build` in the veda directory\n');
  process.exit(5);
}
// Exits explicitly (an open Temporal connection or a failed Worker.create must not keep the process alive), once
// stdout is flushed (see runAndExit).
await cli.runAndExit();
