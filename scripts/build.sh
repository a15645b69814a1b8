#!/usr/bin/env bash
# Compiles veda (tsc -p tsconfig.build.json -> dist/: JavaScript, type declarations, source maps) when a source is
# newer than the last build, or always with --force. setup.sh (so `npm start`, `npm test`), `npm install` (prepare)
# and the test suite's global setup run it, so the `veda` command never runs stale code.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=dist/.built
# What the package is built from: tsconfig.build.json's folders (the package's sources, not tests, benches or
# examples), and the files that configure the build.
read -r -a sources <<< "$(node -p "require('./tsconfig.build.json').include.join(' ')") package.json tsconfig.json tsconfig.build.json"
if [ "${1:-}" != "--force" ] && [ -f "$stamp" ] && [ -z "$(find "${sources[@]}" -newer "$stamp" -print -quit 2>/dev/null)" ]; then
  exit 0
fi
echo "veda: building dist/ (tsc)" >&2
# Stamped with the time the build started: a source saved during the build counts as newer next time.
started=$(mktemp)
# From scratch beside the old build, then swapped in: a removed source does not live on in dist/, and a `veda`
# command running meanwhile keeps a whole dist/.
# Named per build: two builds at once (npm pack inside a test run, say) never share a directory.
next=dist.next.$$ old=dist.old.$$
node node_modules/typescript/bin/tsc -p tsconfig.build.json --outDir "$next"
mv "$started" "$next/.built"
if [ -d dist ]; then mv dist "$old"; fi
mv "$next" dist
rm -rf "$old"
