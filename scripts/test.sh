#!/usr/bin/env bash
# `npm test`: get what is missing (what veda needs, and what its tests use: scripts/install-deps.sh --test), then
# run every test (vitest) against a real Temporal dev server and the PostgreSQL server on 127.0.0.1:5432
# (VEDA_TEST_POSTGRES_URL points elsewhere). Extra arguments go to vitest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/install-deps.sh --test
# Expected failures (bad input tests) would print the worker's activity-failure warnings: keep the log to errors.
export VEDA_LOG_LEVEL="${VEDA_LOG_LEVEL:-ERROR}"
exec npx vitest run "$@"
