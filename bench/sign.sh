#!/usr/bin/env bash
# Signing benchmark: a 4 GiB model folder (3 x 1 GiB + 1024 x 1 MiB) signed and verified by
# Rampart and by model-signing 1.1.1 (PyPI, in bench/.venv-ms) in one run, against the
# machine's SHA-256 ceiling (openssl speed -evp sha256, 16 KiB blocks, times the core count).
# Usage: bench/sign.sh [--repeat N]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x bench/.venv-ms/bin/model_signing ]; then
  python3 -m venv bench/.venv-ms
  bench/.venv-ms/bin/pip install -q "model-signing==1.1.1" pyOpenSSL
fi
cargo build --release -q
exec python3 bench/sign.py "$@"
