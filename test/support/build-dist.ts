/**
 * vitest's global setup: tests run the `veda` command (bin/veda.js runs dist/), so build dist/ first when a
 * source is newer than it (scripts/build.sh; a no-op when it is current).
 */
import { execFileSync } from 'node:child_process';

export default function buildDist(): void {
  execFileSync('bash', ['scripts/build.sh'], { stdio: 'inherit' });
}
