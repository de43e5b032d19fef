#!/usr/bin/env bash
# Scanner benchmark: Rampart against picklescan, modelscan, fickling and ModelAudit on one
# generated corpus (bench/corpus, ~1.1 GiB). Installs the peers from PyPI into venvs:
#   bench/.venv            picklescan fickling modelaudit + corpus generation deps
#   bench/.venv-modelscan  modelscan with numpy<2 (it cannot read .npy with numpy 2)
# Usage: bench/run.sh [--repeat N] [--tools rampart,picklescan,...]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x bench/.venv/bin/modelaudit ]; then
  python3 -m venv bench/.venv
  bench/.venv/bin/pip install -q picklescan fickling modelaudit \
    numpy joblib scikit-learn h5py onnx gguf safetensors py7zr zstandard lz4
fi
if [ ! -x bench/.venv-modelscan/bin/modelscan ]; then
  python3 -m venv bench/.venv-modelscan
  bench/.venv-modelscan/bin/pip install -q modelscan "numpy<2"
fi
cargo build --release -q
[ -f bench/corpus/labels.tsv ] || bench/.venv/bin/python bench/make_corpus.py
echo "versions:"
bench/.venv/bin/pip list 2>/dev/null | grep -iE "^(picklescan|fickling|modelaudit) "
bench/.venv-modelscan/bin/pip list 2>/dev/null | grep -iE "^modelscan "
target/release/rampart --version
exec bench/.venv/bin/python bench/run.py "$@"
