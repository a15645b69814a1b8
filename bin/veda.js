#!/usr/bin/env node
// The `veda` command: runs the TypeScript CLI through tsx's loader (no build step).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../client/cli.ts');
// Exit explicitly: an open Temporal connection or a failed Worker.create must not keep the process alive.
process.exit(await main());
