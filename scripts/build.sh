#!/usr/bin/env bash
# Compiles veda (tsc -p tsconfig.build.json -> dist/: JavaScript, type declarations, source maps) when a source is
# newer than the last build, or always with --force. setup.sh (so `npm start`, `npm test`), `npm install` (prepare)
# and the test suite's global setup run it, so the `veda` command never runs stale code.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=dist/.built
sources=(domain workflows activities worker client config runtime temporal plugin package.json tsconfig.json tsconfig.build.json)
if [ "${1:-}" != "--force" ] && [ -f "$stamp" ] && [ -z "$(find "${sources[@]}" -newer "$stamp" -print -quit 2>/dev/null)" ]; then
  exit 0
fi
echo "veda: building dist/ (tsc)" >&2
# From scratch: a removed source must not live on in dist/.
rm -rf dist
# Stamped with the time the build started: a source saved during the build counts as newer next time.
started=$(mktemp)
node node_modules/typescript/bin/tsc -p tsconfig.build.json
mv "$started" "$stamp"
