#!/usr/bin/env bash
# BOM benchmark: which ML-BOM fields Rampart and the peer generators fill on the same inputs,
# and what `rampart bom` costs on a multi-gigabyte folder (one hashing pass).
# Peers: cdxgen (npm, in bench/.node) and ai-bom-generator (PyPI, in bench/.venv-aibom; it
# declares Python >= 3.12 but runs on this machine's 3.11, so it is installed with
# --ignore-requires-python). Needs strace for the bytes-read column.
# Usage: bench/bom.sh [--repeat N] [--gib N] [--fields-only]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x bench/.node/node_modules/.bin/cdxgen ]; then
  mkdir -p bench/.node
  (cd bench/.node && npm install --silent --no-audit --no-fund "@cyclonedx/cdxgen@12.8.4")
fi
if [ ! -x bench/.venv-aibom/bin/ai-bom ]; then
  python3 -m venv bench/.venv-aibom
  bench/.venv-aibom/bin/pip install -q --ignore-requires-python "ai-bom-generator==0.8.2" jsonschema referencing
fi
command -v strace >/dev/null || { echo "bench/bom.sh needs strace (apt-get install strace)" >&2; exit 2; }
cargo build --release -q
exec python3 bench/bom.py "$@"
