// The compute thread's entry when veda runs from its TypeScript sources (tests, benches): registers tsx in this
// thread, then loads thread.ts. The package runs the compiled thread.js and never loads this file.
import { register } from 'tsx/esm/api';

register();
export const { labelWindows, readWindows, storeWindows } = await import('./thread.ts');
