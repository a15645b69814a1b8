// The batch-writing thread's entry when veda runs from its TypeScript sources (tests, benches): registers tsx in
// this thread, then loads batch-thread.ts. The package runs the compiled batch-thread.js and never loads this file.
import { register } from 'tsx/esm/api';

register();
await import('./batch-thread.ts');
