/** veda's version, from its package.json (found upward from this file, in the sources or built into dist/). */
import { existsSync, readFileSync } from 'node:fs';

export function vedaVersion(): string {
  for (let dir = new URL('.', import.meta.url); dir.pathname !== '/'; dir = new URL('..', dir)) {
    const file = new URL('package.json', dir);
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'veda' && pkg.version) return pkg.version;
  }
  return 'unknown';
}
