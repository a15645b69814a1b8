#!/usr/bin/env node
// The `veda` command: runs the TypeScript CLI through tsx's loader (no build step).
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx();
// Registered after tsx, so it runs first: prebuilt bundles that tsx need not transform load as they are.
register('./prebuilt-hooks.mjs', import.meta.url);
const { main } = await import('../client/cli.ts');
// Exit explicitly: an open Temporal connection or a failed Worker.create must not keep the process alive.
process.exit(await main());
