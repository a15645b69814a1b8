#!/usr/bin/env bash
# Gets what veda needs to run and is missing: npm packages, the Temporal CLI (scripts/install-deps.sh) and the
# compiled JavaScript in dist/ (scripts/build.sh, when a source is newer). `npm start` and `npm test` run it first;
# safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "veda: installing npm packages (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
bash scripts/install-deps.sh
bash scripts/build.sh
