#!/usr/bin/env bash
# `npm start`: get what is missing, then run the walkthrough (examples/demo.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node --import tsx examples/demo.ts "$@"
